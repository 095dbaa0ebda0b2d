// Plotly charts. The run view's charts grow with Plotly.extendTraces, batched once per animation
// frame; already drawn points never change (the smoothed line is a debiased EMA computed forward).

import { toNum } from "./format.js";

const BASE_CONFIG = { responsive: true, displaylogo: false, scrollZoom: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };

export const COLORS = ["#2f6fde", "#e0663a", "#2ca58d", "#a05cd6", "#d64f7d", "#8c7b1f",
  "#1fa1c4", "#6b7a8f", "#c9781b", "#4f9a3a"];

/* ---------- frame scheduler + frame timing (window.trainscope.frameTimes) ---------- */

const jobs = new Set();
let lastFrame = null;

function frame(now) {
  const times = window.trainscope && window.trainscope.frameTimes;
  if (times && lastFrame !== null) {
    times.push(now - lastFrame);
    if (times.length > 2000) times.splice(0, times.length - 2000);
  }
  lastFrame = now;
  const todo = [...jobs];
  jobs.clear();
  for (const fn of todo) {
    try { fn(); } catch (err) { console.error(err); } // eslint-disable-line no-console
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

/** Run fn once in the next animation frame (a Set: scheduling twice runs it once). */
export function onNextFrame(fn) { jobs.add(fn); }

/* ---------- theme ---------- */

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function themeLayout() {
  const fg = cssVar("--fg") || "#1d2330";
  const grid = cssVar("--grid") || "#e5e8ee";
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: fg },
    colorway: COLORS,
    xaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid },
    yaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid },
  };
}

function themed(layout) {
  const t = themeLayout();
  return { ...t, ...layout,
    xaxis: { ...t.xaxis, ...(layout.xaxis || {}) },
    yaxis: { ...t.yaxis, ...(layout.yaxis || {}) } };
}

export function rethemeAll(els) {
  const t = themeLayout();
  for (const el of els) {
    if (!el || !el.data) continue;
    Plotly.relayout(el, { paper_bgcolor: t.paper_bgcolor, plot_bgcolor: t.plot_bgcolor,
      font: t.font, "xaxis.gridcolor": t.xaxis.gridcolor, "yaxis.gridcolor": t.yaxis.gridcolor,
      "xaxis.zerolinecolor": t.xaxis.gridcolor, "yaxis.zerolinecolor": t.yaxis.gridcolor,
      "xaxis.linecolor": t.xaxis.gridcolor, "yaxis.linecolor": t.yaxis.gridcolor,
      "shapes": (el.layout.shapes || []).map((s) => ({ ...s, fillcolor: bandColor() })) });
  }
}

function bandColor() { return cssVar("--band") || "rgba(120,130,150,0.08)"; }

/* ---------- the run view's training-progress charts ---------- */

function nonFiniteWord(v) {
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

/** Debiased EMA (TensorBoard's): s_t = β s_{t-1} + (1-β) x_t, shown as s_t / (1 - β^t). */
class Smoother {
  constructor(beta) { this.beta = beta; this.s = 0; this.t = 0; }
  push(x) {
    this.t += 1;
    this.s = this.beta * this.s + (1 - this.beta) * x;
    const debias = 1 - this.beta ** this.t;
    return debias > 0 ? this.s / debias : x;
  }
}

const X_TITLES = { iteration: "Iteration", epoch: "Epoch", time: "Time (s)" };

export class RunCharts {
  /**
   * els: {acc, loss, lr} divs. task: "classification" | "regression".
   * The metric chart shows accuracy (%) or RMSE; the loss chart the loss.
   */
  constructor(els, { runId, task, color = COLORS[0] }) {
    this.els = els;
    this.runId = runId;
    this.regression = task === "regression";
    this.metric = this.regression
      ? { train: "train_rmse", val: "val_rmse", title: "RMSE", scale: 1 }
      : { train: "train_accuracy", val: "val_accuracy", title: "Accuracy (%)", scale: 100 };
    this.beta = 0.6;
    this.xMode = "iteration";
    this.logY = false;
    this.ipe = null;
    this.cols = { seq: [], it: [], ep: [], wt: [], values: {} };
    this.queue = [];
    this.drawn = false;
    this.syncing = false;
    this.bandsEpoch = 0;
    this.scheduledFlush = () => this.flush();
  }

  get size() { return this.cols.seq.length; }

  setIterationsPerEpoch(ipe) {
    if (ipe && ipe !== this.ipe) {
      this.ipe = ipe;
      if (this.drawn && this.xMode !== "time") this.redraw();
    }
  }

  x(i) {
    const c = this.cols;
    if (this.xMode === "epoch") return this.ipe ? c.it[i] / this.ipe : c.ep[i];
    if (this.xMode === "time") return c.wt[i] - c.wt[0];
    return c.it[i];
  }

  /** Append to the held columns (no drawing). */
  hold(points) {
    const c = this.cols;
    for (const p of points) {
      const idx = c.seq.length;
      c.seq.push(p.seq); c.it.push(p.iteration); c.ep.push(p.epoch); c.wt.push(p.wall_time);
      for (const [k, v] of Object.entries(p.values)) {
        if (!c.values[k]) c.values[k] = new Array(idx).fill(null);
        c.values[k].push(toNum(v));
      }
      for (const arr of Object.values(c.values)) if (arr.length < idx + 1) arr.push(null);
    }
  }

  /** Replace everything and draw from scratch. */
  load(points) {
    this.cols = { seq: [], it: [], ep: [], wt: [], values: {} };
    this.hold(points);
    this.redraw();
  }

  /** Queue live points; they are drawn in the next animation frame. */
  append(points) {
    this.queue.push(...points);
    onNextFrame(this.scheduledFlush);
  }

  flush() {
    if (!this.queue.length) return;
    const pts = this.queue;
    this.queue = [];
    const start = this.size;
    this.hold(pts);
    if (!this.drawn) { this.redraw(); return; }
    const m = this.metric;
    this.extend(this.els.acc, this.metricPart, start, m.train, m.val, m.scale);
    this.extend(this.els.loss, this.lossPart, start, "train_loss", "val_loss", 1);
    const lr = this.series(start, "learn_rate", 1, null);
    Plotly.extendTraces(this.els.lr, { x: [lr.x], y: [lr.y] }, [0]);
    this.updateBands();
    this.onFlush?.();
  }

  /** x/y of series `key` from index `start`; non-finite values go to `bad` (if given). */
  series(start, key, scale, bad) {
    const x = [], y = [];
    const arr = this.cols.values[key];
    if (!arr) return { x, y };
    for (let i = start; i < arr.length; i++) {
      const v = arr[i];
      if (v === null) continue;
      if (Number.isFinite(v)) { x.push(this.x(i)); y.push(v * scale); }
      else if (bad) {
        bad.x.push(this.x(i)); bad.y.push(1);
        bad.text.push(`${nonFiniteWord(v)} ${key} at iteration ${this.cols.it[i]}`);
      }
    }
    return { x, y };
  }

  /** The four traces' new data from index `start`, continuing the part's smoother. */
  partData(part, start, trainKey, valKey, scale) {
    const bad = { x: [], y: [], text: [] };
    const train = this.series(start, trainKey, scale, bad);
    const val = this.series(start, valKey, scale, bad);
    const sm = { x: [], y: [] };
    for (let j = 0; j < train.y.length; j++) {
      sm.x.push(train.x[j]);
      sm.y.push(part.smoother.push(train.y[j]));
    }
    return { train, sm, val, bad };
  }

  extend(el, part, start, trainKey, valKey, scale) {
    const d = this.partData(part, start, trainKey, valKey, scale);
    Plotly.extendTraces(el, { x: [d.train.x, d.sm.x, d.val.x], y: [d.train.y, d.sm.y, d.val.y] },
      [0, 1, 2]);
    if (d.bad.x.length) {
      Plotly.extendTraces(el, { x: [d.bad.x], y: [d.bad.y], text: [d.bad.text] }, [3]);
    }
  }

  traces(d, color, names) {
    return [
      { type: "scatter", mode: "lines", name: `${names} (per iteration)`, x: d.train.x, y: d.train.y,
        line: { color, width: 1 }, opacity: 0.3, hoverinfo: "x+y", showlegend: false },
      { type: "scatter", mode: "lines", name: `${names} (smoothed)`, x: d.sm.x, y: d.sm.y,
        line: { color, width: 2 } },
      { type: "scatter", mode: "lines+markers", name: `Validation`, x: d.val.x, y: d.val.y,
        line: { color: cssVar("--val") || "#222", width: 1.5, dash: "dash" },
        marker: { size: 6, color: cssVar("--val") || "#222" }, connectgaps: true },
      { type: "scatter", mode: "markers", name: "NaN / Inf", x: d.bad.x, y: d.bad.y, yaxis: "y2",
        text: d.bad.text, hovertemplate: "%{text}<extra></extra>",
        marker: { symbol: "x", size: 11, color: "#d62728", line: { width: 2, color: "#d62728" } } },
    ];
  }

  layout(ytitle, { showX, logY, height }) {
    return themed({
      uirevision: `run-${this.runId}-${this.xMode}`,
      height,
      margin: { l: 72, r: 16, t: 8, b: showX ? 40 : 20 },
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom",
        bgcolor: "rgba(0,0,0,0)" },
      hovermode: "x",
      xaxis: { title: showX ? { text: X_TITLES[this.xMode] } : undefined, automargin: true },
      // Fixed left margins (no automargin) keep the three charts' x axes aligned.
      yaxis: { title: { text: ytitle, standoff: 8 }, type: logY ? "log" : "linear", automargin: false,
        exponentformat: "e" },
      yaxis2: { overlaying: "y", range: [0, 1.04], visible: false, fixedrange: true },
      shapes: this.bands(),
    });
  }

  redraw() {
    const accColor = this.regression ? "#2f6fde" : "#2f6fde";
    const lossColor = "#e0663a";
    this.metricPart = { smoother: new Smoother(this.beta) };
    this.lossPart = { smoother: new Smoother(this.beta) };
    const m = this.metric;
    const a = this.partData(this.metricPart, 0, m.train, m.val, m.scale);
    const l = this.partData(this.lossPart, 0, "train_loss", "val_loss", 1);
    const lr = this.series(0, "learn_rate", 1, null);
    this.bandsEpoch = this.maxEpoch();
    Plotly.react(this.els.acc, this.traces(a, accColor, this.regression ? "Training RMSE" : "Training accuracy"),
      this.layout(m.title, { showX: false, logY: false, height: 260 }), BASE_CONFIG);
    Plotly.react(this.els.loss, this.traces(l, lossColor, "Training loss"),
      this.layout("Loss", { showX: false, logY: this.logY, height: 260 }), BASE_CONFIG);
    Plotly.react(this.els.lr, [{ type: "scatter", mode: "lines", name: "Learn rate", x: lr.x, y: lr.y,
      line: { color: "#2ca58d", width: 1.5 } }],
    { ...this.layout("Learn rate", { showX: true, logY: false, height: 150 }), showlegend: false },
    BASE_CONFIG);
    if (!this.drawn) this.linkAxes();
    this.drawn = true;
    this.onFlush?.();
  }

  /** Zoom/pan on one chart's x axis is applied to the others: they share the x axis. */
  linkAxes() {
    const all = [this.els.acc, this.els.loss, this.els.lr];
    for (const el of all) {
      el.on("plotly_relayout", (ev) => {
        if (this.syncing) return;
        const upd = {};
        if (ev["xaxis.autorange"]) upd["xaxis.autorange"] = true;
        else if (ev["xaxis.range[0]"] !== undefined) {
          upd["xaxis.range"] = [ev["xaxis.range[0]"], ev["xaxis.range[1]"]];
        } else if (ev["xaxis.range"]) upd["xaxis.range"] = ev["xaxis.range"];
        if (!Object.keys(upd).length) return;
        this.syncing = true;
        Promise.all(all.filter((o) => o !== el && o.data).map((o) => Plotly.relayout(o, upd)))
          .finally(() => { this.syncing = false; });
      });
    }
  }

  maxEpoch() { const ep = this.cols.ep; return ep.length ? ep[ep.length - 1] : 0; }

  /** Alternate epochs shaded: [start, end) of every even epoch, in the current x units. */
  bands() {
    const shapes = [];
    const n = this.maxEpoch();
    if (!n || n > 400) return shapes; // hundreds of bands are noise, not help
    const c = this.cols;
    const startOf = new Map();
    if (this.xMode === "time" || !this.ipe) {
      for (let i = 0; i < c.ep.length; i++) if (!startOf.has(c.ep[i])) startOf.set(c.ep[i], this.x(i));
    }
    const edge = (e) => { // x where epoch e starts
      if (this.xMode === "epoch" && this.ipe) return e - 1;
      if (this.xMode === "iteration" && this.ipe) return (e - 1) * this.ipe;
      return startOf.get(e);
    };
    for (let e = 2; e <= n; e += 2) {
      const x0 = edge(e);
      let x1 = edge(e + 1);
      if (x1 === undefined) x1 = this.size ? this.x(this.size - 1) : x0;
      if (x0 === undefined) continue;
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0, x1, y0: 0, y1: 1,
        fillcolor: bandColor(), line: { width: 0 }, layer: "below" });
    }
    return shapes;
  }

  updateBands() {
    const n = this.maxEpoch();
    if (n === this.bandsEpoch) return;
    this.bandsEpoch = n;
    const shapes = this.bands();
    for (const el of [this.els.acc, this.els.loss, this.els.lr]) Plotly.relayout(el, { shapes });
  }

  setSmoothing(beta) { this.beta = beta; if (this.drawn) this.redraw(); }
  setXMode(mode) { this.xMode = mode; if (this.drawn) this.redraw(); }
  setLogY(on) {
    this.logY = on;
    if (this.drawn) Plotly.relayout(this.els.loss, { "yaxis.type": on ? "log" : "linear" });
  }

  /** CSV of every held point: seq, iteration, epoch, wall_time, then each metric. */
  csv() {
    const c = this.cols;
    const keys = Object.keys(c.values).sort();
    const lines = [["seq", "iteration", "epoch", "wall_time", ...keys].join(",")];
    for (let i = 0; i < c.seq.length; i++) {
      const row = [c.seq[i], c.it[i], c.ep[i], c.wt[i]];
      for (const k of keys) { const v = c.values[k][i]; row.push(v === null ? "" : String(v)); }
      lines.push(row.join(","));
    }
    return `${lines.join("\n")}\n`;
  }

  purge() { for (const el of Object.values(this.els)) if (el && el.data) Plotly.purge(el); }
}

/* ---------- results when a run ends ---------- */

export function drawConfusion(el, cm) {
  const names = cm.class_names;
  const counts = cm.counts;
  const rowSums = counts.map((r) => r.reduce((a, b) => a + b, 0) || 1);
  const norm = counts.map((r, i) => r.map((v) => v / rowSums[i]));
  const size = Math.min(520, 140 + names.length * 34);
  Plotly.react(el, [{ type: "heatmap", z: norm, x: names, y: names, text: counts,
    texttemplate: names.length <= 20 ? "%{text}" : "", colorscale: "Blues", zmin: 0, zmax: 1,
    hovertemplate: "true %{y}, predicted %{x}: %{text} (%{z:.1%} of row)<extra></extra>",
    colorbar: { title: { text: "row %" }, tickformat: ".0%" } }],
  themed({ height: size, width: size + 90, margin: { l: 70, r: 10, t: 10, b: 60 },
    xaxis: { title: { text: "Predicted class" }, type: "category", side: "bottom" },
    yaxis: { title: { text: "True class" }, type: "category", autorange: "reversed" } }),
  { displaylogo: false, responsive: false });
}

export function drawPredictions(el, pred) {
  const t = pred.target.map(toNum), p = pred.predicted.map(toNum);
  const finite = t.concat(p).filter(Number.isFinite);
  const lo = Math.min(...finite), hi = Math.max(...finite);
  Plotly.react(el, [
    { type: "scatter", mode: "markers", x: t, y: p, name: "test samples",
      marker: { size: 5, color: "#2f6fde", opacity: 0.6 } },
    { type: "scatter", mode: "lines", x: [lo, hi], y: [lo, hi], name: "predicted = target",
      line: { dash: "dash", color: cssVar("--muted") || "#888" } },
  ], themed({ height: 420, margin: { l: 60, r: 10, t: 10, b: 50 },
    xaxis: { title: { text: "Target" } }, yaxis: { title: { text: "Predicted" } },
    legend: { orientation: "h", y: 1.08 } }), { displaylogo: false, responsive: true });
}

/* ---------- compare ---------- */

/** series: [{label, color, cols (columnar metrics body), task}] → accuracy above loss. */
export function drawCompare(el, series, { xMode = "iteration", beta = 0.6 } = {}) {
  const traces = [];
  const anyRegression = series.some((s) => s.task === "regression");
  const mKey = anyRegression ? "rmse" : "accuracy";
  const scale = anyRegression ? 1 : 100;
  for (const s of series) {
    const c = s.cols;
    const ipe = s.ipe || null;
    const xs = c.iteration.map((it, i) => (xMode === "epoch" && ipe ? it / ipe
      : xMode === "time" ? c.wall_time[i] - c.wall_time[0] : it));
    const add = (key, axis, sc, dashed, showlegend) => {
      const arr = c.values[key];
      if (!arr) return;
      const x = [], y = [];
      const sm = new Smoother(dashed ? 0 : beta);
      for (let i = 0; i < arr.length; i++) {
        const v = toNum(arr[i]);
        if (v === null || !Number.isFinite(v)) continue;
        x.push(xs[i]); y.push(sm.push(v * sc));
      }
      traces.push({ type: "scatter", mode: dashed ? "lines+markers" : "lines",
        name: s.label, legendgroup: s.label, showlegend, x, y, xaxis: "x", yaxis: axis,
        line: { color: s.color, width: dashed ? 1.5 : 2, dash: dashed ? "dash" : "solid" },
        marker: { size: 5, color: s.color },
        hovertemplate: `${s.label} ${key}: %{y:.4g}<extra></extra>` });
    };
    add(`train_${mKey}`, "y", scale, false, true);
    add(`val_${mKey}`, "y", scale, true, false);
    add("train_loss", "y2", 1, false, false);
    add("val_loss", "y2", 1, true, false);
  }
  const t = themeLayout();
  Plotly.react(el, traces, {
    ...t, height: 560, uirevision: "compare", hovermode: "closest",
    margin: { l: 64, r: 16, t: 30, b: 44 },
    legend: { orientation: "h", y: 1.06, x: 0 },
    xaxis: { ...t.xaxis, anchor: "y2", title: { text: X_TITLES[xMode] } },
    yaxis: { ...t.yaxis, domain: [0.55, 1], title: { text: anyRegression ? "RMSE" : "Accuracy (%)" } },
    yaxis2: { ...t.yaxis, domain: [0, 0.47], title: { text: "Loss" } },
    annotations: [{ text: "solid: training (smoothed) · dashed: validation", xref: "paper",
      yref: "paper", x: 1, y: 1.06, xanchor: "right", showarrow: false,
      font: { size: 11, color: cssVar("--muted") } }],
  }, BASE_CONFIG);
}
