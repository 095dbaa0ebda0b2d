"""lr-decay-too-early: a scheduled learn-rate drop that came while the loss was still falling
steeply, after which it flattened."""

from __future__ import annotations

import math

import numpy as np

from trainscope.doctor.analysis import Analysis
from trainscope.doctor.finding import EvidenceValue, Finding, num, pct, sig
from trainscope.doctor.patches import describe, options_patch
from trainscope.doctor.signals import log_positive, slope, window

# lr-decay-too-early: by the fitted trend, the loss fell at least STILL_FALLING over the w
# iterations before a drop (w: half the distance to the neighbouring drops), and after it at
# most LR_DROP_SLOWDOWN as fast and by less than STILL_FALLING over as long.
STILL_FALLING = 0.10
LR_DROP_SLOWDOWN = 1 / 3


def lr_decay_too_early(a: Analysis) -> Finding | None:
    opts = a.ctx.options
    if opts.learn_rate_schedule not in ("piecewise", "exponential", "plateau"):
        return None
    c = a.curves
    it, loss = a.loss
    lr = c.learn_rate[: len(it)]
    if len(it) < 30:
        return None
    drops = a.lr_drops
    if not len(drops):
        return None
    bounds = [float(a.warmup_iterations), *(float(it[r] - 1) for r in drops), float(it[-1])]
    logs = log_positive(loss)
    for k, row in enumerate(drops):
        d = bounds[k + 1]  # the last iteration at the old learn rate
        w = min(d - bounds[k], bounds[k + 2] - d) / 2
        if w < 10:
            continue
        # Least-squares slopes of the log loss: over the w iterations before the drop, and
        # after it from w/4 on (the step down a drop gives takes a few iterations).
        pre = window(it, d - w, d)
        post = window(it, d + w / 4, d + w)
        if min(pre.stop - pre.start, post.stop - post.start) < 10:
            continue
        x = it.astype(np.float64)
        rate_before = -slope(x[pre], logs[pre])
        rate_after = -slope(x[post], logs[post])
        before = 1 - math.exp(-rate_before * w)  # the fall over w iterations at each rate
        after = 1 - math.exp(-rate_after * w)
        # ... and it must have flattened: a loss still falling by STILL_FALLING after the drop
        # (slower, as a lower rate's steps are) is a schedule doing its job.
        slowed = rate_after <= LR_DROP_SLOWDOWN * rate_before and after < STILL_FALLING
        if before < STILL_FALLING or not slowed:
            continue
        return _too_early(a, int(it[row]), float(lr[row - 1]), float(lr[row]), w, before, after)
    return None


def _too_early(
    a: Analysis,
    iteration: int,
    lr_before: float,
    lr_after: float,
    w: float,
    before: float,
    after: float,
) -> Finding:
    opts = a.ctx.options
    epoch = max(1, math.ceil(a.epoch_at(iteration)))
    epochs_falling = max(1, math.ceil(a.epoch_at(w)))
    period = opts.learn_rate_drop_period
    # For `plateau` the period counts validations without improvement, not epochs.
    plateau = opts.learn_rate_schedule == "plateau"
    new_period = period * 2 if plateau else period + epochs_falling
    patch = options_patch(learn_rate_drop_period=new_period)
    span = round(w)
    message = (
        f"The learn rate dropped {num(lr_before)} → {num(lr_after)} at iteration {iteration} "
        f"(epoch {epoch}) while the training loss was still falling ({pct(before)} over the "
        f"{span} iterations before); after the drop it fell {pct(max(after, 0.0))} over as long."
    )
    evidence: dict[str, EvidenceValue] = {
        "drop_iteration": iteration,
        "drop_epoch": epoch,
        "learn_rate_before": lr_before,
        "learn_rate_after": lr_after,
        "decline_before": sig(before, 4),
        "decline_after": sig(after, 4),
        "window_iterations": span,
        "epochs_still_falling": epochs_falling,
    }
    return Finding(
        "lr-decay-too-early", "info", iteration, message, evidence, patch, describe(opts, patch)
    )
