// The run page's training-progress charts: accuracy (or RMSE) above loss above learn rate,
// sharing the x axis.
//
// Points are held in columns (`cols`) as they arrive; drawing is separate and budgeted. A round
// of redraws extends the three charts (Plotly.extendTraces with the rows they have not drawn)
// up to the same row, one chart per animation frame; after a round that took d ms the next
// waits d / DUTY. On this kind of machine a Plotly redraw costs 10-25 ms whatever it adds, so
// redrawing on every websocket batch would spend every frame in Plotly (the first version did:
// 146 ms frames with one tab). Budgeted, the page stays at 60 frames a second and the curves
// still move about once a second even with ten pages streaming on two cores.

import { epochBands, findingMarks, marksKey } from "./chart_marks.js";
import { toNum } from "./format.js";
import { BASE_CONFIG, cssVar, plotlyReady, themed } from "./plot_base.js";
import { Smoother, lowerBound, minMaxIndices, pick } from "./series.js";

// A chart drawn from scratch draws at most this many points per trace (min/max decimated);
// the live path extends a trace until it holds twice as many, then draws it from scratch.
export const DISPLAY_MAX = 5000;
const DUTY = 0.05; // share of the main thread live redraws may take
const MIN_GAP_MS = 50;
const DETAIL_DELAY_MS = 250; // wait for the zoom to settle before fetching its detail
const X_TITLES = { iteration: "Iteration", epoch: "Epoch", time: "Time (s)" };
const VAL_MARKERS_MAX = 300; // validations drawn with a marker each; more: a dashed line only

function nonFiniteWord(v) {
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

function emptyCols() { return { seq: [], it: [], ep: [], wt: [], values: {} }; }

export class RunCharts {
  /**
   * els: {acc, loss, lr} divs. task: "classification" | "regression".
   * fetchDetail(params) → columnar metrics body: used to fill in a zoomed-in window of a
   * downsampled history (params: after_seq, before_seq, max_points).
   */
  constructor(els, { runId, task, fetchDetail = null }) {
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
    this.cols = emptyCols();
    this.fetchDetail = fetchDetail;
    this.downsampled = false; // some rows of the history are missing (a downsampled load)
    this.drawn = false; // the first full draw happened
    this.keys = ["acc", "loss", "lr"]; // the charts, in drawing order; addChart adds more
    this.extra = {}; // key → a chart added with addChart
    this.upTo = { acc: 0, loss: 0, lr: 0 }; // rows of `cols` each chart has drawn
    this.traceLen = { acc: 0, loss: 0, lr: 0 }; // points in each chart's longest trace
    this.bandsOf = { acc: 0, loss: 0, lr: 0 }; // epochs each chart's bands cover
    this.parts = {};
    this.round = null; // {end, keys}: the redraw round in progress
    this.nextAt = 0;
    this.pending = false;
    this.disposed = false;
    this.syncing = false;
    this.detailTimer = null;
    this.view = null; // the x range zoomed into, null when autoranged
    this.onDraw = null; // called after any chart drew
    this.findings = []; // the doctor's, marked on the loss chart
    this.findingsKey = "";
    this.linked = new Set(); // chart divs whose x axis follows the others' zoom
  }

  /**
   * Another chart drawn from the same columns within the same redraw budget (the update-ratio
   * chart, the LR range test's loss against learn rate): {el, linked, drawFull(end),
   * drawNew(start, end)}, both drawing rows [0 or start, end) of `cols`. `linked`: its x
   * axis is the others' (iterations, epochs or time) and follows their zoom.
   */
  addChart(key, chart) {
    this.extra[key] = chart;
    this.keys.push(key);
    this.upTo[key] = 0;
  }

  /** The doctor's findings: markers on the loss chart, redrawn only when they change. */
  setFindings(findings) {
    this.findings = findings || [];
    const key = marksKey(this.findings);
    if (key === this.findingsKey) return;
    this.findingsKey = key;
    if (!this.drawn || !this.els.loss.data) return;
    const marks = this.marks();
    Plotly.relayout(this.els.loss, { shapes: [...this.bands(), ...marks.shapes], annotations: marks.annotations });
  }

  /** x of an iteration in the current x units (null when no point of it is held). */
  xOfIteration(it) {
    if (this.xMode === "iteration") return it;
    if (this.xMode === "epoch" && this.ipe) return it / this.ipe;
    const i = lowerBound(this.cols.it, it);
    return i < this.size ? this.x(i) : null;
  }

  marks() {
    const extent = this.size ? [this.x(0), this.x(this.size - 1)] : [0, 0];
    return findingMarks(this.findings, (it) => this.xOfIteration(it), extent);
  }

  shapesFor(key) { return key === "loss" ? [...this.bands(), ...this.marks().shapes] : this.bands(); }

  get size() { return this.cols.seq.length; }

  /** Rows drawn in every chart. */
  get drawnSize() { return Math.min(...this.keys.map((k) => this.upTo[k])); }

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

  /* ---------- holding points ---------- */

  /** Append websocket points ({seq, iteration, epoch, wall_time, values}) to the columns. */
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

  /** Replace rows [from, to) of the columns with a columnar REST body's rows. */
  spliceColumns(from, to, body) {
    const c = this.cols;
    const n = body.seq.length;
    c.seq.splice(from, to - from, ...body.seq);
    c.it.splice(from, to - from, ...body.iteration);
    c.ep.splice(from, to - from, ...body.epoch);
    c.wt.splice(from, to - from, ...body.wall_time);
    const keys = new Set([...Object.keys(c.values), ...Object.keys(body.values || {})]);
    for (const k of keys) {
      if (!c.values[k]) c.values[k] = new Array(c.seq.length - n).fill(null);
      const src = body.values?.[k];
      const rows = src ? src.map(toNum) : new Array(n).fill(null);
      c.values[k].splice(from, to - from, ...rows);
    }
  }

  /** Draw a columnar REST body from scratch (waits for Plotly to finish loading). */
  async load(body) {
    this.cols = emptyCols();
    this.spliceColumns(0, 0, body);
    this.downsampled = Boolean(body.downsampled);
    await plotlyReady();
    if (this.disposed) return;
    // Marks for the browser benchmark (and anyone profiling): history held, charts drawn.
    performance.mark("trainscope:history-held");
    this.redraw();
    performance.mark("trainscope:charts-drawn");
  }

  /** Live points: held now, drawn within the redraw budget. */
  append(points) {
    this.hold(points);
    if (this.drawn) this.schedule();
  }

  /* ---------- the redraw budget ---------- */

  schedule() {
    if (this.pending || this.disposed) return;
    this.pending = true;
    const go = () => requestAnimationFrame(() => this.tick());
    const wait = this.nextAt - performance.now();
    if (wait > 0) setTimeout(go, wait); else go();
  }

  /** One chart per frame; hidden tabs get no frames, so they draw nothing until shown. */
  tick() {
    this.pending = false;
    if (this.disposed || !this.drawn) return;
    if (!this.round) {
      const end = this.size;
      const keys = this.keys.filter((k) => this.upTo[k] < end);
      if (!keys.length) return;
      this.round = { end, keys, spent: 0 };
    }
    const round = this.round;
    const t0 = performance.now();
    try { this.drawNew(round.keys.shift(), round.end); } catch (err) { console.error(err); } // eslint-disable-line no-console
    round.spent += performance.now() - t0;
    if (round.keys.length) { // the next chart in the next frame
      this.pending = true;
      requestAnimationFrame(() => this.tick());
      return;
    }
    this.round = null;
    this.nextAt = performance.now() + Math.max(MIN_GAP_MS, round.spent / DUTY);
    this.onDraw?.();
    if (this.drawnSize < this.size) this.schedule();
  }

  /* ---------- drawing ---------- */

  partKeys(key) {
    const m = this.metric;
    return key === "acc"
      ? { train: m.train, val: m.val, scale: m.scale }
      : { train: "train_loss", val: "val_loss", scale: 1 };
  }

  /** x/y of series `key` over rows [start, end); non-finite values go to `bad` (if given). */
  series(start, key, scale, bad, end = this.size) {
    const x = [], y = [];
    const arr = this.cols.values[key];
    if (!arr) return { x, y };
    for (let i = start; i < end; i++) {
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

  /** A part's four traces' data over rows [start, end), continuing the part's smoother. */
  partData(key, start, end) {
    const { train: trainKey, val: valKey, scale } = this.partKeys(key);
    const part = this.parts[key];
    const bad = { x: [], y: [], text: [] };
    const train = this.series(start, trainKey, scale, bad, end);
    const val = this.series(start, valKey, scale, bad, end);
    const sm = { x: train.x, y: train.y.map((v) => part.push(v)) };
    return { train, sm, val, bad };
  }

  /** Extend `key`'s traces with rows [drawn, end); from scratch when they grew long. */
  drawNew(key, end) {
    const start = this.upTo[key];
    if (this.extra[key]) { this.extra[key].drawNew(start, end); this.upTo[key] = end; this.link(key); return; }
    if (this.traceLen[key] + (end - start) > 2 * DISPLAY_MAX) { this.drawFull(key, end); return; }
    const el = this.els[key];
    if (key === "lr") {
      const lr = this.series(start, "learn_rate", 1, null, end);
      if (lr.x.length) Plotly.extendTraces(el, { x: [lr.x], y: [lr.y] }, [0]);
      this.traceLen.lr += lr.x.length;
    } else {
      const d = this.partData(key, start, end);
      if (d.train.x.length || d.val.x.length) {
        Plotly.extendTraces(el, { x: [d.train.x, d.sm.x, d.val.x], y: [d.train.y, d.sm.y, d.val.y] },
          [0, 1, 2]);
      }
      if (d.bad.x.length) Plotly.extendTraces(el, { x: [d.bad.x], y: [d.bad.y], text: [d.bad.text] }, [3]);
      this.traceLen[key] += d.train.x.length;
    }
    this.upTo[key] = end;
    if (this.maxEpoch() !== this.bandsOf[key]) {
      this.bandsOf[key] = this.maxEpoch();
      Plotly.relayout(el, { shapes: this.shapesFor(key) });
    }
  }

  /** Indices of xs (ascending) to draw: all of them when they fit, else decimated, keeping
   *  the zoomed-in window whole. */
  drawIndices(xs, ys) {
    let keep = null;
    if (this.view) {
      const k0 = lowerBound(xs, this.view[0]);
      keep = [k0, Math.min(xs.length, lowerBound(xs, this.view[1]) + 1)];
    }
    return minMaxIndices(ys, DISPLAY_MAX, keep);
  }

  /** Draw chart `key` from scratch (rows [0, end)), at most DISPLAY_MAX points per trace. */
  drawFull(key, end = this.size) {
    if (this.extra[key]) { this.extra[key].drawFull(end); this.upTo[key] = end; this.link(key); return; }
    const el = this.els[key];
    const shapes = this.shapesFor(key);
    if (key === "lr") {
      const lr = this.series(0, "learn_rate", 1, null, end);
      const idx = this.drawIndices(lr.x, lr.y);
      Plotly.react(el, [{ type: "scatter", mode: "lines", name: "Learn rate", x: pick(lr.x, idx),
        y: pick(lr.y, idx), line: { color: "#2ca58d", width: 1.5 } }],
      { ...this.layout("Learn rate", { showX: true, logY: false, height: 150, shapes }),
        showlegend: false }, BASE_CONFIG);
      this.traceLen.lr = idx ? idx.length : lr.x.length;
    } else {
      this.parts[key] = new Smoother(this.beta);
      const d = this.partData(key, 0, end);
      const idx = this.drawIndices(d.train.x, d.train.y);
      d.train = { x: pick(d.train.x, idx), y: pick(d.train.y, idx) };
      d.sm = { x: pick(d.sm.x, idx), y: pick(d.sm.y, idx) };
      const acc = key === "acc";
      const names = acc ? (this.regression ? "Training RMSE" : "Training accuracy") : "Training loss";
      const layout = this.layout(acc ? this.metric.title : "Loss",
        { showX: false, logY: acc ? false : this.logY, height: 260, shapes });
      if (!acc) layout.annotations = this.marks().annotations;
      Plotly.react(el, this.traces(d, acc ? "#2f6fde" : "#e0663a", names), layout, BASE_CONFIG);
      this.traceLen[key] = d.train.x.length;
    }
    this.upTo[key] = end;
    this.bandsOf[key] = this.maxEpoch();
  }

  /** Every chart from scratch (first load, smoothing, x axis, theme, detail fetched). */
  redraw() {
    this.round = null;
    for (const key of this.keys) this.drawFull(key);
    for (const key of ["acc", "loss", "lr"]) this.link(key);
    this.drawn = true;
    this.onDraw?.();
  }

  traces(d, color, names) {
    return [
      { type: "scatter", mode: "lines", name: `${names} (per iteration)`, x: d.train.x, y: d.train.y,
        line: { color, width: 1 }, opacity: 0.3, hoverinfo: "x+y", showlegend: false },
      { type: "scatter", mode: "lines", name: `${names} (smoothed)`, x: d.sm.x, y: d.sm.y,
        line: { color, width: 2 } },
      // A marker per validation while they are few enough to tell apart; past that a marker
      // is an SVG node per point that draws as a blob anyway (and costs a first draw dearly).
      { type: "scatter", mode: d.val.x.length > VAL_MARKERS_MAX ? "lines" : "lines+markers",
        name: "Validation", x: d.val.x, y: d.val.y,
        line: { color: cssVar("--val") || "#222", width: 1.5, dash: "dash" },
        marker: { size: 6, color: cssVar("--val") || "#222" }, connectgaps: true },
      { type: "scatter", mode: "markers", name: "NaN / Inf", x: d.bad.x, y: d.bad.y, yaxis: "y2",
        text: d.bad.text, hovertemplate: "%{text}<extra></extra>",
        marker: { symbol: "x", size: 11, color: "#d62728", line: { width: 2, color: "#d62728" } } },
    ];
  }

  layout(ytitle, { showX, logY, height, shapes }) {
    return themed({
      uirevision: `run-${this.runId}-${this.xMode}`,
      height,
      margin: { l: 72, r: 16, t: 8, b: showX ? 40 : 20 },
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom",
        bgcolor: "rgba(0,0,0,0)" },
      hovermode: "x",
      xaxis: { title: showX ? { text: X_TITLES[this.xMode] } : undefined, automargin: true },
      // Fixed left margins (no automargin) keep the three charts' x axes aligned. From zero:
      // a constant learn rate would otherwise get a range of ±nothing around its value.
      yaxis: { title: { text: ytitle, standoff: 8 }, type: logY ? "log" : "linear", automargin: false,
        exponentformat: "e", rangemode: ytitle === "Learn rate" ? "tozero" : "normal" },
      yaxis2: { overlaying: "y", range: [0, 1.04], visible: false, fixedrange: true },
      shapes,
    });
  }

  /* ---------- zoom: shared x axis, detail of downsampled histories ---------- */

  /** Zoom/pan on one chart's x axis is applied to the others: they share the x axis. Each
   *  chart is linked once it has been drawn (an added chart may be drawn only later). */
  link(key) {
    const el = this.extra[key] ? (this.extra[key].linked ? this.extra[key].el : null) : this.els[key];
    if (!el || this.linked.has(el) || !el.on) return;
    this.linked.add(el);
    el.on("plotly_relayout", (ev) => {
      if (this.syncing) return;
      const upd = {};
      if (ev["xaxis.autorange"]) { upd["xaxis.autorange"] = true; this.view = null; }
      else if (ev["xaxis.range[0]"] !== undefined) {
        upd["xaxis.range"] = [ev["xaxis.range[0]"], ev["xaxis.range[1]"]];
      } else if (ev["xaxis.range"]) upd["xaxis.range"] = ev["xaxis.range"];
      if (!Object.keys(upd).length) return;
      if (upd["xaxis.range"]) this.view = upd["xaxis.range"].map(Number);
      this.syncing = true;
      Promise.all([...this.linked].filter((o) => o !== el && o.data).map((o) => Plotly.relayout(o, upd)))
        .finally(() => { this.syncing = false; });
      if (upd["xaxis.range"] && this.downsampled && this.fetchDetail) {
        clearTimeout(this.detailTimer);
        this.detailTimer = setTimeout(() => this.view && this.loadDetail(this.view), DETAIL_DELAY_MS);
      }
    });
  }

  /**
   * Fill in the rows a downsampled history left out between x0 and x1: fetch that window
   * (downsampled again only if it still holds more than DISPLAY_MAX points), splice it in, redraw.
   */
  async loadDetail([x0, x1]) {
    const n = this.size;
    if (!n || !(x1 > x0)) return;
    const xs = Array.from({ length: n }, (_, i) => this.x(i));
    const i0 = Math.max(0, lowerBound(xs, x0) - 1);
    const i1 = Math.min(n - 1, lowerBound(xs, x1));
    const c = this.cols;
    const after = c.seq[i0], before = c.seq[i1];
    if (before - after - 1 <= i1 - i0 - 1) return; // nothing missing in the window
    let body;
    try {
      body = await this.fetchDetail({ after_seq: after, before_seq: before, max_points: DISPLAY_MAX });
    } catch (err) {
      console.warn("could not fetch the zoomed window's detail:", err.message); // eslint-disable-line no-console
      return;
    }
    if (this.disposed) return;
    // Rows may have arrived meanwhile (live points are appended): find the window again by seq.
    const from = lowerBound(this.cols.seq, after + 1);
    const to = lowerBound(this.cols.seq, before);
    this.spliceColumns(from, to, body);
    this.redraw();
  }

  /* ---------- epoch bands, controls ---------- */

  maxEpoch() { const ep = this.cols.ep; return ep.length ? ep[ep.length - 1] : 0; }

  /** Alternate epochs shaded (chart_marks.js). */
  bands() { return epochBands(this); }

  setSmoothing(beta) { this.beta = beta; if (this.drawn) this.redraw(); }
  setXMode(mode) { this.xMode = mode; this.view = null; if (this.drawn) this.redraw(); }
  setLogY(on) {
    this.logY = on;
    if (this.drawn) Plotly.relayout(this.els.loss, { "yaxis.type": on ? "log" : "linear" });
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.detailTimer);
    const els = [...Object.values(this.els), ...Object.values(this.extra).map((c) => c.el)];
    if (window.Plotly) for (const el of els) if (el && el.data) Plotly.purge(el);
  }
}
