// Formatting helpers shared by the views. Pure functions, no DOM.

import { FINAL_STATUSES } from "./contract.js";

export const FINAL = FINAL_STATUSES;

/** A JSON metric value → number; null/undefined stay null ("absent in that point"). */
export function toNum(v) {
  if (v === null || v === undefined) return null;
  return typeof v === "number" ? v : Number(v); // "NaN", "Infinity", "-Infinity"
}

export function runLabel(run) {
  return run && run.name ? run.name : `run ${run ? run.id : "?"}`;
}

export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined || v === "") return "—";
  const n = toNum(v);
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "−∞";
  if (Number.isInteger(n) && Math.abs(n) < 1e7) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(2);
  return String(Number(n.toPrecision(digits)));
}

export function fmtPct(v) {
  const n = toNum(v);
  if (n === null) return "—";
  if (!Number.isFinite(n)) return fmtNum(n);
  return `${(n * 100).toFixed(1)}%`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m ${String(r).padStart(2, "0")}s`;
  if (m) return `${m}m ${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

export function fmtDate(unix) {
  if (!unix) return "—";
  return new Date(unix * 1000).toLocaleString();
}

const REASONS = {
  "max-epochs": "reached max epochs",
  "validation-patience": "validation patience",
  "loss-exploded": "the loss exploded (end of the LR range test)",
  "range-end": "reached the end of the learn-rate range",
};
export function fmtReason(run) {
  if (!run) return "";
  if (run.finish_reason) return REASONS[run.finish_reason] || run.finish_reason;
  if (run.status === "diverged") return "loss became non-finite";
  if (run.status === "stopped") return "stopped by request";
  if (run.status === "interrupted") return "worker died or server restarted";
  return "";
}

/** Flatten a nested object to dotted paths: {a: {b: 1}} → {"a.b": 1}. Arrays stay values. */
export function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, path, out);
    else out[path] = v;
  }
  return out;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v) || typeof v === "object") return JSON.stringify(v);
  if (typeof v === "number") return fmtNum(v, 6);
  return String(v);
}

/** Element builder: h("div", {class: "x", dataset: {...}}, children...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const METRIC_WORDS = {
  val_accuracy: "val accuracy", val_loss: "val loss", val_rmse: "val RMSE",
  train_accuracy: "train accuracy", train_loss: "train loss", train_rmse: "train RMSE",
  test_accuracy: "test accuracy", test_loss: "test loss", test_rmse: "test RMSE",
  learn_rate: "learn rate", grad_norm: "gradient norm",
};

/** val_accuracy → "val accuracy". */
export function metricLabel(name) {
  return METRIC_WORDS[name] || String(name || "").replaceAll("_", " ");
}

/** A metric's value as people read it: an accuracy in %, anything else a number. */
export function fmtMetric(name, v) {
  return String(name || "").includes("accuracy") ? fmtPct(v) : fmtNum(v, 4);
}

/** A hex colour (#rrggbb) at opacity `a`, for fills. */
export function withAlpha(hex, a) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${a})`;
}
