"""Which points to draw when a run has more than the chart can show.

Each metric's values (in seq order) are cut into equal-count buckets and the minimum and the
maximum of every bucket are kept, so a one-iteration loss spike is never averaged away; every
non-finite value is kept too, because a NaN is the point that explains a diverged run. The rows
chosen for any metric are returned with all their values, plus the first and the last point.

The budget (`max_points` − 2 for the ends) is shared between the metrics present, smallest
first: a sparse metric that fits its share (validation every 50 iterations) is kept whole and
leaves the rest of its share to the dense ones. Every metric takes at most its share, so at most
`max_points` rows come back, plus the rows with non-finite values.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trainscope.store.arrays import FloatArray, IntArray, PointArrays


def select_rows(points: PointArrays, max_points: int) -> IntArray:
    """Sorted row indices of the points to keep (all of them when they fit)."""
    n = len(points)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    keep: list[IntArray] = [np.array([0, n - 1], dtype=np.int64)]
    remaining = max(0, max_points - 2)
    by_size = sorted(points.metrics.items(), key=lambda item: len(item[1].values))
    for left, (_, metric) in zip(range(len(by_size), 0, -1), by_size, strict=True):
        share = remaining // left
        rows, values = metric.at(n)
        finite = np.isfinite(values)
        if not finite.all():
            keep.append(rows[~finite])
        if len(values) <= share:
            keep.append(rows)
            remaining -= len(values)
        elif share >= 2:
            picked = bucket_extremes(values, finite, share // 2)
            keep.append(rows[picked])
            remaining -= len(picked)
    return np.unique(np.concatenate(keep))


def bucket_extremes(values: FloatArray, finite: NDArray[np.bool_], buckets: int) -> IntArray:
    """Indices of the finite minimum and maximum of each of (at most) `buckets` equal-count
    buckets of `values`: a reshape and two argmin/argmax calls, no loop over the points."""
    n = len(values)
    width = -(-n // buckets)
    if finite.all():
        low = high = values  # the common case: no copy at all
    else:
        # Non-finite values are kept separately; here they must not win a bucket's min or max.
        # (A bucket with nothing finite picks one of its non-finite rows, kept anyway.)
        low = np.where(finite, values, np.inf)
        high = np.where(finite, values, -np.inf)
    whole = n // width  # buckets of exactly `width` values: a reshaped view
    end = whole * width
    base = np.arange(whole, dtype=np.int64) * width
    picked = [
        base + low[:end].reshape(whole, width).argmin(axis=1),
        base + high[:end].reshape(whole, width).argmax(axis=1),
    ]
    if end < n:  # the shorter last bucket
        picked.append(np.array([end + low[end:].argmin(), end + high[end:].argmax()]))
    return np.concatenate(picked).astype(np.int64, copy=False)
