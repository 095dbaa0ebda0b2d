// The update/weight ratio chart: ‖Δw‖/‖w‖ of each layer's weights for one step, recorded every
// `update_ratio_frequency` iterations as values named update_ratio/<layer>. About 1e-3 is the
// rule of thumb: far below, the layer barely learns; far above, the step is too big.
//
// A RunCharts plug-in (a LineSetChart: one line per layer), linked to the other charts' x axis.
// Its section stays hidden until the first ratio arrives.

import { RATIO_GREEN, seriesColor } from "./palette.js";
import { LineSetChart } from "./line_set_chart.js";

export const RATIO_PREFIX = "update_ratio/";
// The reference: a line at 1e-3, the band 1e-4 … 1e-2 shaded.
export const RATIO_BAND = { low: 1e-4, mid: 1e-3, high: 1e-2 };

export class UpdateRatioChart extends LineSetChart {
  claims(name) { return name.startsWith(RATIO_PREFIX); }

  /** The layers' value names, in the order their first values arrived. */
  names() { return this.charts.store.names().filter((k) => this.claims(k)); }

  referenceShapes() {
    const { low, mid, high } = RATIO_BAND;
    return [
      { type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: low, y1: high, layer: "below",
        fillcolor: RATIO_GREEN.fill, line: { width: 0 }, name: "ratio-band" },
      { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: mid, y1: mid, layer: "below",
        line: { color: RATIO_GREEN.line, width: 1.5, dash: "dash" }, name: "ratio-reference" },
    ];
  }

  extentY() { return RATIO_BAND.mid; }

  figure(lines) {
    const traces = lines.map(({ name: key, x, y }, j) => {
      const name = key.slice(RATIO_PREFIX.length);
      return { type: "scatter", mode: "lines", name, x, y, line: { color: seriesColor(j), width: 1.5 },
        hovertemplate: `${name}: %{y:.2e}<extra></extra>` };
    });
    const layout = this.charts.layout("Update / weight", { showX: true, logY: true, height: 200, shapes: this.referenceShapes() });
    layout.annotations = [{ xref: "paper", x: 1, xanchor: "right", yref: "y", y: Math.log10(RATIO_BAND.mid),
      yanchor: "bottom", text: "1e-3", showarrow: false, font: { size: 10, color: RATIO_GREEN.text } }];
    layout.yaxis.exponentformat = "power";
    layout.yaxis.dtick = 1; // a tick per decade
    return { traces, layout };
  }
}
