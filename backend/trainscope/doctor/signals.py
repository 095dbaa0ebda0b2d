"""Robust, vectorised summaries of noisy series that the rules share.

Mini-batch losses are noisy and a long history may arrive min/max downsampled (each bucket's
extremes), so nothing here trusts a single point: levels are medians, noise is a median
absolute deviation, and every window is chosen by iteration, not by row count.
"""

from __future__ import annotations

import math

import numpy as np

from trainscope.doctor.curves import FloatArray, IntArray

MAD_TO_SIGMA = 1.4826  # MAD × this estimates a normal distribution's standard deviation


def robust_trend(y: FloatArray, width: int) -> tuple[FloatArray, FloatArray]:
    """(trend, scale) of `y` at every point.

    Blocks of `width` consecutive points, spread evenly over the series; the trend is the
    blocks' medians, linearly interpolated between block centres (and extrapolated from the two
    outer blocks at the ends, so a steep start is not read as points far above a flat trend);
    the scale is MAD_TO_SIGMA × each block's median absolute residual, interpolated likewise.
    A spike a few points long moves neither. Two medians over n values: no loop per point.
    """
    n = len(y)
    if n == 0:
        return np.empty(0), np.empty(0)
    width = max(1, min(width, n))
    blocks = max(1, -(-n // width))
    starts = np.round(np.linspace(0, n - width, blocks)).astype(np.int64)
    index = starts[:, None] + np.arange(width, dtype=np.int64)[None, :]
    med: FloatArray = np.median(y[index], axis=1)
    centres = (starts + (width - 1) / 2.0).astype(np.float64)
    x = np.arange(n, dtype=np.float64)
    trend = _interp_extrapolated(x, centres, med)
    residual = np.abs(y[index] - trend[index])
    spread: FloatArray = np.median(residual, axis=1)
    scale = MAD_TO_SIGMA * np.interp(x, centres, spread)
    return trend, scale


def _interp_extrapolated(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    out = np.interp(x, xp, fp)
    if len(xp) >= 2:
        lo, hi = x < xp[0], x > xp[-1]
        out[lo] = fp[0] + (x[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
        out[hi] = fp[-1] + (x[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return out


def median3(v: FloatArray) -> FloatArray:
    """Running median of three: one noisy validation cannot make a new minimum or a rise on
    its own. The first value stays as it is; the last is the median of the last three, so the
    latest validation alone never sets the minimum either."""
    if len(v) < 3:
        return v.copy()
    out = v.copy()
    out[1:-1] = np.median(np.stack([v[:-2], v[1:-1], v[2:]]), axis=0)
    out[-1] = np.median(v[-3:])
    return out


def window(iteration: IntArray, lo: float, hi: float) -> slice:
    """Rows whose iteration is in (lo, hi], as a slice (iterations ascend)."""
    a = int(np.searchsorted(iteration, lo, side="right"))
    b = int(np.searchsorted(iteration, hi, side="right"))
    return slice(a, b)


def finite_median(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else math.nan


def count_finite(values: FloatArray) -> int:
    return int(np.count_nonzero(np.isfinite(values)))


def interval_means(
    iteration: IntArray, values: FloatArray, lo: IntArray, hi: IntArray
) -> FloatArray:
    """Mean of the finite `values` over the rows with iteration in (lo[k], hi[k]], for every k
    at once (prefix sums); NaN where an interval holds none."""
    finite = np.isfinite(values)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    a = np.searchsorted(iteration, lo, side="right")
    b = np.searchsorted(iteration, hi, side="right")
    count = ccount[b] - ccount[a]
    total = csum[b] - csum[a]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def relative_noise(v: FloatArray) -> float:
    """The relative noise of a positive series: the robust standard deviation of log v around
    its local trend, from second differences (a straight trend cancels out of them, so a
    falling validation loss is not mistaken for a noisy one); 0 for fewer than 4 values."""
    pos = v[np.isfinite(v) & (v > 0)]
    if len(pos) < 4:
        return 0.0
    y = np.log(pos)
    d2 = y[2:] - 2 * y[1:-1] + y[:-2]  # noise σ gives second differences of σ·√6
    return float(MAD_TO_SIGMA * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6.0))


def log_positive(values: FloatArray, floor: float = 1e-12) -> FloatArray:
    return np.log(np.maximum(values, floor))


def slope(x: FloatArray, y: FloatArray) -> float:
    """Least-squares slope of y on x; 0 with fewer than two distinct x."""
    if len(x) < 2:
        return 0.0
    xc = x - x.mean()
    denom = float(np.dot(xc, xc))
    return float(np.dot(xc, y - y.mean()) / denom) if denom > 0 else 0.0
