"""Rules that judge a run by where it ended up: underfitting (both curves poor and flat) and
still-improving (it ended while the validation loss was still falling)."""

from __future__ import annotations

import math

import numpy as np

from trainscope.doctor.analysis import Analysis
from trainscope.doctor.finding import EvidenceValue, Finding, num, pct, sig
from trainscope.doctor.patches import describe, more_epochs, options_patch
from trainscope.doctor.rules_validation import MIN_VALIDATIONS
from trainscope.doctor.signals import finite_median, relative_noise, slope, window

# underfitting (classification): validation accuracy below POOR_ACCURACY, training accuracy
# within CLOSE_GAP of it; (regression) training loss still above POOR_LOSS_FRACTION of its
# start with validation loss within CLOSE_LOSS of it; and in both the training loss fell less
# than FLAT_DECLINE over the last quarter of the run.
POOR_ACCURACY = 0.6
CLOSE_GAP = 0.05
POOR_LOSS_FRACTION = 0.5
CLOSE_LOSS = 0.2
FLAT_DECLINE = 0.05
MIN_EPOCHS_LIVE = 5
# still-improving: the best (smoothed) validation among the last max(2, 20 %), and the
# validation loss fell by its fitted trend over the last max(5, a third) of the validations by
# at least STILL_FALLING_MIN and two standard errors of that fit.
STILL_FALLING_MIN = 0.02
# A schedule that anneals the learn rate towards 0 makes the last stretch fall by design: then
# the fall must be at least STILL_FALLING_ANNEALED to count.
ANNEALED = 0.2
STILL_FALLING_ANNEALED = 0.10
NEAR_BEST = 0.05  # the latest level within this (or twice the noise) of the best validation


def _recent_decline(a: Analysis) -> float:
    """Relative fall of the training loss from the third quarter of the iterations seen to
    the last (medians over each: a quarter holds enough points to see through the noise)."""
    it, loss = a.loss
    if len(it) < 8:
        return 0.0
    span = float(it[-1] - it[0])
    third = loss[window(it, it[0] + 0.5 * span, it[0] + 0.75 * span)]
    last = loss[window(it, it[0] + 0.75 * span, it[-1])]
    before, after = finite_median(third), finite_median(last)
    return 1 - after / before if before > 0 else 0.0


def underfitting(a: Analysis) -> Finding | None:
    if a.diverged:
        return None
    c, v, opts = a.curves, a.val, a.ctx.options
    it, _ = a.loss
    if len(it) < 30 or len(v) < 3:
        return None
    epochs = a.epoch_at(float(it[-1]))
    if not a.ctx.ended and (epochs < MIN_EPOCHS_LIVE or epochs < 0.5 * opts.max_epochs):
        return None
    decline = _recent_decline(a)
    if decline >= FLAT_DECLINE:
        return None
    evidence: dict[str, EvidenceValue] = {"recent_decline": decline, "epochs": epochs}
    if c.task == "classification":
        va = finite_median(v.metric[-3:])
        tail = it >= it[-1] - 0.1 * (it[-1] - it[0])
        ta = finite_median(c.train_metric[: len(it)][tail])
        if not (va < POOR_ACCURACY and abs(ta - va) < CLOSE_GAP):
            return None
        evidence.update(train_accuracy=ta, val_accuracy=va, threshold=POOR_ACCURACY)
        what = f"Training and validation accuracy are both low and close ({ta:.2f} and {va:.2f})"
    else:
        start, end = a.start_level, a.end_level
        vl = finite_median(v.loss[-3:])
        if not (end >= POOR_LOSS_FRACTION * start and abs(vl - end) <= CLOSE_LOSS * end):
            return None
        evidence.update(train_loss_start=start, train_loss_end=end, val_loss=vl)
        what = (
            f"Training loss is still {pct(end / start)} of where it started ({num(start)} → "
            f"{num(end)}) with validation loss close to it ({num(vl)})"
        )
    values: dict[str, object] = {"max_epochs": more_epochs(opts)}
    if opts.l2_regularization > 0:
        values["l2_regularization"] = sig(opts.l2_regularization / 10)
    patch = options_patch(**values)
    message = (
        f"{what}, and the loss fell only {pct(max(decline, 0.0))} over the last quarter: the "
        "network underfits; a bigger model (more units or layers) is the usual cure, which an "
        "option change cannot make."
    )
    return Finding(
        "underfitting", "warning", int(it[-1]), message, evidence, patch, describe(opts, patch)
    )


def still_improving(a: Analysis) -> Finding | None:
    ctx, v, opts = a.ctx, a.val, a.ctx.options
    if not ctx.ended or ctx.status != "completed" or ctx.finish_reason not in (None, "max-epochs"):
        return None
    n = len(v)
    if n < MIN_VALIDATIONS or not (v.loss > 0).all():
        return None
    if int(np.argmin(v.smooth)) < n - max(2, n // 5):
        return None  # the best validation is not among the last ones
    # Nor already well above its best again (a minimum a few validations back, then a rise):
    # the latest level, a median of three, must be within noise of the best.
    noise = relative_noise(v.loss)
    if float(np.median(v.loss[-3:])) > float(np.min(v.smooth)) * (1 + max(NEAR_BEST, 2 * noise)):
        return None
    k = min(n, max(5, n // 3))
    # The trend is measured after the last learn-rate drop (and the epoch it takes to show):
    # the step down a drop gives is not a sign that more epochs would help.
    # (A drop from an already annealed rate, cosine's or linear's last steps towards 0, is
    # no step down.)
    lr = a.curves.learn_rate
    top = float(np.nanmax(lr)) if np.isfinite(lr).any() else math.nan
    drops = [r for r in a.lr_drops.tolist() if not lr[r - 1] < ANNEALED * top]
    if drops:
        dropped = int(a.curves.iteration[drops[-1]])
        settle = a.curves.iterations_per_epoch or opts.validation_frequency
        k = min(k, int(np.count_nonzero(v.iteration > dropped + settle)))
        if k < MIN_VALIDATIONS:
            return None
    y = np.log(v.loss[-k:])
    decline = 1 - math.exp(slope(np.arange(k, dtype=np.float64), y) * (k - 1))
    # Two standard errors of the fitted change over k validations: noise alone rarely does it.
    needed = max(STILL_FALLING_MIN, 2 * noise * math.sqrt(12 / k))
    annealed = _annealed(a)
    if annealed:
        needed = max(needed, STILL_FALLING_ANNEALED)
    if decline < needed:
        return None
    patch = options_patch(max_epochs=more_epochs(opts))
    first, last = float(v.smooth[-k]), float(v.smooth[-1])
    epoch = int(v.epoch[-1])
    message = (
        f"Validation loss was still falling when the run ended at epoch {epoch}: "
        f"{num(first)} → {num(last)} over the last {k} validations ({pct(decline)} by the "
        "trend), its best at the end."
    )
    evidence: dict[str, EvidenceValue] = {
        "validations": k,
        "val_loss_from": first,
        "val_loss_to": last,
        "decline": decline,
        "needed": needed,
        "noise": noise,
        "annealed": annealed,
        "epoch": epoch,
        "max_epochs": opts.max_epochs,
    }
    return Finding(
        "still-improving",
        "info",
        int(v.iteration[-1]),
        message,
        evidence,
        patch,
        describe(opts, patch),
    )


def _annealed(a: Analysis) -> bool:
    """The learn rate ended below ANNEALED of its peak (cosine, linear, deep drops)."""
    lr = a.curves.learn_rate[: a.finite_end]
    lr = lr[np.isfinite(lr) & (lr > 0)]
    if not len(lr):
        return a.ctx.options.learn_rate_schedule in ("cosine", "linear")
    return bool(lr[-1] < ANNEALED * lr.max())
