"""Verdicts for the preflight runs: `overfit-batch` (can the network fit a few mini-batches?),
`initial-loss` (is the untrained network's loss where it should be?) and `lr-range` (the
learn rate a range test points to). Unlike the training rules they answer every time, "ok"
included: a passed check is worth saying."""

from __future__ import annotations

import math

import numpy as np

from trainscope.doctor.analysis import Analysis
from trainscope.doctor.finding import EvidenceValue, Finding, num
from trainscope.doctor.lr_range import suggest_learn_rate
from trainscope.doctor.patches import describe, options_patch
from trainscope.doctor.rules_loss import initial_loss
from trainscope.doctor.signals import finite_median

FIT_ACCURACY = 0.99  # overfit-batch: training accuracy at the end, smoothed
FIT_LOSS_FRACTION = 0.01  # overfit-batch (regression): final loss ≤ 1 % of the first
TAIL_FRACTION = 0.1  # "the end": the last 10 % of the iterations, at least TAIL_MIN points
TAIL_MIN = 5


def initial_loss_verdict(a: Analysis) -> Finding | None:
    return initial_loss(a, verdict=True)


def overfit_batch(a: Analysis) -> Finding | None:
    if not a.ctx.ended:
        return None
    c = a.curves
    per = c.iterations_per_epoch
    batches = f"its {per} mini-batches" if per else "a few mini-batches"
    advice = (
        "something is wrong before any tuning: check the labels, the model's output layer "
        "and the learn rate."
    )
    if a.diverged:
        message = f"The network cannot fit {batches}: the loss diverged; {advice}"
        return Finding("overfit-batch", "critical", c.last_iteration, message, {"diverged": True})
    it, loss = a.loss
    if not len(it):
        return None
    tail = max(TAIL_MIN, math.ceil(TAIL_FRACTION * len(it)))
    evidence: dict[str, EvidenceValue] = {"tail_points": min(tail, len(it))}
    if c.task == "classification":
        acc = finite_median(c.train_metric[: len(it)][-tail:])
        evidence.update(train_accuracy=acc, threshold=FIT_ACCURACY)
        fits = bool(acc >= FIT_ACCURACY)
        measured = f"training accuracy {acc:.3f} at the end"
        need = f"needs {FIT_ACCURACY}"
    else:
        first = float(loss[0])
        last = float(np.median(loss[-tail:]))
        ratio = last / first if first > 0 else math.inf
        evidence.update(first_loss=first, final_loss=last, ratio=ratio, threshold=FIT_LOSS_FRACTION)
        fits = bool(ratio <= FIT_LOSS_FRACTION)
        measured = f"final loss {num(last)}, {ratio * 100:.2g}% of the first {num(first)}"
        need = f"needs ≤ {FIT_LOSS_FRACTION * 100:g}%"
    evidence["fits"] = fits
    at = int(it[-1])
    if fits:
        message = f"The network fits {batches}: {measured}."
        return Finding("overfit-batch", "ok", at, message, evidence)
    message = f"The network cannot fit {batches} ({measured}, {need}): {advice}"
    return Finding("overfit-batch", "critical", at, message, evidence)


def lr_range(a: Analysis) -> Finding | None:
    c, opts = a.curves, a.ctx.options
    result = suggest_learn_rate(c.learn_rate, c.train_loss)
    if result is None:
        if not a.ctx.ended:
            return None
        message = (
            f"Too few points ({len(c)}) for a learn rate suggestion: run the range test over "
            "more iterations."
        )
        return Finding("lr-range", "info", c.last_iteration, message, {"points": len(c)})
    # A live test's minimum keeps moving until the loss has exploded.
    if not a.ctx.ended and result.exploded_at is None:
        return None
    # A train run at that rate: restarting a range test as it was would test again.
    patch = {"kind": "train", **options_patch(initial_learn_rate=result.suggested)}
    exploded = (
        f", and it exploded at {num(result.exploded_at)}" if result.exploded_at is not None else ""
    )
    message = (
        f"Use a learn rate of about {num(result.suggested)}: the smoothed loss fell fastest at "
        f"{num(result.steepest)} and was lowest at {num(result.min_loss)}{exploded}."
    )
    evidence: dict[str, EvidenceValue] = {
        "suggested": result.suggested,
        "steepest_lr": result.steepest,
        "min_loss_lr": result.min_loss,
        "exploded_at": result.exploded_at,
        "points": len(c),
    }
    # Marked where the range test passed the suggested learn rate.
    passed = np.flatnonzero(np.isfinite(c.learn_rate) & (c.learn_rate >= result.suggested))
    iteration = int(c.iteration[passed[0]]) if len(passed) else c.last_iteration
    return Finding("lr-range", "info", iteration, message, evidence, patch, describe(opts, patch))
