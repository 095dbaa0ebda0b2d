// Pure helpers over number series: smoothing and decimation for drawing. No DOM, no Plotly.

// A chart drawn from scratch draws at most this many points per trace (min/max decimated);
// the live path extends a trace until it holds twice as many, then draws it from scratch.
export const DISPLAY_MAX = 5000;

/** Debiased EMA (TensorBoard's): s_t = β s_{t-1} + (1-β) x_t, shown as s_t / (1 - β^t).
 *  Computed forward only, so points already drawn never change when new ones arrive. */
export class Smoother {
  constructor(beta) { this.beta = beta; this.s = 0; this.t = 0; }
  push(x) {
    this.t += 1;
    this.s = this.beta * this.s + (1 - this.beta) * x;
    const debias = 1 - this.beta ** this.t;
    return debias > 0 ? this.s / debias : x;
  }
}

/** Push the indices of the minimum and the maximum of each of `buckets` equal runs of
 *  y[lo..hi) onto `out`, in index order. */
function minMaxRuns(y, lo, hi, buckets, out) {
  const n = hi - lo;
  if (n <= 0) return;
  if (n <= 2 * buckets) { for (let i = lo; i < hi; i++) out.push(i); return; }
  const size = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const s = lo + Math.floor(b * size);
    const e = Math.min(hi, lo + Math.floor((b + 1) * size));
    if (e <= s) continue;
    let iMin = s, iMax = s;
    for (let i = s + 1; i < e; i++) {
      if (y[i] < y[iMin]) iMin = i;
      if (y[i] > y[iMax]) iMax = i;
    }
    if (iMin === iMax) out.push(iMin);
    else if (iMin < iMax) out.push(iMin, iMax);
    else out.push(iMax, iMin);
  }
}

/**
 * Indices of `y` to draw when it has more than `budget` values: the minimum and the maximum of
 * each of budget/2 equal runs of indices (in index order), plus the first and last index. A
 * spike stays a spike and the envelope of a noisy curve keeps its width; what goes is what a
 * screen of ~1000 pixels could not show anyway. `keep` = [k0, k1): indices kept whole (the
 * window someone zoomed into) when they fit in half the budget; the rest shares the other
 * half. Returns null when every index fits.
 */
export function minMaxIndices(y, budget, keep = null) {
  const n = y.length;
  if (n <= budget) return null;
  const out = [0];
  let [k0, k1] = keep || [0, 0];
  if (k1 - k0 > budget / 2) { k0 = 0; k1 = 0; }
  const rest = n - (k1 - k0);
  const buckets = Math.max(1, Math.floor((budget - (k1 - k0)) / 2));
  const before = Math.round(buckets * (k0 / Math.max(1, rest)));
  minMaxRuns(y, 1, k0, Math.max(1, before), out);
  for (let i = Math.max(1, k0); i < k1; i++) out.push(i);
  minMaxRuns(y, Math.max(1, k1), n, Math.max(1, buckets - before), out);
  if (out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

/** arr at `idx` (or arr itself when idx is null). */
export function pick(arr, idx) { return idx ? idx.map((i) => arr[i]) : arr; }

/** First index whose value is >= v in an ascending array (binary search). */
export function lowerBound(arr, v) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
  return lo;
}

/**
 * x/y of a value column's finite values over rows [start, end): x = xOf(i), y = v × scale.
 * Absent values (null) are skipped, and so are rows whose x is not a finite number; a
 * non-finite value (NaN, ±Infinity, or its JSON string) goes to onBad(i, v) when given.
 * The one loop every chart uses to turn a metric into a trace.
 */
export function finiteXY(arr, xOf, { start = 0, end = arr ? arr.length : 0, scale = 1, onBad = null } = {}) {
  const x = [], y = [];
  if (!arr) return { x, y };
  for (let i = start; i < end; i++) {
    const raw = arr[i];
    if (raw === null || raw === undefined) continue;
    const v = typeof raw === "number" ? raw : Number(raw);
    if (!Number.isFinite(v)) { onBad?.(i, v); continue; }
    const xi = xOf(i);
    if (xi === null || xi === undefined || !Number.isFinite(xi)) continue;
    x.push(xi); y.push(v * scale);
  }
  return { x, y };
}

/** "NaN", "Infinity" or "-Infinity": how a non-finite value is named to a person. */
export function nonFiniteWord(v) {
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}
