// Pure helpers over number series: smoothing and decimation for drawing. No DOM, no Plotly.

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

/**
 * Indices of `y` to draw when it has more than `budget` values: the minimum and the maximum of
 * each of budget/2 equal runs of indices (in index order), plus the last index. A spike stays a
 * spike and the envelope of a noisy curve keeps its width; what goes is what a screen of ~1000
 * pixels could not show anyway. Returns null when every index fits.
 */
export function minMaxIndices(y, budget) {
  const n = y.length;
  if (n <= budget) return null;
  const buckets = Math.max(1, Math.floor(budget / 2));
  const size = n / buckets;
  const keep = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(n, Math.floor((b + 1) * size));
    if (hi <= lo) continue;
    let iMin = lo, iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      if (y[i] < y[iMin]) iMin = i;
      if (y[i] > y[iMax]) iMax = i;
    }
    if (iMin === iMax) keep.push(iMin);
    else if (iMin < iMax) keep.push(iMin, iMax);
    else keep.push(iMax, iMin);
  }
  if (keep[keep.length - 1] !== n - 1) keep.push(n - 1);
  return keep;
}

/** arr at `idx` (or arr itself when idx is null). */
export function pick(arr, idx) { return idx ? idx.map((i) => arr[i]) : arr; }

/** First index whose value is >= v in an ascending array (binary search). */
export function lowerBound(arr, v) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
  return lo;
}
