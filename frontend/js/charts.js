// Charts drawn once from a finished body of data: the confusion matrix, the predictions plot,
// the compare overlay. The run page's live charts are in run_charts.js.

import { toNum } from "./format.js";
import { ROLE } from "./palette.js";
import { BASE_CONFIG, themeColor, themeLayout, themed } from "./plot_base.js";
import { Smoother, finiteXY } from "./series.js";
import { xMapper, xTitle } from "./x_axis.js";

export { plotlyReady, rethemeAll } from "./plot_base.js";

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
      marker: { size: 5, color: ROLE.accuracy, opacity: 0.6 } },
    { type: "scatter", mode: "lines", x: [lo, hi], y: [lo, hi], name: "predicted = target",
      line: { dash: "dash", color: themeColor("--muted", ROLE.muted) } },
  ], themed({ height: 420, margin: { l: 60, r: 10, t: 10, b: 50 },
    xaxis: { title: { text: "Target" } }, yaxis: { title: { text: "Predicted" } },
    legend: { orientation: "h", y: 1.08 } }), { displaylogo: false, responsive: true });
}

/* ---------- compare ---------- */

/** series: [{label, color, cols (a ColumnStore or a columnar metrics body), task}] → accuracy above loss. */
export function drawCompare(el, series, { xMode = "iteration", beta = 0.6 } = {}) {
  const traces = [];
  const anyRegression = series.some((s) => s.task === "regression");
  const mKey = anyRegression ? "rmse" : "accuracy";
  const scale = anyRegression ? 1 : 100;
  for (const s of series) {
    const c = s.cols;
    const xOf = xMapper(c, xMode, s.ipe || null);
    const add = (key, axis, sc, dashed, showlegend) => {
      const arr = c.values[key];
      if (!arr) return;
      const sm = new Smoother(dashed ? 0 : beta);
      const { x, y: raw } = finiteXY(arr, xOf, { scale: sc });
      const y = raw.map((v) => sm.push(v));
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
    xaxis: { ...t.xaxis, anchor: "y2", title: { text: xTitle(xMode) } },
    yaxis: { ...t.yaxis, domain: [0.55, 1], title: { text: anyRegression ? "RMSE" : "Accuracy (%)" } },
    yaxis2: { ...t.yaxis, domain: [0, 0.47], title: { text: "Loss" } },
    annotations: [{ text: "solid: training (smoothed) · dashed: validation", xref: "paper",
      yref: "paper", x: 1, y: 1.06, xanchor: "right", showarrow: false,
      font: { size: 11, color: themeColor("--muted", ROLE.muted) } }],
  }, BASE_CONFIG);
}
