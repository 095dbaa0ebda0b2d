// A sweep's trials on parallel coordinates: one axis per option that varies, then the target
// metric; each trial a line coloured by that metric (SVG: see drawParcoords for why). A log_uniform option, or
// positive numbers spanning a decade or more, is drawn on a log10 axis whose ticks read as the
// values themselves (0.001, 0.01…), not their logarithms. Text values (a solver, a preset) get
// one tick each.

import { fmtNum, metricLabel } from "./format.js";
import { ROLE } from "./palette.js";
import { BASE_CONFIG, themeColor, themeLayout } from "./plot_base.js";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** A value as an axis tick reads it: 0.003, 32, sgdm, a model's preset. */
export function fmtParam(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return fmtNum(v, 4);
  if (typeof v === "object") return v.preset ? String(v.preset) : Array.isArray(v) ? JSON.stringify(v) : "layers";
  return String(v);
}

/** A log axis tick: 0.3, 0.001, 3e-4 (short: many sit on one axis). */
function fmtLogTick(v) {
  const r = Number(v.toPrecision(3));
  return r !== 0 && Math.abs(r) < 1e-3 ? r.toExponential().replace(/\.?0+e/, "e").replace("e-", "e−") : fmtNum(r, 3);
}

/** Is the space dimension `key` best drawn on a log axis, given the values it took? */
export function isLogAxis(dim, values) {
  if (dim && dim.log_uniform) return true;
  const nums = values.filter(isNum);
  if (nums.length < values.length || nums.length < 2 || nums.some((v) => v <= 0)) return false;
  return Math.max(...nums) / Math.min(...nums) >= 10;
}

/** Tick positions (log10) from lo to hi: 1-2-5 steps within a few decades, powers of ten beyond. */
function logTicks(lo, hi) {
  const out = [];
  const decades = hi - lo;
  const mult = decades <= 2 ? [1, 2, 5] : decades <= 4 ? [1, 3] : [1];
  for (let e = Math.floor(lo) - 1; e <= Math.ceil(hi); e++) {
    for (const m of mult) {
      const t = e + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  return out;
}

/**
 * One parcoords dimension for option `key`: values per trial (in `trials` order) → {label,
 * values, range, tickvals, ticktext, log}. `dim` is the sweep's space entry for it.
 */
export function axisFor(key, values, dim) {
  const nums = values.every(isNum);
  if (nums) {
    const log = isLogAxis(dim, values);
    const f = log ? Math.log10 : (x) => x;
    const bounds = dim?.log_uniform || dim?.uniform || dim?.int_uniform || null;
    const distinct = [...new Set(values)].sort((a, b) => a - b);
    let lo = Math.min(...values), hi = Math.max(...values);
    if (bounds) { lo = Math.min(lo, bounds[0]); hi = Math.max(hi, bounds[1]); }
    let range = [f(lo), f(hi)];
    if (range[0] === range[1]) range = log ? [range[0] - 0.5, range[1] + 0.5] : [range[0] - 1, range[1] + 1];
    let tickvals;
    if (dim?.values && distinct.length <= 12) tickvals = distinct.map(f); // a grid: its values
    else if (log) tickvals = logTicks(range[0], range[1]);
    else tickvals = undefined; // Plotly's own linear ticks
    const dimension = { label: log ? `${key} (log)` : key, values: values.map(f), range };
    if (tickvals) {
      dimension.tickvals = tickvals;
      dimension.ticktext = tickvals.map((t) => (log ? fmtLogTick(10 ** t) : fmtParam(t)));
    }
    return { ...dimension, log };
  }
  // Text, booleans, models: one tick per distinct value, in the order the space lists them.
  const order = (dim?.values || []).map((v) => JSON.stringify(v));
  const seen = [...new Set(values.map((v) => JSON.stringify(v)))];
  const cats = [...order.filter((k) => seen.includes(k)), ...seen.filter((k) => !order.includes(k))];
  const index = new Map(cats.map((k, i) => [k, i]));
  return {
    label: key, log: false,
    values: values.map((v) => index.get(JSON.stringify(v))),
    range: cats.length > 1 ? [0, cats.length - 1] : [-1, 1],
    tickvals: cats.map((_, i) => i),
    ticktext: cats.map((k) => fmtParam(JSON.parse(k))),
  };
}

/** About `n` round tick values from lo to hi (1-2-5 steps). */
function niceTicks(lo, hi, n = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * sweep: GET /api/sweeps/{id}'s body; scale: color_scale.metricScale over the trials' values.
 * Draws the trials that have a target value; returns how many.
 *
 * Why not Plotly's `parcoords` trace: it draws with WebGL through regl, which compiles its
 * draw calls with `new Function`, and the server's Content-Security-Policy (script-src 'self',
 * no 'unsafe-eval') refuses that, so Plotly shows "WebGL is not supported". Here each axis is
 * a vertical line at x = 0, 1, 2…, each trial an SVG polyline (a scatter trace) through its
 * values scaled to [0, 1] on every axis, the ticks annotations: CSP-clean, and hovering a
 * line names the trial.
 */
export function drawParcoords(el, sweep, scale) {
  const trials = sweep.trials.filter((t) => t.value !== null && t.value !== undefined);
  const pct = sweep.metric.includes("accuracy");
  const axes = sweep.varying.map((key) => axisFor(key, trials.map((t) => t.params[key]), sweep.space?.[key]));
  const tLo = scale.cmin, tHi = scale.cmax;
  const tTicks = niceTicks(tLo, tHi, 4);
  axes.push({ label: metricLabel(sweep.metric), values: trials.map((t) => t.value), range: [tLo, tHi],
    tickvals: tTicks, ticktext: tTicks.map((v) => (pct ? `${Number((v * 100).toPrecision(4))}%` : fmtNum(v, 3))), target: true });
  for (const a of axes) if (!a.tickvals) { a.tickvals = niceTicks(a.range[0], a.range[1]); a.ticktext = a.tickvals.map((v) => fmtParam(v)); }
  const norm = (a, v) => (v - a.range[0]) / (a.range[1] - a.range[0]);

  const fg = themeColor("--fg", ROLE.fg);
  const muted = themeColor("--muted", ROLE.label);
  const axisColor = themeColor("--border", ROLE.border);
  const xs = axes.map((_, i) => i);
  const bestIndex = sweep.best?.index ?? null;
  const traces = [];
  let best = null;
  trials.forEach((t, row) => {
    const isBest = t.index === bestIndex;
    const params = sweep.varying.map((k) => `${k} = ${fmtParam(t.params[k])}`).join("<br>");
    const trace = {
      type: "scatter", mode: "lines+markers", x: xs, y: axes.map((a) => norm(a, a.values[row])),
      name: `trial ${t.index + 1}`, meta: { trial: t.index, best: isBest }, showlegend: false,
      line: { color: scale.color(t.value), width: isBest ? 4.5 : 2 },
      marker: { size: isBest ? 8 : 5, color: scale.color(t.value) },
      hovertemplate: `${isBest ? "★ best · " : ""}trial ${t.index + 1} (run #${t.run_id})<br>${params}<br>${metricLabel(sweep.metric)} = ${fmtMetricValue(sweep.metric, t.value)}<extra></extra>`,
    };
    if (isBest) best = trace; else traces.push(trace);
  });
  if (best) traces.push(best);
  // The colour bar: a marker trace off the plotted range that only carries the scale.
  if (trials.length) {
    traces.push({ type: "scatter", mode: "markers", x: [0], y: [-10], hoverinfo: "skip", showlegend: false, name: "scale",
      marker: { color: [tLo], cmin: tLo, cmax: tHi, colorscale: scale.colorscale, showscale: true,
        colorbar: { title: { text: metricLabel(sweep.metric), side: "right", font: { color: fg } }, thickness: 12,
          outlinewidth: 0, len: 0.9, tickformat: pct ? ".0%" : ".3~g", tickfont: { color: fg } } } });
  }
  const shapes = axes.map((_, i) => ({ type: "line", xref: "x", yref: "y", x0: i, x1: i, y0: 0, y1: 1, layer: "below",
    line: { color: axisColor, width: 2 } }));
  const annotations = [];
  axes.forEach((a, i) => {
    annotations.push({ x: i, y: 1, xref: "x", yref: "y", yshift: 22, showarrow: false, text: `<b>${a.label}</b>`,
      font: { size: 12, color: fg }, name: `axis-${i}` });
    a.tickvals.forEach((v, k) => {
      const y = norm(a, v);
      if (y < -1e-6 || y > 1 + 1e-6) return;
      annotations.push({ x: i, y, xref: "x", yref: "y", xanchor: "right", xshift: -8, showarrow: false,
        text: a.ticktext[k], font: { size: 10, color: muted }, name: `tick-${i}` });
    });
  });
  if (!trials.length) annotations.push({ text: "No trial has a value of the target metric yet", showarrow: false,
    xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: muted } });
  const t = themeLayout();
  Plotly.react(el, traces, {
    paper_bgcolor: t.paper_bgcolor, plot_bgcolor: t.plot_bgcolor, font: t.font,
    height: 360, margin: { l: 24, r: 24, t: 44, b: 16 }, hovermode: "closest", dragmode: false,
    xaxis: { visible: false, range: [-0.35, Math.max(1, axes.length - 1) + 0.15], fixedrange: true },
    yaxis: { visible: false, range: [-0.05, 1.05], fixedrange: true },
    shapes, annotations,
  }, { ...BASE_CONFIG, displayModeBar: false });
  el.dataset.axes = JSON.stringify(axes.map((a) => a.label));
  return trials.length;
}

function fmtMetricValue(metric, v) {
  return metric.includes("accuracy") ? `${(v * 100).toFixed(2)}%` : fmtNum(v, 4);
}
