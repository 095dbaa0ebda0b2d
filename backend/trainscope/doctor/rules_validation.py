"""Rules on validation against training: overfitting and plateau.

Validation losses are compared through their running median of three (`Validations.smooth`),
so one lucky or unlucky validation neither makes a minimum nor a rise; the training side is
the training loss's level there (`Analysis.level_at`: a median over 6 % of the iterations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trainscope.doctor.analysis import Analysis
from trainscope.doctor.finding import EvidenceValue, Finding, Severity, num, pct, sig
from trainscope.doctor.patches import describe, options_patch
from trainscope.doctor.signals import interval_means, relative_noise, slope

MIN_VALIDATIONS = 5
# overfitting: validation loss at least OVERFIT_RISE above its minimum (median of the last
# three validations), at least OVERFIT_AFTER validations after it, while the training loss
# fell by at least TRAIN_STILL_FALLING since; or a train−val accuracy gap above OVERFIT_GAP
# averaged over the last GAP_VALIDATIONS validations.
OVERFIT_RISE = 0.10
OVERFIT_AFTER = 3
TRAIN_STILL_FALLING = 0.05
OVERFIT_GAP = 0.10
GAP_VALIDATIONS = 3
# memorised: training accuracy at least MEMORISED_ACCURACY (the training set learnt by heart)
# and validation accuracy MEMORISED_GAP or more below it: a smaller gap than OVERFIT_GAP
# counts, because the training side has nowhere left to go while validation stays behind.
MEMORISED_ACCURACY = 0.995
MEMORISED_GAP = 0.05
PATIENCE = 5
# widening gap: over the last 1/WIDENING_SPAN of the validations (at least MIN_VALIDATIONS + 1)
# the validation loss did not fall (by plateau's test) while the training loss fell by at least
# WIDENING_TRAIN_FALL, ending WIDENING_RATIO or more times below the validation loss.
WIDENING_SPAN = 3
WIDENING_TRAIN_FALL = 0.3
WIDENING_RATIO = 1.5
# plateau: the best validation loss so far was already within max(PLATEAU_TOLERANCE, 2 × the
# validation noise) of today's level PLATEAU_MIN validations ago and PLATEAU_FRACTION of all
# validations ago, and the fitted trend since is flat; a learn rate that moved less than
# CONSTANT_LR over that span counts as constant.
PLATEAU_TOLERANCE = 0.03
PLATEAU_MIN = 5
PLATEAU_FRACTION = 0.3
PLATEAU_LONG = 0.5  # a plateau this long is a warning
PLATEAU_PROGRESS = 0.1  # the validation loss is now this much below the starting loss
CONSTANT_LR = 1.05


@dataclass(frozen=True)
class Rise:
    best: int  # index of the smoothed minimum
    best_raw: int  # index of the raw minimum (the network best-validation-loss keeps)
    rise: float  # median of the last three validations / smoothed minimum − 1
    now: float  # the median of the last three validations
    train_at_best: float
    train_end: float

    @property
    def train_falling(self) -> bool:
        return self.train_end <= (1 - TRAIN_STILL_FALLING) * self.train_at_best

    @property
    def overfitting(self) -> bool:
        # Rising while the training loss kept falling; or, with the training loss flat (not
        # rising: that would be instability), rising far above a training loss it is already
        # WIDENING_RATIO × — the network sharpens what it has learnt and loses the task.
        flat_low = (
            self.train_end <= (1 + TRAIN_STILL_FALLING) * self.train_at_best
            and self.now >= WIDENING_RATIO * self.train_end
        )
        return self.rise >= OVERFIT_RISE and (self.train_falling or flat_low)


def val_rise(a: Analysis) -> Rise | None:
    v = a.val
    n = len(v)
    if n < MIN_VALIDATIONS:
        return None
    best = int(np.argmin(v.smooth))
    if n - 1 - best < OVERFIT_AFTER:
        return None
    last = float(np.median(v.loss[-3:]))
    rise = last / float(v.smooth[best]) - 1 if v.smooth[best] > 0 else 0.0
    best_raw = int(np.argmin(v.loss[: best + 2]))  # the raw minimum around the smoothed one
    train_at_best = a.level_at(float(v.iteration[best]))
    return Rise(best, best_raw, rise, last, train_at_best, a.end_level)


@dataclass(frozen=True)
class Widening:
    """Validation loss flat (or up) over the last validations while the training loss kept
    falling far below it: the gap between them widens, the network fits the training set and
    no longer the task."""

    first: int  # index of the span's first validation
    val_fall: float  # validation loss's fall over the span by its fitted trend (< 0: a rise)
    train_from: float
    train_to: float
    now: float  # the median of the last three validations


def widening_gap(a: Analysis) -> Widening | None:
    v = a.val
    n = len(v)
    if n < 2 * MIN_VALIDATIONS:
        return None
    first = n - max(MIN_VALIDATIONS + 1, n // WIDENING_SPAN)
    # Or since the validation loss stopped improving, when that is longer ago.
    first = min(first, stale_since(a)[0])
    span = np.log(v.loss[first:])
    m = len(span)
    fall = 1 - math.exp(slope(np.arange(m, dtype=np.float64), span) * (m - 1))
    noise = relative_noise(v.loss)
    if fall > max(PLATEAU_TOLERANCE, 2 * noise * math.sqrt(12 / m)):
        return None  # still falling
    train_from = a.level_at(float(v.iteration[first]))
    train_to = a.end_level
    now = float(np.median(v.loss[-3:]))
    if not (
        train_to <= (1 - WIDENING_TRAIN_FALL) * train_from and now >= WIDENING_RATIO * train_to
    ):
        return None
    return Widening(first, fall, train_from, train_to, now)


def accuracy_gaps(a: Analysis) -> np.ndarray:
    """Smoothed training accuracy minus validation accuracy at each validation: the training
    accuracy is the mean over the iterations since the previous validation."""
    v, c = a.val, a.curves
    if c.task != "classification" or not len(v):
        return np.empty(0)
    hi = v.iteration
    lo = np.concatenate([[0], hi[:-1]])
    end = a.finite_end
    train = interval_means(c.iteration[:end], c.train_metric[:end], lo, hi)
    return np.asarray(train - v.metric)


def recent_gap(a: Analysis) -> tuple[float, bool]:
    """(the mean train−val accuracy gap over the last validations, whether it counts as
    overfitting: above OVERFIT_GAP, or above MEMORISED_GAP with the training set memorised)."""
    v = a.val
    gaps = accuracy_gaps(a)
    recent = gaps[-GAP_VALIDATIONS:]
    enough = len(gaps) >= MIN_VALIDATIONS and bool(np.isfinite(recent).all())
    if not enough:
        return math.nan, False
    gap = float(np.mean(recent))
    train_acc = float(np.mean(v.metric[-GAP_VALIDATIONS:])) + gap
    memorised = train_acc >= MEMORISED_ACCURACY and gap >= MEMORISED_GAP
    return gap, bool(gap > OVERFIT_GAP or memorised)


def overfitting(a: Analysis) -> Finding | None:
    if a.diverged:
        return None
    v, opts = a.val, a.ctx.options
    r = val_rise(a)
    by_loss = r is not None and r.overfitting
    gaps = accuracy_gaps(a)
    gap, by_gap = recent_gap(a)
    wide = None if (by_loss or by_gap) else widening_gap(a)
    if not (by_loss or by_gap or wide is not None):
        return None

    best_raw = r.best_raw if r is not None else int(np.argmin(v.loss))
    best_it = int(v.iteration[best_raw])
    best_epoch = max(1, math.ceil(a.epoch_at(best_it)))
    values: dict[str, object] = {}
    if best_epoch < opts.max_epochs:
        values["max_epochs"] = best_epoch
    if opts.validation_patience > PATIENCE:
        values["validation_patience"] = PATIENCE
    if opts.output_network != "best-validation-loss":
        values["output_network"] = "best-validation-loss"
    values["l2_regularization"] = sig(max(opts.l2_regularization * 10, 1e-3))
    patch = options_patch(**values)

    parts = []
    if by_loss and r is not None:
        parts.append(
            # Quoted against the raw minimum (the one a chart shows); judged on the smoothed.
            f"Validation loss rose {pct(r.now / float(v.loss[best_raw]) - 1)} from its minimum "
            f"{num(float(v.loss[best_raw]))} at iteration {best_it} to {num(r.now)} while "
            "training loss kept falling "
            f"({num(r.train_at_best)} → {num(r.train_end)})"
        )
        iteration = best_it
    elif wide is not None:
        since = int(v.iteration[wide.first])
        parts.append(
            f"Validation loss has not fallen since iteration {since} (now {num(wide.now)}) "
            f"while training loss fell {pct(1 - wide.train_to / wide.train_from)} "
            f"({num(wide.train_from)} → {num(wide.train_to)}): validation loss is "
            f"{wide.now / wide.train_to:.1f}× the training loss"
        )
        iteration = since
    else:
        above = np.flatnonzero(~(gaps > min(OVERFIT_GAP, gap)))
        first = int(above[-1]) + 1 if len(above) else 0
        iteration = int(v.iteration[min(first, len(v) - 1)])
    if by_gap:
        train_acc = float(np.mean(v.metric[-GAP_VALIDATIONS:]) + gap)
        val_acc = float(np.mean(v.metric[-GAP_VALIDATIONS:]))
        text = (
            f"training accuracy is {gap * 100:.0f} points above validation accuracy "
            f"({train_acc:.2f} against {val_acc:.2f} over the last {GAP_VALIDATIONS} validations)"
        )
        parts.append(text if parts else text[0].upper() + text[1:])
    message = "; ".join(parts) + "."
    evidence: dict[str, EvidenceValue] = {
        "best_val_loss": float(v.loss[best_raw]),
        "best_iteration": best_it,
        "best_epoch": best_epoch,
        "val_loss_now": r.now if r is not None else None,
        "val_loss_rise": r.rise if r is not None else None,
        "train_loss_at_best": r.train_at_best if r is not None else None,
        "train_loss_end": r.train_end if r is not None else None,
        "accuracy_gap": gap if math.isfinite(gap) else None,
        "by_loss": by_loss,
        "by_accuracy_gap": by_gap,
        "by_widening_gap": wide is not None,
        "dropout": a.ctx.has_dropout,
    }
    return Finding(
        "overfitting", "warning", iteration, message, evidence, patch, describe(opts, patch)
    )


def stale_since(a: Analysis) -> tuple[int, float, float, float]:
    """(index of the validation since which the validation loss has not improved, today's
    level, the tolerance, the validation noise): it is the first validation whose best so far
    was already within the tolerance of today's level, the median of the latest validations (a
    minimum would be an outlier's)."""
    v = a.val
    n = len(v)
    noise = relative_noise(v.loss)
    tol = max(PLATEAU_TOLERANCE, 2 * noise)
    level = float(np.median(v.loss[-max(3, n // 10) :]))
    reached = np.minimum.accumulate(v.smooth) <= level * (1 + tol)
    start = int(np.flatnonzero(reached)[0]) if reached.any() else n - 1
    return start, level, tol, noise


def plateau(a: Analysis) -> Finding | None:
    if a.diverged:
        return None
    v, c, opts = a.val, a.curves, a.ctx.options
    n = len(v)
    if n < MIN_VALIDATIONS + 1:
        return None
    r = val_rise(a)
    if r is not None and r.overfitting:
        return None  # rising, not flat: that is overfitting's finding
    if recent_gap(a)[1] or widening_gap(a) is not None:
        return None  # flat because the training set is learnt: overfitting's finding too
    start, level, tol, noise = stale_since(a)
    # A plateau comes after progress: a loss that never fell is too-slow or underfitting.
    if not level <= (1 - PLATEAU_PROGRESS) * a.start_level:
        return None
    stale = n - 1 - start
    if stale < PLATEAU_MIN or stale < PLATEAU_FRACTION * n:
        return None
    # Flat, not slowly falling: the fitted trend over the span must not fall by more than the
    # tolerance and two standard errors (a noisy validation loss can widen the tolerance).
    span = np.log(v.loss[start:])
    m = len(span)
    fall = 1 - math.exp(slope(np.arange(m, dtype=np.float64), span) * (m - 1))
    if fall > max(tol, 2 * noise * math.sqrt(12 / m)):
        return None
    since = int(v.iteration[start])
    if since <= a.warmup_iterations:
        return None
    it = c.iteration[: a.finite_end]
    lr = c.learn_rate[: a.finite_end][it >= since]
    lr = lr[np.isfinite(lr) & (lr > 0)]
    if len(lr):
        if float(lr.max()) > CONSTANT_LR * float(lr.min()):
            return None
        rate = float(np.median(lr))
    elif opts.learn_rate_schedule == "none":
        rate = opts.learn_rate
    else:
        return None
    start_epoch = max(1, math.ceil(a.epoch_at(since)))
    if opts.learn_rate_schedule == "plateau" and opts.learn_rate_drop_period > 1:
        patch = options_patch(learn_rate_drop_period=max(1, opts.learn_rate_drop_period // 2))
    else:
        patch = options_patch(
            learn_rate_schedule="piecewise",
            learn_rate_drop_factor=0.1,
            learn_rate_drop_period=start_epoch,
        )
    severity: Severity = "warning" if stale >= PLATEAU_LONG * n else "info"
    best_raw = float(np.min(v.loss))
    message = (
        f"Validation loss has not improved by more than {pct(tol)} for {stale} validations "
        f"(since iteration {since}, epoch {start_epoch}; best {num(best_raw)}) at a constant "
        f"learn rate {num(rate)}."
    )
    evidence: dict[str, EvidenceValue] = {
        "since_iteration": since,
        "since_epoch": start_epoch,
        "stale_validations": stale,
        "validations": n,
        "best_val_loss": best_raw,
        "tolerance": tol,
        "learn_rate": rate,
    }
    return Finding("plateau", severity, since, message, evidence, patch, describe(opts, patch))
