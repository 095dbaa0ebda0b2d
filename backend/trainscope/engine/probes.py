"""What a run of each kind trains: the plan the loop follows, from the spec.

A `train` run trains as its options say. The preflight kinds are short probes people run before
tuning (DESIGN §4 options, but trimmed to the question they answer):

- `initial-loss`: one iteration on one mini-batch. The first loss, computed before any update,
  says whether initialisation and labels make sense (about ln C for C balanced classes).
- `overfit-batch`: `OVERFIT_BATCHES` mini-batches, no L2, no validation, `OVERFIT_ITERATIONS`
  iterations. A network that cannot drive training accuracy to ~100 % on 4 mini-batches has a
  bug (labels, output layer, learn rate) that no tuning will fix.
- `lr-range-test`: the learn rate rises exponentially from `start_learn_rate` to
  `end_learn_rate` over `iterations` (Leslie Smith's range test), without validation; the run
  ends when the smoothed loss explodes. The loss against the learn rate shows where learning
  starts and where it breaks; the doctor suggests an initial learn rate from it.

Pure functions of the spec: the loop asks `plan_for(spec)` once and never looks at `kind`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.spec import OVERFIT_BATCHES, OVERFIT_ITERATIONS, LRRangeSpec, RunSpec

# The range test ends once the smoothed loss is this many times its minimum so far (fastai's
# choice): past that point the curve says nothing more, and a diverging run wastes time.
EXPLODE_FACTOR = 4.0
# Smoothing of the range test's loss: a debiased exponential moving average.
EXPLODE_BETA = 0.98


@dataclass(frozen=True)
class Plan:
    """The defaults are a `train` run's: everything as the options say."""

    options: TrainingOptions  # the options in force (trimmed for the probes)
    max_train_samples: int | None = None  # samples used, first of the shuffled order
    iteration_limit: int | None = None  # stop after this many iterations (None: max_epochs)
    validate: bool = True  # validation at all (probes skip it)
    test: bool = True  # test metrics and the confusion matrix at the end
    learn_rate: Callable[[int], float] | None = None  # lr per iteration; None: the schedule
    stop_on_explosion: bool = False  # end `completed`/`loss-exploded`, not `diverged`


def range_learn_rate(settings: LRRangeSpec) -> Callable[[int], float]:
    """lr(i) = start × (end / start)^((i − 1) / (iterations − 1)): start at iteration 1, end at
    the last, the same factor every iteration."""
    start, end, n = settings.start_learn_rate, settings.end_learn_rate, settings.iterations
    ratio = math.log(end / start) / max(1, n - 1)

    def lr(iteration: int) -> float:
        return start * math.exp(ratio * (iteration - 1))

    return lr


def plan_for(spec: RunSpec) -> Plan:
    opts = spec.options
    probe = {
        "learn_rate_schedule": "none",
        "warmup_epochs": 0,
        "validation_patience": math.inf,
        "output_network": "last-iteration",
    }
    batch = opts.mini_batch_size
    if spec.kind == "initial-loss":
        return Plan(
            options=opts.model_copy(update={**probe, "max_epochs": 1}),
            max_train_samples=batch,
            iteration_limit=1,
            validate=False,
            test=False,
        )
    if spec.kind == "overfit-batch":
        # Regularisation fights fitting the batches: off, so a failure means a real problem.
        return Plan(
            options=opts.model_copy(
                update={
                    **probe,
                    "l2_regularization": 0.0,
                    "max_epochs": math.ceil(OVERFIT_ITERATIONS / OVERFIT_BATCHES),
                }
            ),
            max_train_samples=OVERFIT_BATCHES * batch,
            iteration_limit=OVERFIT_ITERATIONS,
            validate=False,
            test=False,
        )
    if spec.kind == "lr-range-test":
        # max_epochs is set from the iterations once the epoch length is known (the loop).
        return Plan(
            options=opts.model_copy(update=probe),
            iteration_limit=spec.lr_range.iterations,
            validate=False,
            test=False,
            learn_rate=range_learn_rate(spec.lr_range),
            stop_on_explosion=True,
        )
    return Plan(options=opts)


class ExplosionWatch:
    """The range test's stop rule: the debiased EMA of the loss passes EXPLODE_FACTOR × its
    minimum, or the loss is not finite."""

    def __init__(self) -> None:
        self._avg = 0.0
        self._n = 0
        self.best = math.inf

    def exploded(self, loss: float) -> bool:
        if not math.isfinite(loss):
            return True
        self._n += 1
        self._avg = EXPLODE_BETA * self._avg + (1 - EXPLODE_BETA) * loss
        smoothed = self._avg / (1 - EXPLODE_BETA**self._n)
        self.best = min(self.best, smoothed)
        # A few iterations in: the first smoothed values are a handful of noisy losses.
        return self._n > 10 and smoothed > EXPLODE_FACTOR * self.best
