"""What several rules need from one run, computed once per diagnosis and only when asked.

`diagnose` builds one `Analysis` and hands it to every rule; the expensive parts (the robust
trend of the training loss, the spikes on it) are cached properties, so a rule that does not
run costs nothing and two rules that need the same trend share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from trainscope.doctor.context import RunContext
from trainscope.doctor.curves import Curves, FloatArray, IntArray
from trainscope.doctor.signals import log_positive, median3, robust_trend

# A spike: log loss more than SPIKE_SIGMAS robust standard deviations above the trend, at
# least SPIKE_MIN_RATIO × the trend, and higher than it by at least SPIKE_MIN_HEIGHT of the
# starting loss (so that the heavy-tailed noise of an almost-zero loss is not a spike).
SPIKE_SIGMAS = 5.0
SPIKE_MIN_RATIO = 2.0
SPIKE_MIN_HEIGHT = 0.1
# Flagged points closer than this many rows are one spike (a jump that takes a few
# iterations to recover).
SPIKE_MERGE_ROWS = 3
MIN_POINTS_FOR_TREND = 30
NOISE_FLOOR = 0.02  # in log loss: 2 %, below which noise is not worth telling apart
START_ITERATIONS = 10  # the starting loss: the median over the first 10 iterations
LEVEL_WINDOW = 0.06  # a level is the median over this fraction of the iterations seen
LR_DROP_MIN = 2.0  # a learn-rate drop: a fall by at least this factor between two points


@dataclass(frozen=True)
class Spikes:
    """One entry per spike: the iteration of its peak, the loss there and the trend's level."""

    iteration: IntArray
    loss: FloatArray
    trend: FloatArray

    def __len__(self) -> int:
        return len(self.iteration)

    @property
    def ratio(self) -> FloatArray:
        return self.loss / self.trend

    def largest(self) -> int:
        """Index of the spike highest above its trend."""
        return int(np.argmax(self.ratio))


@dataclass(frozen=True)
class Validations:
    """The finite validations: iteration, epoch, loss, its running median of 3, the metric."""

    iteration: IntArray
    epoch: IntArray
    loss: FloatArray
    smooth: FloatArray
    metric: FloatArray

    def __len__(self) -> int:
        return len(self.iteration)


NO_SPIKES = Spikes(np.empty(0, np.int64), np.empty(0), np.empty(0))


def trend_width(n: int) -> int:
    """Block width for the loss trend: ~4 % of the points, between 9 and 51."""
    return int(min(51, max(9, n // 25)))


class Analysis:
    def __init__(self, curves: Curves, ctx: RunContext) -> None:
        self.curves = curves
        self.ctx = ctx

    @cached_property
    def first_nonfinite(self) -> int | None:
        """Row of the first non-finite training loss (the engine stops there)."""
        bad = np.flatnonzero(~np.isfinite(self.curves.train_loss))
        return int(bad[0]) if len(bad) else None

    @cached_property
    def finite_end(self) -> int:
        """Rows [0, finite_end) are the training points before any divergence."""
        first = self.first_nonfinite
        return len(self.curves) if first is None else first

    @property
    def diverged(self) -> bool:
        return self.first_nonfinite is not None or self.ctx.status == "diverged"

    @cached_property
    def loss(self) -> tuple[IntArray, FloatArray]:
        """(iteration, training loss) before any divergence."""
        end = self.finite_end
        return self.curves.iteration[:end], self.curves.train_loss[:end]

    @cached_property
    def trend(self) -> tuple[FloatArray, FloatArray] | None:
        """(trend of the log loss, its robust scale) at each point of `loss`; None when there
        are too few points for a trend."""
        _, loss = self.loss
        if len(loss) < MIN_POINTS_FOR_TREND:
            return None
        y = log_positive(loss)
        trend, scale = robust_trend(y, trend_width(len(y)))
        return trend, np.maximum(scale, NOISE_FLOOR)

    @cached_property
    def start_level(self) -> float:
        """The loss at the start: the median over the first START_ITERATIONS iterations."""
        it, loss = self.loss
        if not len(loss):
            return math.nan
        end = int(np.searchsorted(it, it[0] + START_ITERATIONS - 1, side="right"))
        return float(np.median(loss[: max(1, end)]))

    @cached_property
    def spikes(self) -> Spikes:
        """Sudden jumps of the training loss well above its recent trend."""
        it, loss = self.loss
        fitted = self.trend
        if fitted is None:
            return NO_SPIKES
        trend, scale = fitted
        excess = log_positive(loss) - trend
        level = np.exp(trend)
        flagged = (
            (excess > SPIKE_SIGMAS * scale)
            & (excess > math.log(SPIKE_MIN_RATIO))
            & (loss - level > SPIKE_MIN_HEIGHT * self.start_level)
        )
        # The first half block has no trend behind it, only an extrapolation.
        flagged[: trend_width(len(loss)) // 2] = False
        rows = np.flatnonzero(flagged)
        if not len(rows):
            return NO_SPIKES
        starts = np.concatenate([[0], np.flatnonzero(np.diff(rows) > SPIKE_MERGE_ROWS) + 1])
        ends = [*starts[1:], len(rows)]
        peaks = np.array(
            [rows[a:b][np.argmax(excess[rows[a:b]])] for a, b in zip(starts, ends, strict=True)],
            dtype=np.int64,
        )
        return Spikes(it[peaks], loss[peaks], level[peaks])

    def level_at(self, iteration: float) -> float:
        """The training loss's level around `iteration`: the median over a window of
        LEVEL_WINDOW of the iterations seen, centred there (cut short at the ends)."""
        it, loss = self.loss
        if not len(it):
            return math.nan
        half = max(1.0, LEVEL_WINDOW * float(it[-1] - it[0]) / 2)
        a = int(np.searchsorted(it, iteration - half, side="left"))
        b = int(np.searchsorted(it, iteration + half, side="right"))
        if b - a < 3:  # too sparse there: the nearest points
            row = int(np.clip(np.searchsorted(it, iteration), 0, len(it) - 1))
            a, b = max(0, row - 2), min(len(it), row + 3)
        return float(np.median(loss[a:b]))

    @cached_property
    def end_level(self) -> float:
        """The training loss's level at the end: the median over the last LEVEL_WINDOW of the
        iterations seen."""
        it, loss = self.loss
        if not len(it):
            return math.nan
        a = int(np.searchsorted(it, it[-1] - LEVEL_WINDOW * float(it[-1] - it[0]), side="left"))
        return float(np.median(loss[min(a, len(it) - 3) if len(it) >= 3 else 0 :]))

    def epoch_at(self, iteration: float) -> float:
        """Epochs done at `iteration` (fractional), from iterations_per_epoch or the epochs
        seen."""
        per = self.curves.iterations_per_epoch
        if per:
            return iteration / per
        it, ep = self.curves.iteration, self.curves.epoch
        if not len(it):
            return 0.0
        row = max(0, int(np.searchsorted(it, iteration, side="right")) - 1)
        return float(ep[row])

    @cached_property
    def warmup_iterations(self) -> int:
        per = self.curves.iterations_per_epoch
        if per is None:
            return 0
        return round(self.ctx.options.warmup_epochs * per)

    @cached_property
    def val(self) -> Validations:
        c = self.curves
        keep = np.isfinite(c.val_loss)
        loss = c.val_loss[keep]
        return Validations(
            c.val_iteration[keep], c.val_epoch[keep], loss, median3(loss), c.val_metric[keep]
        )

    @cached_property
    def lr_drops(self) -> IntArray:
        """Rows (before any divergence) whose learn rate is at least LR_DROP_MIN times lower
        than the previous row's: a step schedule's drops, not a smooth decay's."""
        lr = self.curves.learn_rate[: self.finite_end]
        if len(lr) < 2:
            return np.empty(0, dtype=np.int64)
        ok = np.isfinite(lr) & (lr > 0)
        both = ok[:-1] & ok[1:]
        return (np.flatnonzero(both & (lr[1:] * LR_DROP_MIN <= lr[:-1])) + 1).astype(np.int64)
