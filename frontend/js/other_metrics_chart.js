// "Other metrics": every value a script logged that no other chart claims (a custom
// `my_metric`, ppl, bleu, reward, grad_norm, a val_f1 ...), whatever its name. One panel per
// metric, stacked in one Plotly graph that shares the x axis (metrics of any scale side by
// side), linked to the other charts' zoom. A RunCharts plug-in (a LineSetChart); its section
// stays hidden until such a metric arrives.

import { ROLE, seriesColor } from "./palette.js";
import { themeColor } from "./plot_base.js";
import { LineSetChart } from "./line_set_chart.js";

export const MAX_PANELS = 12;
const PANEL_PX = 120;
const GAP = 0.06; // between panels, a share of the plot height per panel

export class OtherMetricsChart extends LineSetChart {
  /** note: where "and N more" is said. */
  constructor(el, wrap, note) {
    super(el, wrap);
    this.note = note;
  }

  /** The test metrics (one value at the end) are in the info panel. */
  names() {
    return this.charts.store.names().filter((k) => !k.startsWith("test_") && !this.charts.claimed(k, this));
  }

  shown(all) { return all.slice(0, MAX_PANELS); }

  onNames(all) {
    this.note.textContent = all.length > MAX_PANELS
      ? `Showing ${MAX_PANELS} of ${all.length}; not drawn: ${all.slice(MAX_PANELS).join(", ")} (in the CSV export).` : "";
  }

  figure(lines, end) {
    const n = lines.length;
    const share = 1 / n;
    const layout = this.charts.layout("", { showX: true, logY: false, height: 40 + PANEL_PX * n, shapes: [] });
    layout.showlegend = false;
    layout.hovermode = "closest";
    layout.annotations = [];
    delete layout.yaxis2; // the curve charts' NaN overlay axis: here the second panel's
    const traces = lines.map(({ name: key, x, y, sparse }, j) => {
      const axis = j === 0 ? "y" : `y${j + 1}`;
      // Top panel first: panel j spans [1 - (j + 1) share, 1 - j share) less a gap.
      const top = 1 - j * share;
      const domain = [Math.max(0, top - share + GAP * share), top];
      layout[j === 0 ? "yaxis" : `yaxis${j + 1}`] = { ...layout.yaxis, domain, title: undefined, automargin: false,
        exponentformat: "e", nticks: 4, rangemode: "normal" };
      layout.annotations.push({ xref: "paper", yref: "paper", x: 0, y: top, xanchor: "left", yanchor: "top",
        text: key, showarrow: false, font: { size: 11, color: themeColor("--muted", ROLE.label) },
        bgcolor: "rgba(0,0,0,0)" });
      // Markers only for a sparse metric: on a dense one they hide the line, and at its ends
      // they pad the x axis off the others'.
      return { type: "scatter", mode: sparse && end ? "lines+markers" : "lines", name: key, x, y, yaxis: axis,
        line: { color: seriesColor(j + 2), width: 1.5 }, marker: { size: 4 },
        hovertemplate: `${key}: %{y:.4g}<extra></extra>` };
    });
    layout.xaxis = { ...layout.xaxis, anchor: n === 1 ? "y" : `y${n}` };
    return { traces, layout };
  }
}
