// What every chart shares: Plotly itself (loaded without blocking the page), the theme.

import { COLORS, ROLE } from "./palette.js";

export const BASE_CONFIG = { responsive: true, displaylogo: false, scrollZoom: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };


/*
 * index.html loads the vendored Plotly bundle with `async`, so the app's modules run (and start fetching a
 * run's points) while the browser compiles Plotly's 1.5 MB: the two overlap instead of queueing.
 * Code that draws awaits this promise first.
 */
let ready = null;
export function plotlyReady() {
  if (ready) return ready;
  ready = new Promise((resolve, reject) => {
    if (window.Plotly) { resolve(window.Plotly); return; }
    const tag = document.querySelector("script[data-plotly]");
    if (!tag) { reject(new Error("the Plotly script tag is missing from index.html")); return; }
    tag.addEventListener("load", () => resolve(window.Plotly));
    tag.addEventListener("error", () => reject(new Error(`could not load Plotly (${tag.src})`)));
    // It may have finished between the check above and addEventListener.
    if (window.Plotly) resolve(window.Plotly);
  });
  return ready;
}

/** A CSS variable of the current theme ("" outside a page: the pure modules' tests). */
export function cssVar(name) {
  if (typeof document === "undefined") return "";
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The theme's colour `name` (a CSS variable), else `fallback` (palette.js). */
export function themeColor(name, fallback) { return cssVar(name) || fallback; }

export function bandColor() { return themeColor("--band", ROLE.band); }

export function themeLayout() {
  const fg = themeColor("--fg", ROLE.fg);
  const grid = themeColor("--grid", ROLE.grid);
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: fg },
    colorway: COLORS,
    xaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid },
    yaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid },
  };
}

export function themed(layout) {
  const t = themeLayout();
  return { ...t, ...layout,
    xaxis: { ...t.xaxis, ...(layout.xaxis || {}) },
    yaxis: { ...t.yaxis, ...(layout.yaxis || {}) } };
}

export function rethemeAll(els) {
  const t = themeLayout();
  for (const el of els) {
    if (!el || !el.data) continue;
    Plotly.relayout(el, { paper_bgcolor: t.paper_bgcolor, plot_bgcolor: t.plot_bgcolor,
      font: t.font, "xaxis.gridcolor": t.xaxis.gridcolor, "yaxis.gridcolor": t.yaxis.gridcolor,
      "xaxis.zerolinecolor": t.xaxis.gridcolor, "yaxis.zerolinecolor": t.yaxis.gridcolor,
      "xaxis.linecolor": t.xaxis.gridcolor, "yaxis.linecolor": t.yaxis.gridcolor,
      "shapes": (el.layout.shapes || []).map((s) => ({ ...s, fillcolor: bandColor() })) });
  }
}
