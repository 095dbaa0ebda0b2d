// Every trial's validation curve on one chart, each coloured by its final target metric on the
// same scale as the parallel-coordinates chart; the best trial drawn thick and labelled, on top.

import { metricLabel } from "./format.js";
import { finiteXY } from "./series.js";
import { BASE_CONFIG, cssVar, themed } from "./plot_base.js";
import { fmtParam } from "./parcoords.js";

/** The metric the curves show: the target when it is a validation metric, else the
 *  validation accuracy (RMSE) the runs have, else the validation loss. */
export function curveMetric(sweep, anyCols) {
  if (sweep.metric.startsWith("val_")) return sweep.metric;
  for (const k of ["val_accuracy", "val_rmse"]) if (anyCols.some((c) => c?.values?.[k])) return k;
  return "val_loss";
}

/** cols: columnar metrics body → {x, y} of `key`'s finite values against iterations, scaled. */
function series(cols, key, scale) {
  return finiteXY(cols?.values?.[key], (i) => cols.iteration[i], { scale });
}

/**
 * sweep: its body; cols: Map trial index → columnar metrics of its run; scale: metricScale.
 * Returns {metric, drawn} (drawn: traces with points).
 */
export function drawSweepCurves(el, sweep, cols, scale) {
  const metric = curveMetric(sweep, [...cols.values()]);
  const pct = metric.includes("accuracy") ? 100 : 1;
  const bestIndex = sweep.best?.index ?? null;
  const traces = [];
  const annotations = [];
  let best = null;
  for (const t of sweep.trials) {
    const c = cols.get(t.index);
    if (!c) continue;
    const { x, y } = series(c, metric, pct);
    if (!x.length) continue;
    const isBest = t.index === bestIndex;
    const params = sweep.varying.map((k) => `${k}=${fmtParam(t.params[k])}`).join(" · ");
    const trace = {
      type: "scatter", mode: x.length < 40 ? "lines+markers" : "lines", x, y,
      name: `${isBest ? "★ best: " : ""}trial ${t.index + 1}`,
      meta: { trial: t.index, best: isBest },
      line: { color: scale.color(t.value), width: isBest ? 4.5 : 1.6 },
      marker: { size: isBest ? 7 : 4, color: scale.color(t.value) },
      opacity: isBest || bestIndex === null ? 1 : 0.85,
      hovertemplate: `trial ${t.index + 1} (run #${t.run_id}) · ${params}<br>${metricLabel(metric)} %{y:.4g}${pct === 100 ? "%" : ""}<extra>it. %{x}</extra>`,
    };
    if (isBest) {
      best = trace;
      annotations.push({ x: x[x.length - 1], y: y[y.length - 1], text: `best · trial ${t.index + 1}`,
        showarrow: true, arrowhead: 0, ax: -40, ay: pct === 100 || metric.includes("loss") ? -26 : 26,
        font: { size: 12, color: cssVar("--fg") }, bgcolor: cssVar("--bg-panel"), bordercolor: scale.color(t.value),
        borderwidth: 1.5, borderpad: 3 });
    } else traces.push(trace);
  }
  if (best) traces.push(best); // drawn last: on top
  Plotly.react(el, traces, themed({
    height: 360, uirevision: `sweep-${sweep.id}`, hovermode: "closest", showlegend: false,
    margin: { l: 60, r: 16, t: 16, b: 42 }, annotations,
    xaxis: { title: { text: "Iteration" } },
    yaxis: { title: { text: pct === 100 ? `${metricLabel(metric)} (%)` : metricLabel(metric) }, type: logWanted(metric, traces) ? "log" : "linear" },
  }), BASE_CONFIG);
  return { metric, drawn: traces.length };
}

/** A loss spanning more than 20× (one trial blew up): a log axis keeps the others readable. */
function logWanted(metric, traces) {
  if (!metric.includes("loss")) return false;
  const ys = traces.flatMap((t) => t.y);
  if (!ys.length || ys.some((v) => v <= 0)) return false;
  return Math.max(...ys) / Math.min(...ys) > 20;
}
