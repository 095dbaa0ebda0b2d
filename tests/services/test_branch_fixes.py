"""Where a branch is the fix: the rule that turns a finding's patch into a branch body."""

from __future__ import annotations

import dataclasses
from typing import Any

from trainscope.services.branch_fixes import branch_epoch, with_branch_fixes
from trainscope.store import RunRecord


def run_record(kind: str = "train", per_epoch: int | None = 24) -> RunRecord:
    return RunRecord(
        id=7, name="r", status="completed", finish_reason=None, message=None,
        spec={"kind": kind}, parent_id=None, group=None, tags=[], created_at=0.0,
        started_at=0.0, ended_at=1.0, iteration=480, epoch=20, max_iterations=480,
        iterations_per_epoch=per_epoch, last_seq=480, device="cpu", info={}, latest={},
        best=None, checkpoint=None,
    )  # fmt: skip


def plateau(iteration: int | None = 24 * 12 + 5, **patch_options: Any) -> dict[str, Any]:
    options = patch_options or {"initial_learn_rate": 0.001}
    return {
        "code": "plateau",
        "iteration": iteration,
        "patch": {"options": options},
        "fix": "Restart with initial_learn_rate 0.001 (÷10)",
    }


EPOCHS = list(range(1, 21))


def test_a_plateau_from_epoch_13_is_branched_at_the_end_of_epoch_12() -> None:
    (found,) = with_branch_fixes([plateau()], run_record(), EPOCHS)
    assert found["branch"] == {
        "epoch": 12,
        "options": {"initial_learn_rate": 0.001},
        "fix": "Branch at epoch 12 with initial_learn_rate 0.001 (÷10)",
    }
    assert found["patch"] == plateau()["patch"]  # the restart stays on offer


def test_the_newest_checkpoint_before_the_finding_is_taken_when_retention_thinned_them() -> None:
    thinned = [1, 5, 10, 15, 19, 20]
    assert branch_epoch(24 * 12 + 5, 24, thinned) == 10
    assert branch_epoch(24 * 10, 24, thinned) == 5  # the end of epoch 10 is that iteration
    assert branch_epoch(10, 24, thinned) is None  # before the first checkpoint: a restart


def test_no_branch_where_a_branch_cannot_be_the_fix() -> None:
    cases = [
        (plateau(iteration=10), run_record()),  # seen in the first epoch
        (plateau(iteration=None), run_record()),  # seen nowhere in particular
        (plateau(mini_batch_size=64), run_record()),  # an option a branch keeps
        ({**plateau(), "patch": {"args": {"lr": 0.01}}}, run_record()),  # a script's args
        ({**plateau(), "patch": {"model": {"preset": "deeper-cnn"}}}, run_record()),
        ({**plateau(), "patch": None}, run_record()),
        (plateau(), run_record(kind="script")),  # no epoch checkpoints of its own
        (plateau(), run_record(per_epoch=None)),  # not started
    ]
    for finding, run in cases:
        (found,) = with_branch_fixes([finding], run, EPOCHS)
        assert found["branch"] is None, finding
    (found,) = with_branch_fixes([plateau()], run_record(), [])
    assert found["branch"] is None  # no checkpoints left


def test_a_finding_without_a_sentence_still_says_where_it_branches() -> None:
    finding = {**plateau(), "fix": None}
    (found,) = with_branch_fixes([finding], dataclasses.replace(run_record()), EPOCHS)
    assert found["branch"]["fix"] == "Branch at epoch 12"
