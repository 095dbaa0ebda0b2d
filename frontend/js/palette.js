// Every colour the charts use, in one place. Pure: the theme's CSS variables override some of
// them at draw time (plot_base.js themeColor), these are the fallbacks and the fixed ones.

/** Plotly's colourway and the colour of the n-th series (a compared run, a layer, a panel). */
export const COLORS = ["#2f6fde", "#e0663a", "#2ca58d", "#a05cd6", "#d64f7d", "#8c7b1f",
  "#1fa1c4", "#6b7a8f", "#c9781b", "#4f9a3a"];

/** The n-th series colour, wrapping around. */
export function seriesColor(n) { return COLORS[((n % COLORS.length) + COLORS.length) % COLORS.length]; }

/** What a colour means on the run page. `val`, `muted` and `panel` are theme variables
 *  (--val, --muted, --bg-panel) with these as fallbacks. */
export const ROLE = {
  accuracy: COLORS[0], // the accuracy / RMSE chart, test samples
  loss: COLORS[1], // the loss charts (run page and LR range test)
  learnRate: COLORS[2],
  nonFinite: "#d62728", // a NaN / Inf marker
  val: "#222",
  muted: "#888",
  label: "#5d6678", // a panel's name on the other-metrics chart
  panel: "rgba(255,255,255,0.8)",
  band: "rgba(120,130,150,0.08)",
  fg: "#1d2330",
  grid: "#e5e8ee",
  border: "#d8dce4",
  none: "#8a93a3", // a trial without a value (the sweep colour scale)
};

/** The doctor's severities (theme variables --sev-<name>). */
export const SEVERITY = { critical: "#d62728", warning: "#c98a00", info: "#2f6fde", ok: "#2ca56b" };

/** The update-ratio chart's healthy band and reference line. */
export const RATIO_GREEN = { fill: "rgba(44, 165, 107, 0.10)", line: "rgba(44, 165, 107, 0.8)",
  text: "rgba(44, 165, 107, 1)" };

