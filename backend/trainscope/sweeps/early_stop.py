"""The median stopping rule over metric series: pure functions, no database.

Golovin et al., "Google Vizier" (2017): stop a trial whose best objective so far is worse than
the median of the other trials' best objectives up to the same step. Comparing bests, not the
latest values, keeps one noisy validation from stopping a trial that was doing well.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Goal = Literal["minimize", "maximize"]


@dataclass(frozen=True, slots=True)
class Series:
    """One trial's target metric: (iteration, value) pairs in iteration order."""

    iterations: Sequence[int]
    values: Sequence[float]

    def best_until(self, iteration: int, goal: Goal) -> float | None:
        """The best finite value at or before `iteration`; None when there is none."""
        finite = [
            v
            for i, v in zip(self.iterations, self.values, strict=True)
            if i <= iteration and math.isfinite(v)
        ]
        if not finite:
            return None
        return min(finite) if goal == "minimize" else max(finite)

    @property
    def last_iteration(self) -> int:
        return self.iterations[-1] if self.iterations else 0


@dataclass(frozen=True, slots=True)
class StopDecision:
    iteration: int
    best: float | None  # None: no finite value at all (worse than any)
    median: float
    others: int

    def reason(self, metric: str) -> str:
        shown = "no finite value" if self.best is None else f"best {metric} {self.best:.4g}"
        return (
            f"early-stopped at iteration {self.iteration} by the median stopping rule: {shown}, "
            f"worse than the median {self.median:.4g} of {self.others} other trials' best at the "
            "same iteration"
        )


def median_stop(
    trial: Series,
    others: Sequence[Series],
    *,
    goal: Goal,
    max_iterations: int,
    grace_fraction: float,
    min_trials: int,
) -> StopDecision | None:
    """Whether to stop `trial` now; None: let it go on.

    `others` are the sweep's other trials (finished or still running); only those that have got
    as far as `trial` count, each with its best value up to that iteration."""
    t = trial.last_iteration
    if t == 0 or t < grace_fraction * max_iterations or t >= max_iterations:
        return None
    bests = [
        b for o in others if o.last_iteration >= t and (b := o.best_until(t, goal)) is not None
    ]
    if len(bests) < min_trials:
        return None
    median = statistics.median(bests)
    best = trial.best_until(t, goal)
    worse = best is None or (best > median if goal == "minimize" else best < median)
    if not worse:
        return None
    return StopDecision(iteration=t, best=best, median=median, others=len(bests))
