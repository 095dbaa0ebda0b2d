"""A group's curves summarised: mean ± std and min–max per metric on a common iteration grid,
and a consistency verdict from the spread of the members' final validation metric. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Per member and metric: (iterations, values), iterations increasing.
Curve = tuple[Sequence[int], Sequence[float]]

# Verdict thresholds. An accuracy's spread is read in absolute terms (percentage points), a
# loss's relative to its mean: 0.05 of a loss of 0.1 and of 2.0 are not the same spread.
ACCURACY_STD = (0.01, 0.03)
RELATIVE_STD = (0.05, 0.15)
FINAL_METRICS = ("val_accuracy", "val_rmse", "val_loss")


@dataclass(frozen=True, slots=True)
class Band:
    iteration: list[int]
    mean: list[float | None]
    std: list[float | None]
    min: list[float | None]
    max: list[float | None]
    n: list[int]


def _none_where_nan(a: np.ndarray[Any, Any]) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in a.tolist()]


def band(curves: Sequence[Curve], max_points: int = 1000) -> Band:
    """Members' curves on the union of their iterations (evenly thinned to `max_points`),
    each linearly interpolated between its own points and absent outside its range (a member
    that stopped early does not pull the mean after it stopped). Non-finite values count as
    absent. `std` is the sample standard deviation (ddof 1; 0 with a single member)."""
    cleaned: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
    for its, vals in curves:
        x = np.asarray(its, dtype=np.float64)
        y = np.asarray(vals, dtype=np.float64)
        keep = np.isfinite(y)
        if keep.any():
            cleaned.append((x[keep], y[keep]))
    if not cleaned:
        return Band([], [], [], [], [], [])
    grid = np.unique(np.concatenate([x for x, _ in cleaned]))
    if len(grid) > max_points:
        grid = grid[np.unique(np.linspace(0, len(grid) - 1, max_points).round().astype(int))]
    table = np.full((len(cleaned), len(grid)), np.nan)
    for row, (x, y) in enumerate(cleaned):
        inside = (grid >= x[0]) & (grid <= x[-1])
        table[row, inside] = np.interp(grid[inside], x, y)
    n = np.sum(~np.isnan(table), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(table, axis=0)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        sq = np.nansum((table - mean) ** 2, axis=0)
        std = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)), np.where(n == 1, 0.0, np.nan))
    filled = np.where(np.isnan(table), np.inf, table)
    low = np.where(n > 0, filled.min(axis=0), np.nan)
    high = np.where(n > 0, np.where(np.isnan(table), -np.inf, table).max(axis=0), np.nan)
    return Band(
        iteration=[int(i) for i in grid.tolist()],
        mean=_none_where_nan(mean),
        std=_none_where_nan(std),
        min=_none_where_nan(low),
        max=_none_where_nan(high),
        n=[int(v) for v in n.tolist()],
    )


def bands(members: Mapping[int, Mapping[str, Curve]], max_points: int = 1000) -> dict[str, Band]:
    """One band per metric any member has."""
    metrics = sorted({m for curves in members.values() for m in curves})
    return {m: band([c[m] for c in members.values() if m in c], max_points) for m in metrics}


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # consistent | variable | inconsistent | unknown
    metric: str | None
    message: str
    values: dict[int, float]  # run id → final value
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None


def verdict(finals: Mapping[int, Mapping[str, float]]) -> Verdict:
    """From the members' final metrics (finished members only): the spread of the first of
    val_accuracy, val_rmse, val_loss that at least two of them have."""
    for metric in FINAL_METRICS:
        values = {
            rid: float(f[metric])
            for rid, f in finals.items()
            if isinstance(f.get(metric), (int, float)) and math.isfinite(f[metric])
        }
        if len(values) >= 2:
            return _judge(metric, values)
    return Verdict(
        "unknown",
        None,
        "needs at least two finished members with a final validation metric",
        {},
    )


def _judge(metric: str, values: dict[int, float]) -> Verdict:
    arr = np.array(list(values.values()))
    mean, std = float(arr.mean()), float(arr.std(ddof=1))
    if "accuracy" in metric:
        spread, limits = std, ACCURACY_STD
        said = f"std {100 * std:.2g} percentage points"
    else:
        spread = std / abs(mean) if mean else math.inf
        limits = RELATIVE_STD
        said = f"std {std:.3g}, {100 * spread:.2g}% of the mean"
    kind = (
        "consistent"
        if spread <= limits[0]
        else "variable"
        if spread <= limits[1]
        else "inconsistent"
    )
    message = (
        f"{kind}: final {metric} {mean:.4g} ± {std:.2g} over {len(values)} runs "
        f"({said}; min {arr.min():.4g}, max {arr.max():.4g})"
    )
    return Verdict(kind, metric, message, values, mean, std, float(arr.min()), float(arr.max()))
