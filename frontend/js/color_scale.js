// One colour scale for a sweep's target metric, shared by the parallel-coordinates chart (as a
// Plotly colorscale) and the overlaid curves (as a colour per trial), so a trial has the same
// colour in both. Viridis, with the better end bright: the ends are trimmed per theme so that
// neither end vanishes into the background (yellow on white, deep purple on near-black).

import { ROLE } from "./palette.js";

const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
  "#6ece58", "#b5de2b", "#fde725"];

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbHex([r, g, b]) {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("")}`;
}

/** Viridis at t in [0, 1], linearly between its stops. */
function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const a = hexToRgb(VIRIDIS[i]), b = hexToRgb(VIRIDIS[i + 1]);
  const f = x - i;
  return rgbHex(a.map((v, k) => v + (b[k] - v) * f));
}

/**
 * values: the target metric's values (nulls ignored); goal "maximize" | "minimize"; theme.
 * → {cmin, cmax, colorscale (Plotly's form, worse → better), value(v) → its place in [0, 1]
 * (1: the best), color(v) → a hex colour (grey when v is null)}.
 */
export function metricScale(values, goal, theme = "light") {
  const finite = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  let cmin = finite.length ? Math.min(...finite) : 0;
  let cmax = finite.length ? Math.max(...finite) : 1;
  if (cmin === cmax) { cmin -= 0.5; cmax += 0.5; } // one value: mid-scale
  const [lo, hi] = theme === "dark" ? [0.22, 1] : [0, 0.86];
  const at = (t) => viridis(lo + (hi - lo) * t);
  const steps = 8;
  const stops = Array.from({ length: steps + 1 }, (_, i) => [i / steps, at(i / steps)]);
  const value = (v) => {
    const t = (v - cmin) / (cmax - cmin);
    return goal === "minimize" ? 1 - t : t;
  };
  // Plotly maps cmin → the first stop: for minimize the scale runs better → worse.
  const colorscale = goal === "minimize" ? stops.map(([t], i) => [t, stops[steps - i][1]]) : stops;
  return {
    cmin, cmax, colorscale,
    value,
    color: (v) => (v === null || v === undefined || !Number.isFinite(v) ? ROLE.none : at(value(v))),
  };
}
