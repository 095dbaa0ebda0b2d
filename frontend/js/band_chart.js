// A group's curves as bands: per metric, the members' mean as a line and, around it, ±1 std or
// the min–max envelope as a shaded area (GET /api/groups/{name} computes both).

import { toNum, withAlpha } from "./format.js";
import { BASE_CONFIG, themed } from "./plot_base.js";

export const BAND_MODES = { std: "±1 std", range: "min–max" };

/** One band body ({iteration, mean, std, min, max, n}) → {x, mean, lo, hi, n}, points with a
 *  mean only, scaled by `scale` (an accuracy drawn in %). */
export function bandSeries(band, mode = "std", scale = 1) {
  const out = { x: [], mean: [], lo: [], hi: [], n: [] };
  if (!band) return out;
  for (let i = 0; i < band.iteration.length; i++) {
    const m = toNum(band.mean[i]);
    if (m === null || !Number.isFinite(m)) continue;
    let lo, hi;
    if (mode === "range") {
      lo = toNum(band.min[i]); hi = toNum(band.max[i]);
    } else {
      const s = toNum(band.std[i]) ?? 0;
      lo = m - s; hi = m + s;
    }
    out.x.push(band.iteration[i]);
    out.mean.push(m * scale);
    out.lo.push((Number.isFinite(lo) ? lo : m) * scale);
    out.hi.push((Number.isFinite(hi) ? hi : m) * scale);
    out.n.push(band.n[i]);
  }
  return out;
}

/**
 * series: [{key, label, color, band, dash?}] drawn on one chart, each as a shaded band (trace
 * name "<label> <mode>") under its mean line (trace name "<label> mean").
 */
export function drawBands(el, series, { mode = "std", scale = 1, yTitle = "", height = 300, uirevision = "group", logY = false } = {}) {
  const traces = [];
  const pct = scale === 100;
  for (const s of series) {
    const d = bandSeries(s.band, mode, scale);
    if (!d.x.length) continue;
    // The lower edge first (invisible), then the upper edge filled down to it.
    traces.push({ type: "scatter", mode: "lines", x: d.x, y: d.lo, name: `${s.label} lower`,
      legendgroup: s.key, showlegend: false, hoverinfo: "skip", line: { width: 0, color: s.color } });
    traces.push({ type: "scatter", mode: "lines", x: d.x, y: d.hi, name: `${s.label} ${BAND_MODES[mode]}`,
      legendgroup: s.key, showlegend: false, hoverinfo: "skip", fill: "tonexty",
      fillcolor: withAlpha(s.color, 0.2), line: { width: 0, color: s.color } });
    traces.push({ type: "scatter", mode: d.x.length < 60 ? "lines+markers" : "lines", x: d.x, y: d.mean,
      name: `${s.label} mean`, legendgroup: s.key, customdata: d.lo.map((lo, i) => [lo, d.hi[i], d.n[i]]),
      line: { color: s.color, width: 2, dash: s.dash || "solid" }, marker: { size: 4, color: s.color },
      hovertemplate: `${s.label} mean %{y:.4g}${pct ? "%" : ""} · ${BAND_MODES[mode]} %{customdata[0]:.4g} to %{customdata[1]:.4g} · %{customdata[2]} runs<extra>it. %{x}</extra>` });
  }
  Plotly.react(el, traces, themed({
    height, uirevision, hovermode: "closest", margin: { l: 60, r: 16, t: 28, b: 42 },
    legend: { orientation: "h", y: 1.12, x: 0 },
    xaxis: { title: { text: "Iteration" } },
    yaxis: { title: { text: yTitle }, type: logY ? "log" : "linear" },
  }), BASE_CONFIG);
}
