"""Learning-rate schedules as pure functions of the position in training (nanoGPT style).

`learn_rate_at` is everything but `plateau`, whose drops depend on the validation history and
are carried by `PlateauState` in the loop (and in checkpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainscope.schemas.options import TrainingOptions


def warmup_iterations(options: TrainingOptions, iterations_per_epoch: int) -> int:
    return round(options.warmup_epochs * iterations_per_epoch)


def learn_rate_at(
    options: TrainingOptions,
    iteration: int,
    epoch: int,
    iterations_per_epoch: int,
    max_iterations: int,
) -> float:
    """The learn rate used for `iteration` (1-based) in `epoch` (1-based).

    - piecewise: initial × drop_factor^floor((epoch − 1) / drop_period), at epoch boundaries
      (MATLAB's definition);
    - exponential: initial × drop_factor^((epoch − 1) / drop_period), at epoch boundaries, so it
      meets piecewise at every drop and decays smoothly in between;
    - cosine / linear: from initial towards 0 over the iterations after warm-up, every iteration;
    - inverse-sqrt: initial / sqrt(1 + t / iterations_per_epoch), every iteration;
    - warm-up (any schedule): linear ramp from initial / W to initial over the first W iterations.
    """
    base = options.learn_rate
    schedule = options.learn_rate_schedule
    warmup = warmup_iterations(options, iterations_per_epoch)
    # t counts iterations after warm-up, from 0, so a smooth schedule starts at `initial`.
    t = max(0, iteration - warmup - 1)
    decay_span = max(1, max_iterations - warmup)

    if schedule == "piecewise":
        lr = base * options.learn_rate_drop_factor ** (
            (epoch - 1) // options.learn_rate_drop_period
        )
    elif schedule == "exponential":
        lr = base * options.learn_rate_drop_factor ** ((epoch - 1) / options.learn_rate_drop_period)
    elif schedule == "cosine":
        lr = 0.5 * base * (1.0 + math.cos(math.pi * t / decay_span))
    elif schedule == "linear":
        lr = base * (1.0 - t / decay_span)
    elif schedule == "inverse-sqrt":
        lr = base / math.sqrt(1.0 + t / iterations_per_epoch)
    else:  # none, plateau (plateau's drops are applied by the loop through PlateauState)
        lr = base

    if iteration <= warmup:
        lr *= iteration / warmup
    return lr


@dataclass
class PlateauState:
    """Drops the learn rate by drop_factor after drop_period validations with no new best loss."""

    scale: float = 1.0
    stale_validations: int = 0

    def update(self, options: TrainingOptions, improved: bool) -> None:
        if options.learn_rate_schedule != "plateau":
            return
        if improved:
            self.stale_validations = 0
            return
        self.stale_validations += 1
        if self.stale_validations >= options.learn_rate_drop_period:
            self.scale *= options.learn_rate_drop_factor
            self.stale_validations = 0
