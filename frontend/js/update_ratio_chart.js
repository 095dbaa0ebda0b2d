// The update/weight ratio chart: ‖Δw‖/‖w‖ of each layer's weights for one step, recorded every
// `update_ratio_frequency` iterations as values named update_ratio/<layer>. About 1e-3 is the
// rule of thumb: far below, the layer barely learns; far above, the step is too big.
//
// A chart added to RunCharts (addChart): drawn from its columns within the same redraw budget,
// extended with the new rows like the loss chart, decimated the same way, and linked to the
// other charts' x axis. Its section stays hidden until the first ratio arrives.

import { COLORS, BASE_CONFIG } from "./plot_base.js";
import { DISPLAY_MAX } from "./run_charts.js";
import { pick } from "./series.js";

export const RATIO_PREFIX = "update_ratio/";
// The reference: a line at 1e-3, the band 1e-4 … 1e-2 shaded.
export const RATIO_BAND = { low: 1e-4, mid: 1e-3, high: 1e-2 };

export class UpdateRatioChart {
  /** el: the chart's div; wrap: what to unhide when there is something to draw. */
  constructor(charts, el, wrap) {
    this.charts = charts;
    this.el = el;
    this.wrap = wrap;
    this.linked = true;
    this.drawnLayers = "";
    this.traceLen = 0;
  }

  /** The layers' value names, in the order their first values arrived. */
  layers() { return Object.keys(this.charts.cols.values).filter((k) => k.startsWith(RATIO_PREFIX)); }

  referenceShapes() {
    const { low, mid, high } = RATIO_BAND;
    return [
      { type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: low, y1: high, layer: "below",
        fillcolor: "rgba(44, 165, 107, 0.10)", line: { width: 0 }, name: "ratio-band" },
      { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: mid, y1: mid, layer: "below",
        line: { color: "rgba(44, 165, 107, 0.8)", width: 1.5, dash: "dash" }, name: "ratio-reference" },
    ];
  }

  drawFull(end) {
    const layers = this.layers();
    this.drawnLayers = layers.join("|");
    if (!layers.length) { this.wrap.hidden = true; this.traceLen = 0; return; }
    this.wrap.hidden = false; // before drawing: Plotly sizes a hidden div wrongly
    const c = this.charts;
    this.traceLen = 0;
    const traces = layers.map((key, j) => {
      const s = c.series(0, key, 1, null, end);
      const idx = c.drawIndices(s.x, s.y);
      const x = pick(s.x, idx), y = pick(s.y, idx);
      this.traceLen = Math.max(this.traceLen, x.length);
      const name = key.slice(RATIO_PREFIX.length);
      return { type: "scatter", mode: "lines", name, x, y, line: { color: COLORS[j % COLORS.length], width: 1.5 },
        hovertemplate: `${name}: %{y:.2e}<extra></extra>` };
    });
    // An invisible point at the first row's x: the x axis starts where the other charts' do,
    // not at the first ratio (iteration N), so the charts stay aligned. Last, so the layers'
    // traces keep indices 0…n-1 for extendTraces.
    if (end > 0) {
      traces.push({ type: "scatter", mode: "lines", x: [c.x(0)], y: [RATIO_BAND.mid], showlegend: false,
        hoverinfo: "skip", line: { width: 0 }, name: "x extent" }); // lines: no autorange padding
    }
    const layout = c.layout("Update / weight", { showX: true, logY: true, height: 200, shapes: this.referenceShapes() });
    layout.annotations = [{ xref: "paper", x: 1, xanchor: "right", yref: "y", y: Math.log10(RATIO_BAND.mid),
      yanchor: "bottom", text: "1e-3", showarrow: false, font: { size: 10, color: "rgba(44, 165, 107, 1)" } }];
    layout.yaxis.exponentformat = "power";
    layout.yaxis.dtick = 1; // a tick per decade
    Plotly.react(this.el, traces, layout, BASE_CONFIG);
  }

  drawNew(start, end) {
    const layers = this.layers();
    if (layers.join("|") !== this.drawnLayers) { this.drawFull(end); return; } // a layer's first value
    if (!layers.length) return;
    const c = this.charts;
    const parts = layers.map((key) => c.series(start, key, 1, null, end));
    const added = Math.max(...parts.map((s) => s.x.length));
    if (!added) return;
    if (this.traceLen + added > 2 * DISPLAY_MAX) { this.drawFull(end); return; }
    Plotly.extendTraces(this.el, { x: parts.map((s) => s.x), y: parts.map((s) => s.y) }, layers.map((_, j) => j));
    this.traceLen += added;
  }
}
