// The LR range test's chart: training loss against learn rate (log x), per iteration and
// smoothed, with the doctor's suggestion marked. A RunCharts plug-in (run_charts.js), so it
// draws within the same redraw budget; its x axis is the learn rate, so it is not linked to the
// others'. A range test has a few hundred points: each round draws it from scratch (decimated
// past DISPLAY_MAX), which also lets the y range follow the loss until it explodes.

import { ROLE, SEVERITY } from "./palette.js";
import { BASE_CONFIG, themeColor, themed } from "./plot_base.js";
import { fmtNum } from "./format.js";
import { DISPLAY_MAX, Smoother, finiteXY, minMaxIndices, pick } from "./series.js";

/** The lr-range finding's suggested learn rate (what "Use this" fills in), or null. */
export function suggestedRate(finding) {
  const v = Number(finding?.evidence?.suggested);
  return Number.isFinite(v) && v > 0 ? v : null;
}

export class LrRangeChart {
  constructor(el) {
    this.el = el;
    this.linked = false;
    this.finding = null;
  }

  /** (learn rate, loss) of rows [0, end) where both are finite and the rate positive. */
  data(end) {
    const { values } = this.charts.store;
    const lr = values.learn_rate || [];
    return finiteXY(values.train_loss, (i) => (lr[i] > 0 ? lr[i] : null), { end });
  }

  /** Vertical lines at the suggested rate (solid), and dotted where the loss fell fastest,
   *  where it was lowest and where it exploded (those the finding's evidence names). */
  marks() {
    const ev = this.finding?.evidence || {};
    const shapes = [], annotations = [];
    const muted = themeColor("--muted", ROLE.muted);
    const mark = (name, value, text, color, dash, y) => {
      const x = Number(value);
      if (value === null || value === undefined || !Number.isFinite(x) || x <= 0) return;
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, name,
        line: { color, width: dash === "solid" ? 2 : 1.2, dash } });
      // Annotations on a log axis take log10 of the value (shapes take the value itself).
      annotations.push({ xref: "x", x: Math.log10(x), yref: "paper", y, xanchor: "left", yanchor: "top",
        xshift: 3, showarrow: false, text, font: { size: 11, color }, name,
        bgcolor: themeColor("--bg-panel", ROLE.panel) });
    };
    const suggested = suggestedRate(this.finding);
    const steepest = ev.steepest_lr ?? ev.steepest;
    const sameAsSteepest = steepest !== undefined && Number(steepest) === Number(ev.suggested);
    mark("suggested", ev.suggested, `suggested ${fmtNum(suggested, 3)}${sameAsSteepest ? " (steepest fall)" : ""}`,
      themeColor("--sev-ok", SEVERITY.ok), "solid", 1);
    if (!sameAsSteepest) mark("steepest", steepest, `steepest ${fmtNum(steepest, 3)}`, muted, "dot", 0.9);
    mark("min-loss", ev.min_loss_lr ?? ev.min_loss, `lowest loss at ${fmtNum(ev.min_loss_lr ?? ev.min_loss, 3)}`, muted, "dot", 0.8);
    mark("exploded", ev.exploded_at, `exploded at ${fmtNum(ev.exploded_at, 3)}`, themeColor("--sev-critical", SEVERITY.critical), "dot", 0.7);
    return { shapes, annotations };
  }

  setFinding(finding) {
    const key = JSON.stringify(finding?.evidence || null);
    if (key === this.findingKey) return;
    this.findingKey = key;
    this.finding = finding;
    if (this.el.data) Plotly.relayout(this.el, this.marks());
  }

  drawFull(end) {
    const raw = this.data(end);
    const sm = new Smoother(this.charts.beta);
    const smooth = raw.y.map((v) => sm.push(v));
    const idx = minMaxIndices(raw.y, DISPLAY_MAX);
    const x = pick(raw.x, idx);
    const { shapes, annotations } = this.marks();
    // The loss explodes at the end of the range: clip the y axis at 1.5× the starting loss so
    // the descent (what the test is for) fills the chart.
    let yRange;
    if (raw.y.length > 1) {
      const lo = Math.min(...smooth, ...raw.y);
      const cap = 1.5 * Math.max(smooth[0], smooth[Math.min(9, smooth.length - 1)]);
      const hi = Math.max(...raw.y);
      if (hi > cap && cap > lo) yRange = [lo - 0.04 * (cap - lo), cap];
    }
    Plotly.react(this.el, [
      { type: "scatter", mode: "lines", name: "Training loss (per iteration)", x, y: pick(raw.y, idx),
        line: { color: ROLE.loss, width: 1 }, opacity: 0.35, showlegend: false,
        hovertemplate: "lr %{x:.2e}: loss %{y:.4g}<extra></extra>" },
      { type: "scatter", mode: "lines", name: "Training loss (smoothed)", x, y: pick(smooth, idx),
        line: { color: ROLE.loss, width: 2 }, hovertemplate: "lr %{x:.2e}: smoothed %{y:.4g}<extra></extra>" },
    ], themed({
      uirevision: `lr-range-${this.charts.runId}`,
      height: 320, margin: { l: 72, r: 16, t: 8, b: 44 }, showlegend: true, hovermode: "closest",
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", bgcolor: "rgba(0,0,0,0)" },
      xaxis: { type: "log", title: { text: "Learn rate (log scale)" }, exponentformat: "power", automargin: true },
      yaxis: { title: { text: "Training loss", standoff: 8 }, automargin: false,
        ...(yRange ? { range: yRange, autorange: false } : { autorange: true }) },
      shapes, annotations,
    }), BASE_CONFIG);
  }

  drawNew(start, end) { if (end > start) this.drawFull(end); }
}
