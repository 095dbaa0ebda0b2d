"""Rules on the training loss: diverged, loss-spikes, too-slow, initial-loss. Each takes the
run's `Analysis` and returns a `Finding` or None."""

from __future__ import annotations

import math

import numpy as np

from trainscope.doctor.analysis import Analysis, trend_width
from trainscope.doctor.finding import EvidenceValue, Finding, Severity, num, times
from trainscope.doctor.patches import describe, options_patch, scaled_learn_rate
from trainscope.doctor.signals import MAD_TO_SIGMA, finite_median, window

# diverged: the loss was running away before the NaN when its last finite value was this many
# times the lowest level its trend reached.
RUNAWAY_RATIO = 3.0
# loss-spikes: "several" spikes.
MIN_SPIKES = 3
# loss-spikes, unstable: a training loss this many times the first one (computed before any
# update) is no noise and no trend: the steps are too big. Judged against the first loss, not
# a trend, it also sees a jump in the first iterations (where there is no trend yet) and a
# burst longer than a trend block (which lifts the trend with it), and it cannot be fooled by
# the heavy-tailed noise of a loss near zero (the first loss is far from zero).
UNSTABLE_RATIO = 3.0
UNSTABLE_EARLY = 5  # rows past the trend's blind first half block that still count as early
UNSTABLE_LONG = 4  # rows above: longer than a spike's decay (1-4 iterations)
NEVER_RECOVERED = 0.9  # an end level at least this fraction of the reference: no progress
# too-slow: relative change of the loss over its first TOO_SLOW_WINDOW iterations (after
# warm-up) below which it "barely moved"; the two ends are medians of TOO_SLOW_EDGE iterations.
TOO_SLOW_WINDOW = 100
TOO_SLOW_EDGE = 20
TOO_SLOW_CHANGE = 0.05
TOO_SLOW_MAX_CHANGE = 0.08
TOO_SLOW_FIRST = 5
TOO_SLOW_SHORT = 50  # an ended run at least this long but shorter than the window: all of it
# Learn rates above which ×10 is no cure for a flat loss: the top of each solver's usual range
# (the corpus's Adam at 0.05-0.1 and SGD with momentum at 0.8 are unstable already).
HIGH_LEARN_RATE = {"adam": 3e-3, "adamw": 3e-3, "rmsprop": 3e-3, "sgdm": 0.1, "sgd": 0.3}
# initial-loss: an untrained classifier that guesses uniformly has cross-entropy ln C; a first
# loss further than this fraction of ln C from it means the outputs are not near uniform.
INITIAL_LOSS_TOLERANCE = 0.5


# Clip the global gradient norm at 1: the usual cure for loss spikes (a step that a single
# large gradient blows up is cut back to length 1 while its direction is kept).
CLIPPING: dict[str, object] = {
    "gradient_threshold": 1.0,
    "gradient_threshold_method": "global-l2norm",
}


def diverged(a: Analysis) -> Finding | None:
    if not a.diverged:
        return None
    c, opts = a.curves, a.ctx.options
    row = a.first_nonfinite
    iteration = int(c.iteration[row]) if row is not None else c.last_iteration
    value = float(c.train_loss[row]) if row is not None else math.nan
    _, loss = a.loss
    spikes = a.spikes
    last_finite = float(loss[-1]) if len(loss) else math.nan
    lowest = math.nan
    if a.trend is not None:
        # Between the outer block centres: beyond them the trend is an extrapolation.
        half = trend_width(len(loss)) // 2
        inner = a.trend[0][half : len(loss) - half]
        lowest = float(np.exp(np.min(inner if len(inner) else a.trend[0])))
    runaway = bool(math.isfinite(lowest) and last_finite >= RUNAWAY_RATIO * lowest)
    unstable = len(spikes) > 0 or runaway
    lr_there = float(c.learn_rate[row]) if row is not None else math.nan
    if not math.isfinite(lr_there):
        lr_there = opts.learn_rate

    values: dict[str, object] = {"initial_learn_rate": scaled_learn_rate(opts, 0.1)}
    clip = unstable and math.isinf(opts.gradient_threshold)
    if clip:
        values.update(CLIPPING)
    patch = options_patch(**values)

    where = f"at iteration {iteration}" if iteration is not None else "at its last point"
    what = "NaN" if value != value else ("Inf" if math.isinf(value) else "non-finite")
    message = f"Training loss became {what} {where} at learn rate {num(lr_there)}"
    if len(spikes):
        k = spikes.largest()
        message += (
            f", after {len(spikes)} spike{'s' if len(spikes) > 1 else ''} up to "
            f"{times(float(spikes.ratio[k]))}× its trend (iteration {int(spikes.iteration[k])})"
        )
    elif runaway:
        message += f", after rising from {num(lowest)} to {num(last_finite)}"
    elif iteration is not None and iteration <= 1:
        message += (
            " (at the first iteration: if a lower learn rate does not help, look for NaN or "
            "huge values in the data)"
        )
    message += "."
    evidence: dict[str, EvidenceValue] = {
        "iteration": iteration,
        "loss": value,
        "last_finite_loss": last_finite if len(loss) else None,
        "learn_rate": lr_there,
        "initial_learn_rate": opts.learn_rate,
        "spikes_before": len(spikes),
        "max_spike_ratio": float(spikes.ratio.max()) if len(spikes) else None,
        "runaway": runaway,
        "lowest_loss_level": lowest if math.isfinite(lowest) else None,
        "gradient_threshold_set": not math.isinf(opts.gradient_threshold),
    }
    return Finding(
        "diverged", "critical", iteration, message, evidence, patch, describe(opts, patch)
    )


def unstable(a: Analysis) -> Finding | None:
    """Loss far above the first loss: "unstable, the learn rate is too high"."""
    it, loss = a.loss
    if len(loss) < 10 or not (loss[0] > 0):
        return None
    # The reference: the first loss (computed before any update), or ln C for a classifier,
    # whichever is higher (a suspiciously low first loss is initial-loss's finding, not a
    # scale). Only a history that does not start at iteration 1 falls back on the start's
    # level: a median over the first iterations is lifted by an explosion within them.
    c = a.curves
    ref = float(loss[0]) if int(it[0]) == 1 else max(float(loss[0]), a.start_level)
    if c.task == "classification" and c.n_classes and c.n_classes >= 2:
        ref = max(ref, math.log(c.n_classes))
    above = np.flatnonzero(loss > UNSTABLE_RATIO * ref)
    if not len(above) or not ref > 0:
        return None
    k = int(above[np.argmax(loss[above])])
    bursts = 1 + int(np.count_nonzero(np.diff(above) > 3))
    # One short spike later in the run that recovers is the spike rule's to judge (one is no
    # pattern); an explosion at the start (where the trend is blind), a second burst, or a
    # burst longer than a spike's few iterations is instability.
    early = int(above[0]) < trend_width(len(loss)) // 2 + UNSTABLE_EARLY
    # A burst the run never recovered from (it ends no lower than it started: at chance, for
    # a classifier) is no passing spike either.
    stuck = a.end_level >= NEVER_RECOVERED * ref
    if not (early or stuck or bursts >= 2 or len(above) > UNSTABLE_LONG):
        return None
    opts = a.ctx.options
    patch = options_patch(initial_learn_rate=scaled_learn_rate(opts, 0.1))
    message = (
        f"Training loss rose to {times(float(loss[k] / ref))}× its first value "
        f"({num(float(loss[k]))} against {num(ref)}) at iteration {int(it[k])}, in "
        f"{bursts} burst{'s' if bursts > 1 else ''} over {len(above)} iterations from iteration "
        f"{int(it[above[0]])}: the run is unstable at learn rate {num(opts.learn_rate)}; a "
        "lower learn rate (or clipping the gradients) is the cure."
    )
    evidence: dict[str, EvidenceValue] = {
        "first_loss": ref,
        "largest_loss": float(loss[k]),
        "largest_iteration": int(it[k]),
        "largest_ratio": float(loss[k] / ref),
        "iterations_above": len(above),
        "bursts": bursts,
        "threshold_ratio": UNSTABLE_RATIO,
        "initial_learn_rate": opts.learn_rate,
    }
    return Finding(
        "loss-spikes",
        "warning",
        int(it[above[0]]),
        message,
        evidence,
        patch,
        describe(opts, patch),
    )


def loss_spikes(a: Analysis) -> Finding | None:
    # A diverged run's spikes are part of its `diverged` finding, which suggests the fix.
    if a.diverged:
        return None
    if len(a.spikes) < MIN_SPIKES:
        return unstable(a)
    opts = a.ctx.options
    s = a.spikes
    k = s.largest()
    if math.isinf(opts.gradient_threshold):
        patch = options_patch(**CLIPPING)
    else:  # clipping is on already: the steps themselves are too big
        patch = options_patch(initial_learn_rate=scaled_learn_rate(opts, 1 / 3))
    message = (
        f"Training loss jumped far above its trend {len(s)} times, the largest "
        f"{times(float(s.ratio[k]))}× "
        f"({num(float(s.loss[k]))} against {num(float(s.trend[k]))}) at iteration "
        f"{int(s.iteration[k])}."
    )
    evidence: dict[str, EvidenceValue] = {
        "spikes": len(s),
        "first_iteration": int(s.iteration[0]),
        "largest_iteration": int(s.iteration[k]),
        "largest_loss": float(s.loss[k]),
        "trend_there": float(s.trend[k]),
        "largest_ratio": float(s.ratio[k]),
        "gradient_threshold": opts.gradient_threshold,
    }
    return Finding(
        "loss-spikes",
        "warning",
        int(s.iteration[0]),
        message,
        evidence,
        patch,
        describe(opts, patch),
    )


def too_slow(a: Analysis) -> Finding | None:
    if a.diverged:
        return None
    it, loss = a.loss
    opts = a.ctx.options
    # A flat loss at a learn rate already high for the solver is not a learn rate too small
    # (×10 would make it unstable): a model that cannot fit, which underfitting tells.
    if opts.learn_rate > HIGH_LEARN_RATE.get(opts.solver, math.inf):
        return None
    start = a.warmup_iterations
    window_its = TOO_SLOW_WINDOW
    # A run that ended before TOO_SLOW_WINDOW iterations is judged over all it did.
    if a.ctx.ended and len(it) and TOO_SLOW_SHORT <= it[-1] - start < TOO_SLOW_WINDOW:
        window_its = int(it[-1] - start)
    end = start + window_its
    if not len(it) or it[-1] < end:
        return None
    first = loss[window(it, start, start + TOO_SLOW_EDGE)]
    last = loss[window(it, end - TOO_SLOW_EDGE, end)]
    if len(first) < 3 or len(last) < 3:
        return None
    l1, l2 = finite_median(first), finite_median(last)
    if not (l1 > 1e-8 and math.isfinite(l2)):
        return None
    change = l2 / l1 - 1.0
    # Mini-batch noise blurs a median of 20 points: the bound widens to 2.5 standard errors
    # of the difference when that is more (up to TOO_SLOW_MAX_CHANGE).
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(np.log(last / l2))))
    se = 1.25 * sigma * math.sqrt(1 / len(first) + 1 / len(last))  # of a median's log
    bound = min(TOO_SLOW_MAX_CHANGE, max(TOO_SLOW_CHANGE, 2.5 * se))
    # The very first iterations too (fewer points: a looser bound): a loss that dropped
    # within them and then stayed flat moved, and is no case for a higher learn rate.
    very_first = loss[window(it, start, start + TOO_SLOW_FIRST)]
    l0 = finite_median(very_first)
    se0 = 1.25 * sigma * math.sqrt(1 / len(very_first) + 1 / len(last))
    bound0 = min(2 * TOO_SLOW_MAX_CHANGE, max(2 * TOO_SLOW_CHANGE, 2.5 * se0))
    # (One-sided: a first few mini-batches that happen to be easy are lower than the level
    # after them without the loss having moved at all.)
    if abs(change) >= bound or l2 / l0 - 1.0 <= -bound0:
        return None
    patch = options_patch(initial_learn_rate=scaled_learn_rate(opts, 10))
    after = f" after the {start} warm-up iterations" if start else ""
    message = (
        f"Training loss barely moved over the first {window_its} iterations{after}: "
        f"{num(l1)} → {num(l2)} ({change * 100:+.1f}%) at learn rate {num(opts.learn_rate)}."
    )
    evidence: dict[str, EvidenceValue] = {
        "from_iteration": start + 1,
        "to_iteration": end,
        "loss_start": l1,
        "loss_end": l2,
        "relative_change": change,
        "threshold": bound,
        "initial_learn_rate": opts.learn_rate,
    }
    return Finding("too-slow", "warning", end, message, evidence, patch, describe(opts, patch))


def initial_loss(a: Analysis, verdict: bool = False) -> Finding | None:
    """A first loss far from ln C. With `verdict` (preflight runs) always a finding: "ok" when
    the first loss is where it should be."""
    c = a.curves
    if len(c) == 0:
        return None
    first = float(c.train_loss[0])
    at = int(c.iteration[0])
    if not math.isfinite(first):
        return None  # a NaN from the start: the `diverged` finding says it
    if c.task != "classification" or not c.n_classes or c.n_classes < 2:
        if not verdict or a.ctx.kind != "initial-loss":
            return None
        message = (
            f"First loss {num(first)} at iteration {at}; there is no expected value to compare "
            "it with (only a classifier's is known: ln of the number of classes)."
        )
        return Finding("initial-loss", "info", at, message, {"first_loss": first, "iteration": at})
    # Only the loss at iteration 1 was computed before any update: a history that starts
    # later says nothing about the initialisation.
    if at != 1 and not verdict:
        return None
    n = c.n_classes
    expected = math.log(n)
    bad = abs(first - expected) > INITIAL_LOSS_TOLERANCE * expected
    if not bad and not verdict:
        return None
    ratio = first / expected
    evidence: dict[str, EvidenceValue] = {
        "first_loss": first,
        "iteration": at,
        "n_classes": n,
        "expected": expected,
        "ratio": ratio,
        "tolerance": INITIAL_LOSS_TOLERANCE,
    }
    severity: Severity = "warning" if bad else "ok"
    if not bad:
        message = (
            f"First loss {first:.2f} ≈ ln({n}) = {expected:.2f}: the untrained network's "
            "outputs are near uniform, as they should be."
        )
    elif first > expected:
        message = (
            f"First loss {num(first)} is {ratio:.1f}× ln({n}) = {expected:.2f}, the loss of "
            "uniform guessing: the untrained network is confidently wrong; check the "
            "initialisation (large weights or a scaled output layer) and the labels."
        )
    else:
        message = (
            f"First loss {num(first)} is well below ln({n}) = {expected:.2f}, the loss of "
            "uniform guessing, before any training: check the labels (a leak or one class) and "
            "the loss."
        )
    return Finding("initial-loss", severity, at, message, evidence)
