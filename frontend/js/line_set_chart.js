// What the update-ratio and other-metrics charts share: a RunCharts plug-in drawing one line per
// value name (names() picks them from the store, in the order their first values arrived),
// hidden until one has a value, redrawn from scratch when a new name appears, else extended
// with the new rows until a trace grows past twice DISPLAY_MAX.

import { BASE_CONFIG } from "./plot_base.js";
import { DISPLAY_MAX, pick } from "./series.js";

export class LineSetChart {
  /** el: the chart's div; wrap: what to unhide when there is something to draw. */
  constructor(el, wrap) {
    this.el = el;
    this.wrap = wrap;
    this.linked = true;
    this.drawnNames = "";
    this.traceLen = 0;
  }

  /** The value names this chart could draw (a subclass says which). */
  names() { return []; }

  /** The names it draws of those (all of them unless a subclass caps them). */
  shown(all) { return all; }

  /** → {traces, layout} for `names`' lines ({name, x, y, sparse} each, decimated). */
  figure() { throw new Error("abstract"); }

  /** Each name's finite values over rows [0, end), decimated; sparse: fewer than a fifth of
   *  the rows have one (a metric logged every N steps, like a validation). */
  lines(names, end) {
    const { charts } = this;
    this.traceLen = 0;
    return names.map((name) => {
      const s = charts.xy(name, { end });
      const idx = charts.decimate(s.x, s.y);
      const x = pick(s.x, idx), y = pick(s.y, idx);
      this.traceLen = Math.max(this.traceLen, x.length);
      return { name, x, y, sparse: s.x.length * 5 < end };
    });
  }

  drawFull(end) {
    const all = this.names();
    this.drawnNames = all.join("|");
    this.onNames?.(all);
    const names = this.shown(all);
    if (!names.length) { this.wrap.hidden = true; this.traceLen = 0; return; }
    this.wrap.hidden = false; // before drawing: Plotly sizes a hidden div wrongly
    const { traces, layout } = this.figure(this.lines(names, end), end);
    // An invisible point at the first row's x: the x axis starts where the other charts' do,
    // not at this chart's first value, so the charts stay aligned. Last, so the lines keep
    // trace indices 0…n-1 for extendTraces.
    if (end > 0) traces.push(this.charts.extentTrace(this.extentY(traces)));
    Plotly.react(this.el, traces, layout, BASE_CONFIG);
  }

  /** y of the invisible extent point: a value the chart shows anyway. */
  extentY(traces) { return traces[0]?.y[0] ?? 0; }

  drawNew(start, end) {
    const all = this.names();
    if (all.join("|") !== this.drawnNames) { this.drawFull(end); return; } // a name's first value
    const names = this.shown(all);
    if (!names.length) return;
    const parts = names.map((name) => this.charts.xy(name, { start, end }));
    const added = Math.max(...parts.map((s) => s.x.length));
    if (!added) return;
    if (this.traceLen + added > 2 * DISPLAY_MAX) { this.drawFull(end); return; }
    Plotly.extendTraces(this.el, { x: parts.map((s) => s.x), y: parts.map((s) => s.y) }, names.map((_, j) => j));
    this.traceLen += added;
  }
}
