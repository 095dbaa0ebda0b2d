// The run page's training-progress charts as RunCharts plug-ins: the accuracy (or RMSE) chart
// and the loss chart (CurveChart: per iteration, smoothed, validation, NaN/Inf marks) and the
// learn-rate chart. They use RunCharts' public interface only (run_charts.js), like the
// update-ratio, other-metrics and LR range charts.

import { ROLE, seriesColor } from "./palette.js";
import { BASE_CONFIG, themeColor } from "./plot_base.js";
import { DISPLAY_MAX, Smoother, pick } from "./series.js";

const VAL_MARKERS_MAX = 300; // validations drawn with a marker each; more: a dashed line only
const HISTORY_OPACITY = 0.35; // a branch's history: its parent's curve, lighter than its own

/** What the first chart draws, by task (run_state.js taskOf). */
export const QUALITY = {
  classification: { train: "train_accuracy", val: "val_accuracy", title: "Accuracy (%)",
    label: "Training accuracy", scale: 100, color: ROLE.accuracy },
  regression: { train: "train_rmse", val: "val_rmse", title: "RMSE", label: "Training RMSE", scale: 1,
    color: ROLE.accuracy },
};
export const LOSS = { train: "train_loss", val: "val_loss", title: "Loss", label: "Training loss", scale: 1,
  color: ROLE.loss };

/** A training metric and its validation: four traces (per iteration, smoothed, validation,
 *  NaN/Inf on an overlay axis). metric() → a QUALITY or LOSS entry (it may change once the
 *  run's metric names say the task). marks: the doctor's findings are drawn here; logY: the
 *  "Log loss" control applies here. */
export class CurveChart {
  constructor(el, { metric, marks = false, logY = false }) {
    this.el = el;
    this.metricOf = metric;
    this.marks = marks;
    this.logY = logY;
    this.linked = true;
    this.bands = true;
    this.m = null; // the metric drawn
    this.smoother = null;
    this.traceLen = 0;
  }

  claims(name) { const m = this.metricOf(); return name === m.train || name === m.val; }

  data(start, end) {
    const { charts } = this, m = this.m;
    const bad = { x: [], y: [], text: [] };
    const train = charts.xy(m.train, { start, end, scale: m.scale, bad });
    const val = charts.xy(m.val, { start, end, scale: m.scale, bad });
    const sm = { x: train.x, y: train.y.map((v) => this.smoother.push(v)) };
    return { train, sm, val, bad };
  }

  drawFull(end) {
    const { charts } = this;
    this.m = this.metricOf();
    this.smoother = new Smoother(charts.beta);
    const d = this.data(0, end);
    const idx = charts.decimate(d.train.x, d.train.y);
    d.train = { x: pick(d.train.x, idx), y: pick(d.train.y, idx) };
    d.sm = { x: pick(d.sm.x, idx), y: pick(d.sm.y, idx) };
    const layout = charts.layout(this.m.title,
      { showX: false, logY: this.logY && charts.logY, height: 260, shapes: charts.shapesFor(this) });
    if (this.marks) layout.annotations = charts.marks().annotations;
    // History after the run's own traces: drawNew extends traces 0-3 by index.
    Plotly.react(this.el, [...traces(d, this.m), ...this.historyTraces()], layout, BASE_CONFIG);
    this.traceLen = d.train.x.length;
  }

  /** The overlays (run_charts.js setHistory / setBranches): a branch's history, lighter, and
   *  the run's own branches, each in a colour of its own; the smoothed training curve and the
   *  validations of each, tagged meta.history or meta.branch = the run id. */
  historyTraces() {
    const { charts } = this, m = this.m;
    const val = themeColor("--val", ROLE.val);
    return charts.overlays().flatMap((seg) => {
      const train = charts.historyXY(seg, m.train, { scale: m.scale });
      const sm = new Smoother(charts.beta);
      const idx = charts.decimate(train.x, train.y);
      const v = charts.historyXY(seg, m.val, { scale: m.scale });
      const own = overlayStyle(seg, m.color);
      return [
        { type: "scatter", mode: "lines", name: `${m.label}, ${own.name}`, meta: own.meta, legendgroup: own.group,
          x: pick(train.x, idx), y: pick(train.y.map((y) => sm.push(y)), idx),
          line: { color: own.color, width: own.width }, opacity: own.opacity },
        { type: "scatter", mode: "lines", name: `Validation, ${own.name}`, meta: own.meta, legendgroup: own.group,
          x: v.x, y: v.y, line: { color: seg.kind === "branch" ? own.color : val, width: 1.5, dash: "dash" },
          opacity: own.opacity, connectgaps: true, showlegend: false },
      ];
    });
  }

  drawNew(start, end) {
    if (this.metricOf() !== this.m || this.traceLen + (end - start) > 2 * DISPLAY_MAX) { this.drawFull(end); return; }
    const d = this.data(start, end);
    if (d.train.x.length || d.val.x.length) {
      Plotly.extendTraces(this.el, { x: [d.train.x, d.sm.x, d.val.x], y: [d.train.y, d.sm.y, d.val.y] }, [0, 1, 2]);
    }
    if (d.bad.x.length) Plotly.extendTraces(this.el, { x: [d.bad.x], y: [d.bad.y], text: [d.bad.text] }, [3]);
    this.traceLen += d.train.x.length;
  }
}

/** How an overlay is drawn: a history segment in the chart's colour, lighter; a branch in a
 *  series colour of its own (its index among the branches), named by where it starts. */
function overlayStyle(seg, color) {
  if (seg.kind === "branch") {
    return { name: `branch run ${seg.runId} from epoch ${seg.epoch}`, meta: { branch: seg.runId, epoch: seg.epoch },
      group: `branch-${seg.runId}`, color: seriesColor(seg.index + 2), width: 1.5, opacity: 0.9 };
  }
  return { name: `run ${seg.runId} to epoch ${seg.epoch}`, meta: { history: seg.runId, epoch: seg.epoch },
    group: "history", color, width: 2, opacity: HISTORY_OPACITY };
}

function traces(d, m) {
  const val = themeColor("--val", ROLE.val);
  return [
    { type: "scatter", mode: "lines", name: `${m.label} (per iteration)`, x: d.train.x, y: d.train.y,
      line: { color: m.color, width: 1 }, opacity: 0.3, hoverinfo: "x+y", showlegend: false },
    { type: "scatter", mode: "lines", name: `${m.label} (smoothed)`, x: d.sm.x, y: d.sm.y,
      line: { color: m.color, width: 2 } },
    // A marker per validation while they are few enough to tell apart; past that a marker
    // is an SVG node per point that draws as a blob anyway (and costs a first draw dearly).
    { type: "scatter", mode: d.val.x.length > VAL_MARKERS_MAX ? "lines" : "lines+markers",
      name: "Validation", x: d.val.x, y: d.val.y, line: { color: val, width: 1.5, dash: "dash" },
      marker: { size: 6, color: val }, connectgaps: true },
    { type: "scatter", mode: "markers", name: "NaN / Inf", x: d.bad.x, y: d.bad.y, yaxis: "y2",
      text: d.bad.text, hovertemplate: "%{text}<extra></extra>",
      marker: { symbol: "x", size: 11, color: ROLE.nonFinite, line: { width: 2, color: ROLE.nonFinite } } },
  ];
}

/** The learn rate per iteration: one line, from zero. */
export class LearnRateChart {
  constructor(el) {
    this.el = el;
    this.linked = true;
    this.bands = true;
    this.traceLen = 0;
  }

  claims(name) { return name === "learn_rate"; }

  drawFull(end) {
    const { charts } = this;
    const lr = charts.xy("learn_rate", { end });
    const idx = charts.decimate(lr.x, lr.y);
    const history = charts.overlays().map((seg) => {
      const xy = charts.historyXY(seg, "learn_rate");
      const own = overlayStyle(seg, ROLE.learnRate);
      return { type: "scatter", mode: "lines", name: `Learn rate, ${own.name}`, meta: own.meta, x: xy.x, y: xy.y,
        line: { color: own.color, width: 1.5 }, opacity: own.opacity };
    });
    Plotly.react(this.el, [{ type: "scatter", mode: "lines", name: "Learn rate", x: pick(lr.x, idx),
      y: pick(lr.y, idx), line: { color: ROLE.learnRate, width: 1.5 } }, ...history],
    { ...charts.layout("Learn rate", { showX: true, logY: false, height: 150, shapes: charts.shapesFor(this), fromZero: true }),
      showlegend: false }, BASE_CONFIG);
    this.traceLen = idx ? idx.length : lr.x.length;
  }

  drawNew(start, end) {
    if (this.traceLen + (end - start) > 2 * DISPLAY_MAX) { this.drawFull(end); return; }
    const lr = this.charts.xy("learn_rate", { start, end });
    if (lr.x.length) Plotly.extendTraces(this.el, { x: [lr.x], y: [lr.y] }, [0]);
    this.traceLen += lr.x.length;
  }
}
