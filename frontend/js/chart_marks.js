// What is drawn over the run page's charts as layout shapes and annotations, not traces: the
// alternate-epoch bands and the doctor's finding markers. Layout, because a shape costs nothing
// per point: these change when an epoch starts or the findings change, never per point.

import { SEVERITY, ROLE } from "./palette.js";
import { bandColor, themeColor } from "./plot_base.js";

export const SEVERITIES = ["critical", "warning", "info", "ok"];

/** The severity's colour in the current theme (the CSS variables --sev-critical etc.). */
export function severityColor(severity) {
  const s = SEVERITIES.includes(severity) ? severity : "info";
  return themeColor(`--sev-${s}`, SEVERITY[s]);
}

/**
 * Alternate epochs shaded: [start, end) of every even epoch, in the chart's x units.
 * `charts`: a RunCharts (store, xMode, ipe, size, x(i)).
 */
export function epochBands(charts) {
  const shapes = [];
  const ep = charts.store.epoch;
  const n = ep.length ? ep[ep.length - 1] : 0;
  if (!n || n > 400) return shapes; // hundreds of bands are noise, not help
  const startOf = new Map();
  if (charts.xMode === "time" || !charts.ipe) {
    for (let i = 0; i < ep.length; i++) if (!startOf.has(ep[i])) startOf.set(ep[i], charts.x(i));
  }
  const edge = (e) => { // x where epoch e starts
    if (charts.xMode === "epoch" && charts.ipe) return e - 1;
    if (charts.xMode === "iteration" && charts.ipe) return (e - 1) * charts.ipe;
    return startOf.get(e);
  };
  for (let e = 2; e <= n; e += 2) {
    const x0 = edge(e);
    let x1 = edge(e + 1);
    if (x1 === undefined) x1 = charts.size ? charts.x(charts.size - 1) : x0;
    if (x0 === undefined) continue;
    shapes.push({ type: "rect", xref: "x", yref: "paper", x0, x1, y0: 0, y1: 1,
      fillcolor: bandColor(), line: { width: 0 }, layer: "below" });
  }
  return shapes;
}

/** What identifies a set of markers: redraw only when this changes. */
export function marksKey(findings) {
  return (findings || []).filter((f) => Number.isFinite(f.iteration))
    .map((f) => `${f.code}:${f.severity}:${f.iteration}`).join("|");
}

/**
 * The doctor's findings as markers: a dotted vertical line at each finding's iteration and
 * its code at the top, coloured by severity; hovering the code shows the message.
 * xOf(iteration) → x in the chart's units, or null when the iteration is not on the chart;
 * [x0, x1]: the x extent of the data (codes near its right end are written leftwards).
 */
export function findingMarks(findings, xOf, [x0, x1] = [0, 0]) {
  const shapes = [], annotations = [];
  for (const f of findings || []) {
    if (!Number.isFinite(f.iteration)) continue;
    const x = xOf(f.iteration);
    if (x === null || x === undefined || !Number.isFinite(x)) continue;
    const color = severityColor(f.severity);
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
      line: { color, width: 1.5, dash: "dot" }, layer: "above", name: `finding-${f.code}` });
    const right = x1 > x0 && x > x0 + 0.85 * (x1 - x0);
    annotations.push({ x, xref: "x", y: 1, yref: "paper", xanchor: right ? "right" : "left", yanchor: "top",
      text: f.code, showarrow: false, xshift: right ? -2 : 2, font: { size: 10, color },
      bgcolor: themeColor("--bg-panel", ROLE.panel), opacity: 0.9,
      hovertext: f.message, name: `finding-${f.code}` });
  }
  return { shapes, annotations };
}
