// The run page's charts: one ColumnStore of the run's points, drawn by plug-ins that share its
// x axis and one redraw budget (redraw_budget.js). The accuracy (or RMSE), loss and learn-rate
// charts (training_charts.js) are plug-ins like the update-ratio, other-metrics and LR range
// charts; each uses only the public interface below.
//
// A plug-in: {el, linked, bands?, marks?, logY?, claims?(name), drawFull(end),
// drawNew(start, end)}. draw* draw rows [0 or start, end) of `store`; `linked`: its x axis is
// the run's (iterations, epochs or time) and follows the others' zoom; `bands`: alternate
// epochs are shaded on it; `marks`: the doctor's findings are marked on it; `logY`: the Log
// loss control applies to it; claims(name): the value names it draws (the other-metrics chart
// draws those no plug-in claims). add() sets plugin.charts to this.

import { rowAtX } from "./branching.js";
import { epochBands, findingMarks, marksKey } from "./chart_marks.js";
import { ColumnStore } from "./column_store.js";
import { BASE_CONFIG, plotlyReady, themed } from "./plot_base.js";
import { RedrawBudget } from "./redraw_budget.js";
import { DISPLAY_MAX, finiteXY, lowerBound, minMaxIndices, nonFiniteWord } from "./series.js";
import { xMapper, xTitle } from "./x_axis.js";

export { DISPLAY_MAX, BASE_CONFIG };
const DETAIL_DELAY_MS = 250; // wait for the zoom to settle before fetching its detail

export class RunCharts {
  /**
   * fetchDetail(params) → columnar metrics body: used to fill in a zoomed-in window of a
   * downsampled history (params: after_seq, before_seq, max_points).
   */
  constructor({ runId, fetchDetail = null }) {
    this.runId = runId;
    this.fetchDetail = fetchDetail;
    this.store = new ColumnStore();
    this.beta = 0.6;
    this.xMode = "iteration";
    this.logY = false;
    this.ipe = null;
    this.xOf = xMapper(this.store, this.xMode, this.ipe);
    this.downsampled = false; // some rows of the history are missing (a downsampled load)
    this.plugins = new Map(); // key → plug-in, in drawing order
    this.upTo = {}; // rows of the store each plug-in has drawn
    this.bandsOf = {}; // epochs each plug-in's bands cover
    this.disposed = false;
    this.syncing = false;
    this.detailTimer = null;
    this.view = null; // the x range zoomed into, null when autoranged
    this.onDraw = null; // called after any chart drew
    this.findings = []; // the doctor's, marked on the plug-ins with `marks`
    this.findingsKey = "";
    this.linked = new Set(); // chart divs whose x axis follows the others' zoom
    this.history = []; // a branch's history: [{runId, epoch, store}] oldest first (setHistory)
    this.branches = []; // this run's own branches, each from its epoch on (setBranches)
    this.showBranches = true;
    this.budget = new RedrawBudget({
      size: () => this.size,
      behind: (end) => [...this.plugins.keys()].filter((k) => this.upTo[k] < end),
      draw: (key, end) => this.drawNew(key, end),
      onRound: () => this.onDraw?.(),
    });
  }

  /* ---------- the public interface (plug-ins and the page) ---------- */

  /** Add a plug-in (see the top of this file), drawn after those added before it. */
  add(key, plugin) {
    plugin.charts = this;
    this.plugins.set(key, plugin);
    this.upTo[key] = 0;
    this.bandsOf[key] = 0;
    return plugin;
  }

  get size() { return this.store.size; }

  /** Rows drawn in every chart. */
  get drawnSize() { return Math.min(...[...this.plugins.keys()].map((k) => this.upTo[k])); }

  /** x of row i in the current x units. */
  x(i) { return this.xOf(i); }

  /** Whether a plug-in other than `except` draws value `name`. */
  claimed(name, except = null) {
    for (const p of this.plugins.values()) if (p !== except && p.claims?.(name)) return true;
    return false;
  }

  /** x/y of value `name`'s finite values over rows [start, end), × scale; its non-finite
   *  values are collected into `bad` ({x, y, text}: a mark at the top of the chart each). */
  xy(name, { start = 0, end = this.size, scale = 1, bad = null } = {}) {
    const onBad = bad && ((i, v) => {
      bad.x.push(this.x(i)); bad.y.push(1);
      bad.text.push(`${nonFiniteWord(v)} ${name} at iteration ${this.store.iteration[i]}`);
    });
    return finiteXY(this.store.values[name], this.xOf, { start, end, scale, onBad });
  }

  /** A branch's history: its ancestors' points up to each branch point, drawn lighter before
   *  its own (segments: [{runId, epoch, body}], oldest first, body a columnar REST answer). */
  setHistory(segments) {
    this.history = segments.map(({ runId, epoch, body }) => ({ kind: "history", runId, epoch, store: new ColumnStore(body) }));
    if (this.budget.active) this.redraw();
  }

  /** This run's branches, drawn from their epoch on (list: [{runId, epoch, body}], oldest
   *  first); shown while `showBranches` (setShowBranches). */
  setBranches(list) {
    this.branches = list.map(({ runId, epoch, body }, index) => ({ kind: "branch", index, runId, epoch, store: new ColumnStore(body) }));
    if (this.budget.active) this.redraw();
  }

  setShowBranches(on) { this.showBranches = on; if (this.budget.active) this.redraw(); }

  /** What the plug-ins draw besides the run's own points: its history, then its branches. */
  overlays() { return this.showBranches ? [...this.history, ...this.branches] : this.history; }

  /** x/y of value `name` in a history segment. Iterations and epochs continue across a branch,
   *  so they share the x axis; wall times do not (the parent may have trained days earlier):
   *  in time mode the history is not drawn. */
  historyXY(seg, name, { scale = 1 } = {}) {
    if (this.xMode === "time") return { x: [], y: [] };
    return finiteXY(seg.store.values[name], xMapper(seg.store, this.xMode, this.ipe), { scale });
  }

  /** {runId, epoch} of the point nearest x: of this run's points, or of overlay `overlayOf` (a
   *  run id, the trace's meta.history or meta.branch) when the click was on one. */
  pointAt(x, overlayOf = null) {
    const seg = overlayOf === null ? null : this.overlays().find((s) => s.runId === overlayOf);
    const store = seg ? seg.store : this.store;
    const xOf = seg ? xMapper(store, this.xMode, this.ipe) : this.xOf;
    const row = rowAtX(store.size, xOf, x);
    return row < 0 ? null : { runId: seg ? seg.runId : this.runId, epoch: store.epoch[row] };
  }

  /** Indices of xs (ascending) to draw: all of them when they fit, else decimated, keeping
   *  the zoomed-in window whole. */
  decimate(xs, ys) {
    let keep = null;
    if (this.view) {
      const k0 = lowerBound(xs, this.view[0]);
      keep = [k0, Math.min(xs.length, lowerBound(xs, this.view[1]) + 1)];
    }
    return minMaxIndices(ys, DISPLAY_MAX, keep);
  }

  /** x of an iteration in the current x units (null when no point of it is held). */
  xOfIteration(it) {
    if (this.xMode === "iteration") return it;
    if (this.xMode === "epoch" && this.ipe) return it / this.ipe;
    const i = lowerBound(this.store.iteration, it);
    return i < this.size ? this.x(i) : null;
  }

  /** The doctor's findings as shapes and annotations (chart_marks.js). */
  marks() {
    const extent = this.size ? [this.x(0), this.x(this.size - 1)] : [0, 0];
    return findingMarks(this.findings, (it) => this.xOfIteration(it), extent);
  }

  /** Alternate epochs shaded (chart_marks.js). */
  bands() { return epochBands(this); }

  /** A plug-in's layout shapes: its epoch bands and findings, as it asked. */
  shapesFor(plugin) {
    return [...(plugin.bands ? this.bands() : []), ...(plugin.marks ? this.marks().shapes : [])];
  }

  /** The layout every run-page chart starts from; fromZero: the y axis starts at 0 (a constant
   *  learn rate would otherwise get a range of ±nothing around its value). */
  layout(ytitle, { showX, logY, height, shapes, fromZero = false }) {
    return themed({
      uirevision: `run-${this.runId}-${this.xMode}`,
      height,
      margin: { l: 72, r: 16, t: 8, b: showX ? 40 : 20 },
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom",
        bgcolor: "rgba(0,0,0,0)" },
      hovermode: "x",
      xaxis: { title: showX ? { text: xTitle(this.xMode) } : undefined, automargin: true },
      // Fixed left margins (no automargin) keep the charts' x axes aligned.
      yaxis: { title: { text: ytitle, standoff: 8 }, type: logY ? "log" : "linear", automargin: false,
        exponentformat: "e", rangemode: fromZero ? "tozero" : "normal" },
      yaxis2: { overlaying: "y", range: [0, 1.04], visible: false, fixedrange: true },
      shapes,
    });
  }

  /** An invisible trace at the first row's x (and `y`): a chart whose first value comes later
   *  still starts its x axis where the others do. */
  extentTrace(y) {
    return { type: "scatter", mode: "lines", x: [this.x(0)], y: [y], showlegend: false,
      hoverinfo: "skip", line: { width: 0 }, name: "x extent" }; // lines: no autorange padding
  }

  /* ---------- points in ---------- */

  /** Draw a columnar REST body from scratch (waits for Plotly to finish loading). */
  async load(body) {
    this.store = new ColumnStore(body);
    this.remap();
    this.downsampled = Boolean(body.downsampled);
    await plotlyReady();
    if (this.disposed) return;
    // Marks for the browser benchmark (and anyone profiling): history held, charts drawn.
    performance.mark("trainscope:history-held");
    this.redraw();
    performance.mark("trainscope:charts-drawn");
  }

  /** Live points (a columnar body): held now, drawn within the redraw budget. */
  append(body) {
    this.store.append(body);
    if (this.budget.active) this.budget.schedule();
  }

  /* ---------- drawing ---------- */

  remap() { this.xOf = xMapper(this.store, this.xMode, this.ipe); }

  /** Extend `key`'s chart with rows [drawn, end). */
  drawNew(key, end) {
    const plugin = this.plugins.get(key);
    plugin.drawNew(this.upTo[key], end);
    this.upTo[key] = end;
    this.link(key);
    if (plugin.bands && this.store.maxEpoch() !== this.bandsOf[key]) {
      this.bandsOf[key] = this.store.maxEpoch();
      Plotly.relayout(plugin.el, { shapes: this.shapesFor(plugin) });
    }
  }

  /** Draw chart `key` from scratch (rows [0, end)). */
  drawFull(key, end = this.size) {
    this.plugins.get(key).drawFull(end);
    this.upTo[key] = end;
    this.bandsOf[key] = this.store.maxEpoch();
    this.link(key);
  }

  /** Every chart from scratch (first load, smoothing, x axis, theme, detail fetched). */
  redraw() {
    this.budget.reset();
    for (const key of this.plugins.keys()) this.drawFull(key);
    this.budget.active = true;
    this.onDraw?.();
  }

  /* ---------- controls ---------- */

  /** The doctor's findings: markers on the charts that take them, redrawn only on a change. */
  setFindings(findings) {
    this.findings = findings || [];
    const key = marksKey(this.findings);
    if (key === this.findingsKey) return;
    this.findingsKey = key;
    if (!this.budget.active) return;
    const marks = this.marks();
    for (const p of this.plugins.values()) {
      if (p.marks && p.el.data) Plotly.relayout(p.el, { shapes: this.shapesFor(p), annotations: marks.annotations });
    }
  }

  setIterationsPerEpoch(ipe) {
    if (ipe && ipe !== this.ipe) {
      this.ipe = ipe;
      this.remap();
      if (this.budget.active && this.xMode !== "time") this.redraw();
    }
  }

  setSmoothing(beta) { this.beta = beta; if (this.budget.active) this.redraw(); }
  setXMode(mode) { this.xMode = mode; this.view = null; this.remap(); if (this.budget.active) this.redraw(); }
  setLogY(on) {
    this.logY = on;
    if (!this.budget.active) return;
    for (const p of this.plugins.values()) if (p.logY && p.el.data) Plotly.relayout(p.el, { "yaxis.type": on ? "log" : "linear" });
  }

  /* ---------- zoom: shared x axis, detail of downsampled histories ---------- */

  /** Zoom/pan on one chart's x axis is applied to the others: they share the x axis. Each
   *  chart is linked once it has been drawn (a hidden one may be drawn only later). */
  link(key) {
    const p = this.plugins.get(key);
    const el = p.linked ? p.el : null;
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
    const after = this.store.seq[i0], before = this.store.seq[i1];
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
    const from = lowerBound(this.store.seq, after + 1);
    const to = lowerBound(this.store.seq, before);
    this.store.splice(from, to, body);
    this.redraw();
  }

  dispose() {
    this.disposed = true;
    this.budget.dispose();
    clearTimeout(this.detailTimer);
    if (window.Plotly) for (const p of this.plugins.values()) if (p.el && p.el.data) Plotly.purge(p.el);
  }
}
