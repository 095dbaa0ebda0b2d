"""Where a branch is the fix: a finding's option patch offered as a branch of the run from the
last epoch checkpoint before the finding, not a restart from scratch (issue 16).

The learn rate plateaus from epoch 20: "Branch at epoch 20 with initial_learn_rate 0.001 (÷10)"
keeps the 20 epochs already paid for. Validation rises after epoch 25: the branch at 25 with
more L2 goes on from the best weights. The loss spikes at iteration 1,210 (in epoch 13): the
branch at epoch 12 with a gradient threshold goes on from before the first spike.

A finding gets a `branch` — `{"epoch", "options", "fix"}`, the body of
`POST /api/runs/{id}/branch` plus its sentence — when all of these hold: its patch changes only
options, none that a branch must keep (services/branches.py, FIXED_OPTIONS); it says where it
was seen; and the run has an epoch checkpoint at or before that point (epoch ≥ 1: a branch at
the very start is a restart, which the patch already is). Computed when findings are read, from
the run's checkpoints as they are now, so it never names a checkpoint that retention removed.
"""

from __future__ import annotations

from typing import Any

from trainscope.services.branches import FIXED_OPTIONS
from trainscope.store import RunRecord


def branch_epoch(iteration: int, iterations_per_epoch: int, epochs: list[int]) -> int | None:
    """The newest branchable epoch whose end comes before `iteration` (1-based): going on from
    there replays the iteration with the fix."""
    before = [e for e in epochs if e >= 1 and e * iterations_per_epoch < iteration]
    return max(before) if before else None


def branch_fix(finding: dict[str, Any], run: RunRecord, epochs: list[int]) -> dict[str, Any] | None:
    patch = finding.get("patch")
    iteration = finding.get("iteration")
    per_epoch = run.iterations_per_epoch
    if not patch or set(patch) != {"options"} or not patch["options"]:
        return None  # a script's args, a change of model or kind: not a branch
    if set(patch["options"]) & FIXED_OPTIONS.keys():
        return None
    if not isinstance(iteration, int) or not per_epoch or not epochs:
        return None
    epoch = branch_epoch(iteration, per_epoch, epochs)
    if epoch is None:
        return None
    fix = finding.get("fix") or ""
    said = fix.removeprefix("Restart with ") if fix.startswith("Restart with ") else None
    return {
        "epoch": epoch,
        "options": dict(patch["options"]),
        "fix": f"Branch at epoch {epoch} with {said}" if said else f"Branch at epoch {epoch}",
    }


def with_branch_fixes(
    findings: list[dict[str, Any]], run: RunRecord, epochs: list[int]
) -> list[dict[str, Any]]:
    """`findings` (as stored), each with its `branch` (or None). An engine run's only: other
    runs have no epoch checkpoints to branch from."""
    if run.spec.get("kind", "train") != "train":
        return [{**f, "branch": None} for f in findings]
    return [{**f, "branch": branch_fix(f, run, epochs)} for f in findings]
