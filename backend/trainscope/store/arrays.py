"""`PointArrays`: a run's points as numpy columns, the form chunks are encoded from, decoded
into, merged, sliced and downsampled in.

A metric that is present in every row is dense (`rows is None`); one that is not (`val_loss`
every 50 iterations, `test_loss` once) keeps the sorted indices of the rows that have it.
Absent is not NaN: a NaN is a value (the loss of a diverged run) and must survive as one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

import numpy as np
from numpy.typing import NDArray

from trainscope.schemas.events import Point

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MetricArray:
    rows: IntArray | None  # sorted row indices where present; None: present in every row
    values: FloatArray

    def at(self, n: int) -> tuple[IntArray, FloatArray]:
        """(rows, values) with the rows spelled out even when dense."""
        rows = np.arange(n, dtype=np.int64) if self.rows is None else self.rows
        return rows, self.values


def _dense_columns(dicts: list[dict[str, float]], keys: list[str]) -> dict[str, MetricArray]:
    """One column per key, every dict holding every key (a KeyError says one does not).
    `np.fromiter` over an itemgetter reads the values without a Python list in between:
    about half the time of `np.array([d[k] for d in dicts])` per column."""
    n = len(dicts)
    return {
        k: MetricArray(None, np.fromiter(map(itemgetter(k), dicts), dtype=np.float64, count=n))
        for k in keys
    }


@dataclass(frozen=True, slots=True)
class PointArrays:
    seq: IntArray
    iteration: IntArray
    epoch: IntArray
    wall_time: FloatArray
    metrics: dict[str, MetricArray]

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> PointArrays:
        ints = np.empty(0, dtype=np.int64)
        return cls(ints, ints, ints, np.empty(0, dtype=np.float64), {})

    @classmethod
    def from_points(cls, points: list[Point]) -> PointArrays:
        """Columns from the worker's events. This is the ingest hot path (one Python pass per
        column, not per value), so the common layout — the same per-iteration metrics in every
        point plus a few sparse ones — costs a handful of list comprehensions."""
        n = len(points)
        dicts = [p.values for p in points]
        # Guess the dense metrics from the smallest dict (per-iteration points have only
        # those); a KeyError proves the guess wrong and costs one Counter pass instead.
        sizes = np.fromiter(map(len, dicts), dtype=np.intp, count=n)
        try:
            # argmin: the first of the smallest, as list.index(min(...)) would pick.
            metrics = _dense_columns(dicts, list(dicts[int(sizes.argmin())]) if n else [])
        except KeyError:
            counts = Counter(chain.from_iterable(dicts))
            metrics = _dense_columns(dicts, [k for k, c in counts.items() if c == n])
        n_dense = len(metrics)
        # Rows holding more than the dense metrics hold the sparse ones; usually a few.
        extra: list[int] = np.flatnonzero(sizes != n_dense).tolist()
        if extra:
            sparse_rows: dict[str, list[int]] = {}
            sparse_values: dict[str, list[float]] = {}
            for i in extra:
                for k, v in dicts[i].items():
                    if k not in metrics:
                        sparse_rows.setdefault(k, []).append(i)
                        sparse_values.setdefault(k, []).append(v)
            for k in sorted(sparse_rows):
                metrics[k] = MetricArray(
                    np.array(sparse_rows[k], dtype=np.int64),
                    np.array(sparse_values[k], dtype=np.float64),
                )
        # List comprehensions here: for attributes they beat fromiter/attrgetter (measured).
        return cls(
            np.array([p.seq for p in points], dtype=np.int64),
            np.array([p.iteration for p in points], dtype=np.int64),
            np.array([p.epoch for p in points], dtype=np.int64),
            np.array([p.wall_time for p in points], dtype=np.float64),
            metrics,
        )

    @classmethod
    def concat(cls, parts: list[PointArrays]) -> PointArrays:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        names: dict[str, None] = {}  # ordered union of metric names
        for p in parts:
            names.update(dict.fromkeys(p.metrics))
        metrics: dict[str, MetricArray] = {}
        for name in names:
            cols = [p.metrics.get(name) for p in parts]
            if all(c is not None and c.rows is None for c in cols):
                values = np.concatenate([c.values for c in cols if c is not None])
                metrics[name] = MetricArray(None, values)
                continue
            rows: list[IntArray] = []
            vals: list[FloatArray] = []
            offset = 0
            for p, c in zip(parts, cols, strict=True):
                if c is not None:
                    r, v = c.at(len(p))
                    rows.append(r + offset)
                    vals.append(v)
                offset += len(p)
            metrics[name] = MetricArray(np.concatenate(rows), np.concatenate(vals))
        return cls(
            np.concatenate([p.seq for p in parts]),
            np.concatenate([p.iteration for p in parts]),
            np.concatenate([p.epoch for p in parts]),
            np.concatenate([p.wall_time for p in parts]),
            metrics,
        )

    def sorted_by_seq(self) -> PointArrays:
        """Chunks are kept in seq order, so this is a check; it only sorts (stably) when a
        database written by something else holds chunks whose seq ranges interleave."""
        if len(self) < 2 or bool(np.all(self.seq[1:] > self.seq[:-1])):
            return self
        return self.take(np.argsort(self.seq, kind="stable"), sorted_rows=False)

    def slice(self, start: int, stop: int) -> PointArrays:
        """Rows [start, stop)."""
        if start <= 0 and stop >= len(self):
            return self
        metrics: dict[str, MetricArray] = {}
        for name, m in self.metrics.items():
            if m.rows is None:
                metrics[name] = MetricArray(None, m.values[start:stop])
                continue
            lo, hi = np.searchsorted(m.rows, [start, stop])
            if hi > lo:
                metrics[name] = MetricArray(m.rows[lo:hi] - start, m.values[lo:hi])
        return PointArrays(
            self.seq[start:stop],
            self.iteration[start:stop],
            self.epoch[start:stop],
            self.wall_time[start:stop],
            metrics,
        )

    def take(self, rows: IntArray, *, sorted_rows: bool = True) -> PointArrays:
        """The given rows, in the given order (`sorted_rows`: they are ascending, which lets a
        sparse metric be looked up with one searchsorted)."""
        metrics: dict[str, MetricArray] = {}
        for name, m in self.metrics.items():
            if m.rows is None:
                metrics[name] = MetricArray(None, m.values[rows])
                continue
            if len(m.rows) == 0:
                continue
            if sorted_rows:
                pos = np.searchsorted(m.rows, rows)
                pos_clipped = np.minimum(pos, len(m.rows) - 1)
                hit = (pos < len(m.rows)) & (m.rows[pos_clipped] == rows)
                if hit.any():
                    metrics[name] = MetricArray(
                        np.flatnonzero(hit).astype(np.int64), m.values[pos_clipped[hit]]
                    )
                continue
            # Arbitrary order: scatter presence into a full-length map first.
            where = np.full(len(self), -1, dtype=np.int64)
            where[m.rows] = np.arange(len(m.rows), dtype=np.int64)
            src = where[rows]
            hit = src >= 0
            if hit.any():
                metrics[name] = MetricArray(
                    np.flatnonzero(hit).astype(np.int64), m.values[src[hit]]
                )
        return PointArrays(
            self.seq[rows],
            self.iteration[rows],
            self.epoch[rows],
            self.wall_time[rows],
            metrics,
        )
