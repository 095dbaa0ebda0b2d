// "Other metrics": what a script logged under names the run page's charts do not draw (a
// custom `my_metric`, grad_norm, a val_f1 ...). One panel per metric, stacked in one Plotly
// graph that shares the x axis (metrics of any scale side by side), linked to the other charts'
// zoom. A chart added to RunCharts (addChart), drawn within the same redraw budget; its section
// stays hidden until such a metric arrives.

import { COLORS, BASE_CONFIG, cssVar } from "./plot_base.js";
import { DISPLAY_MAX } from "./run_charts.js";
import { pick } from "./series.js";
import { RATIO_PREFIX } from "./update_ratio_chart.js";

export const MAX_PANELS = 12;
const PANEL_PX = 120;
const GAP = 0.06; // between panels, a share of the plot height per panel

export class OtherMetricsChart {
  /** el: the chart's div; wrap: what to unhide; note: where "and N more" is said. */
  constructor(charts, el, wrap, note) {
    this.charts = charts;
    this.el = el;
    this.wrap = wrap;
    this.note = note;
    this.linked = true;
    this.drawnKeys = "";
    this.traceLen = 0;
  }

  /** Names drawn elsewhere: the accuracy (or RMSE), loss and learn-rate charts, the
   *  update-ratio chart, and the test metrics (one value at the end, in the info panel). */
  known(key) {
    const m = this.charts.metric;
    return key === m.train || key === m.val || key === "train_loss" || key === "val_loss"
      || key === "learn_rate" || key.startsWith(RATIO_PREFIX) || key.startsWith("test_");
  }

  /** The other metrics, in the order their first values arrived. */
  metrics() { return Object.keys(this.charts.cols.values).filter((k) => !this.known(k)); }

  drawFull(end) {
    const all = this.metrics();
    const keys = all.slice(0, MAX_PANELS);
    this.drawnKeys = all.join("|");
    this.note.textContent = all.length > keys.length
      ? `Showing ${keys.length} of ${all.length}; not drawn: ${all.slice(keys.length).join(", ")} (in the CSV export).` : "";
    if (!keys.length) { this.wrap.hidden = true; this.traceLen = 0; return; }
    this.wrap.hidden = false; // before drawing: Plotly sizes a hidden div wrongly
    const c = this.charts;
    const n = keys.length;
    const share = 1 / n;
    const layout = c.layout("", { showX: true, logY: false, height: 40 + PANEL_PX * n, shapes: [] });
    layout.showlegend = false;
    layout.hovermode = "closest";
    layout.annotations = [];
    delete layout.yaxis2; // RunCharts' NaN overlay axis: here the second panel's
    this.traceLen = 0;
    const traces = keys.map((key, j) => {
      const s = c.series(0, key, 1, null, end);
      const idx = c.drawIndices(s.x, s.y);
      const x = pick(s.x, idx), y = pick(s.y, idx);
      this.traceLen = Math.max(this.traceLen, x.length);
      const axis = j === 0 ? "y" : `y${j + 1}`;
      // Top panel first: panel j spans [1 - (j + 1) share, 1 - j share) less a gap.
      const top = 1 - j * share;
      const domain = [Math.max(0, top - share + GAP * share), top];
      const yaxis = { ...layout.yaxis, domain, title: undefined, automargin: false, exponentformat: "e",
        nticks: 4, rangemode: "normal" };
      layout[j === 0 ? "yaxis" : `yaxis${j + 1}`] = yaxis;
      layout.annotations.push({ xref: "paper", yref: "paper", x: 0, y: top, xanchor: "left", yanchor: "top",
        text: key, showarrow: false, font: { size: 11, color: cssVar("--muted") || "#5d6678" },
        bgcolor: "rgba(0,0,0,0)" });
      // Markers only for a sparse metric (one logged every N steps, like a validation): on a
      // dense one they hide the line, and at its ends they pad the x axis off the others'.
      const sparse = s.x.length * 5 < end;
      return { type: "scatter", mode: sparse ? "lines+markers" : "lines", name: key, x, y, yaxis: axis,
        line: { color: COLORS[(j + 2) % COLORS.length], width: 1.5 }, marker: { size: 4 },
        hovertemplate: `${key}: %{y:.4g}<extra></extra>` };
    });
    layout.xaxis = { ...layout.xaxis, anchor: n === 1 ? "y" : `y${n}` };
    // An invisible point at the first row's x (at a value panel 1 has anyway): the x axis
    // starts where the other charts' do. Last, so the panels keep trace indices 0…n-1.
    if (end > 0) {
      traces.push({ type: "scatter", mode: "lines", x: [c.x(0)], y: [traces[0].y[0] ?? 0], showlegend: false,
        hoverinfo: "skip", line: { width: 0 }, name: "x extent" });
    }
    Plotly.react(this.el, traces, layout, BASE_CONFIG);
  }

  drawNew(start, end) {
    const all = this.metrics();
    if (all.join("|") !== this.drawnKeys) { this.drawFull(end); return; } // a metric's first value
    const keys = all.slice(0, MAX_PANELS);
    if (!keys.length) return;
    const c = this.charts;
    const parts = keys.map((key) => c.series(start, key, 1, null, end));
    const added = Math.max(...parts.map((s) => s.x.length));
    if (!added) return;
    if (this.traceLen + added > 2 * DISPLAY_MAX) { this.drawFull(end); return; }
    Plotly.extendTraces(this.el, { x: parts.map((s) => s.x), y: parts.map((s) => s.y) }, keys.map((_, j) => j));
    this.traceLen += added;
  }
}
