"""`diagnose`: every rule that applies to the kind of run, at most one finding per code."""

from __future__ import annotations

from collections.abc import Callable

from trainscope.doctor.analysis import Analysis
from trainscope.doctor.context import RunContext
from trainscope.doctor.curves import Curves
from trainscope.doctor.finding import Finding, sort_findings
from trainscope.doctor.preflight import initial_loss_verdict, lr_range, overfit_batch
from trainscope.doctor.rules_end import still_improving, underfitting
from trainscope.doctor.rules_loss import diverged, initial_loss, loss_spikes, too_slow
from trainscope.doctor.rules_schedule import lr_decay_too_early
from trainscope.doctor.rules_validation import overfitting, plateau

Rule = Callable[[Analysis], Finding | None]

TRAINING_RULES: tuple[Rule, ...] = (
    diverged,
    loss_spikes,
    too_slow,
    initial_loss,
    lr_decay_too_early,
    overfitting,
    plateau,
    underfitting,
    still_improving,
)
# A range test's loss is meant to explode and an overfit-batch run is meant to overfit: the
# training rules would only report what the test does on purpose.
RULES_BY_KIND: dict[str, tuple[Rule, ...]] = {
    "train": TRAINING_RULES,
    "lr-range-test": (lr_range,),
    "overfit-batch": (diverged, initial_loss_verdict, overfit_batch),
    "initial-loss": (diverged, initial_loss_verdict),
}


def diagnose(curves: Curves, ctx: RunContext) -> list[Finding]:
    """The findings for a run, sorted critical > warning > info > ok, then by iteration."""
    analysis = Analysis(curves, ctx)
    rules = RULES_BY_KIND.get(ctx.kind, TRAINING_RULES)
    found = [f for rule in rules if (f := rule(analysis)) is not None]
    return sort_findings(explained_away(found))


def explained_away(findings: list[Finding]) -> list[Finding]:
    """Drop a finding that another one explains, so the user gets one cause and one patch:
    a plateau that began after a learn-rate drop that came too early is that drop's doing
    (the plateau's patch would be a drop at the same epoch again)."""
    codes = {f.code: f for f in findings}
    early, flat = codes.get("lr-decay-too-early"), codes.get("plateau")
    if (
        early is not None
        and flat is not None
        and early.iteration is not None
        and flat.iteration is not None
        and flat.iteration >= early.iteration
    ):
        findings = [f for f in findings if f is not flat]
    # One root cause per run. A diverged run needs nothing else said; a learn rate far too
    # small explains a poor, flat run: "underfitting" (a bigger model, less L2) or "plateau"
    # (a schedule) would tell that same run as a different story.
    if "diverged" in codes:
        findings = [f for f in findings if f.code not in DIVERGED_EXPLAINS]
    if "too-slow" in codes:
        findings = [f for f in findings if f.code not in SLOW_EXPLAINS]
    # A model too small for the task (both accuracies poor and close, the loss flat) is why
    # its validation loss stopped improving: a schedule would not lift it, and the epochs
    # that still-improving would add are in underfitting's patch already.
    if "underfitting" in codes:
        findings = [f for f in findings if f.code not in UNDERFIT_EXPLAINS]
    # An unstable run (loss far above its first value: the learn rate is too high) stalls,
    # sits at chance or never settles because of it: the same cause, not a plateau to
    # schedule, a model too small, a learn rate too small, a validation loss to stop early
    # on or more epochs to give it: the lower learn rate comes first, the rest is judged
    # on the run after it.
    spikes = codes.get("loss-spikes")
    if spikes is not None and "bursts" in spikes.evidence:
        findings = [f for f in findings if f.code not in UNSTABLE_EXPLAINS]
    return findings


# ("still-improving" stays: more epochs does not contradict a higher learn rate.)
SLOW_EXPLAINS = frozenset({"underfitting", "plateau"})
UNDERFIT_EXPLAINS = frozenset({"plateau", "still-improving"})
UNSTABLE_EXPLAINS = frozenset(
    {"plateau", "underfitting", "too-slow", "overfitting", "still-improving", "lr-decay-too-early"}
)
# A bad initial loss is a cause of its own (the initialisation), and a preflight's verdict
# stays: only the training story after the divergence goes.
DIVERGED_EXPLAINS = frozenset(
    {
        "loss-spikes",
        "too-slow",
        "lr-decay-too-early",
        "overfitting",
        "plateau",
        "underfitting",
        "still-improving",
    }
)
