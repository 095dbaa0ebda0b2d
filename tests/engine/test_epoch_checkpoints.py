"""Epoch checkpoints (what a branch starts from), their retention, and branching from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainscope.data_layout import CHECKPOINT_NAME, PREVIOUS_NAME, epoch_checkpoints
from trainscope.engine.checkpoint import load_checkpoint
from trainscope.engine.loop import train
from trainscope.engine.retention import epochs_to_keep
from trainscope.schemas.events import Point

from .conftest import Recording, Runner, spec_of

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow


def test_every_checkpoint_is_kept_while_they_fit_the_budget() -> None:
    sizes = dict.fromkeys(range(1, 11), 100)
    assert epochs_to_keep(sizes, budget=1000, best_epoch=3) == set(range(1, 11))


def test_past_the_budget_every_kth_is_kept_and_always_the_newest_two_and_the_best() -> None:
    sizes = dict.fromkeys(range(1, 101), 100)  # 100 epochs of 100 bytes, 2000 allowed
    kept = epochs_to_keep(sizes, budget=2000, best_epoch=37)
    assert {99, 100, 37} <= kept
    assert sum(sizes[e] for e in kept) <= 2000
    # Evenly spread: one in 8 (8, 16, … 96), the smallest power of two that fits.
    assert kept - {99, 100, 37} == set(range(8, 101, 8))


def test_a_budget_too_small_for_any_thinning_keeps_the_newest_two_and_the_best() -> None:
    sizes = dict.fromkeys(range(1, 21), 100)
    assert epochs_to_keep(sizes, budget=10, best_epoch=4) == {4, 19, 20}


def _train(
    spec_parts: dict[str, object],
    run_dir: Path,
    tmp_path: Path,
    branch_from: Path | None = None,
    budget: int | None = None,
) -> Recording:
    rec = Recording()
    kwargs: dict[str, object] = {"data_dir": tmp_path / "data", "run_dir": run_dir}
    if branch_from is not None:
        kwargs["branch_from"] = branch_from
    if budget is not None:
        kwargs["checkpoint_budget"] = budget
    train(spec_of(**spec_parts), rec, **kwargs)  # type: ignore[arg-type]
    return rec


def test_a_run_keeps_a_checkpoint_at_every_epoch_end(run: Runner, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    rec = run(spec_of(options={"max_epochs": 4}), run_dir=run_dir)
    assert rec.status.status == "completed"
    found = epoch_checkpoints(run_dir)
    assert list(found) == [1, 2, 3, 4]
    # Each is the state at its epoch's end: 6 iterations per epoch (300 samples / 50).
    assert [int(load_checkpoint(p)["iteration"]) for p in found.values()] == [6, 12, 18, 24]
    # Today's resume files are still there, the newest being the last epoch's.
    assert (run_dir / CHECKPOINT_NAME).exists() and (run_dir / PREVIOUS_NAME).exists()
    assert int(load_checkpoint(run_dir / CHECKPOINT_NAME)["iteration"]) == 24


def test_a_run_past_its_budget_thins_its_checkpoints_but_keeps_newest_and_best(
    tmp_path: Path,
) -> None:
    probe = tmp_path / "probe"
    _train({"options": {"max_epochs": 1}}, probe, tmp_path)
    size = next(iter(epoch_checkpoints(probe).values())).stat().st_size
    run_dir = tmp_path / "run"
    # Room for about 5 of 12: thinned, as a 1 GB budget thins a big model's long run.
    rec = _train({"options": {"max_epochs": 12}}, run_dir, tmp_path, budget=int(size * 5.5))
    kept = epoch_checkpoints(run_dir)
    best = load_checkpoint(run_dir / CHECKPOINT_NAME)["best_epoch"]
    assert rec.status.status == "completed"
    assert {11, 12, best} <= set(kept)
    assert len(kept) < 12
    assert sum(p.stat().st_size for p in kept.values()) <= size * 5.5


def _after(points: list[Point], seq: int) -> list[tuple[int, dict[str, float]]]:
    return [(p.seq, p.values) for p in points if p.seq >= seq]


def test_a_branch_with_no_changes_continues_exactly_as_its_parent(tmp_path: Path) -> None:
    parts: dict[str, object] = {"options": {"max_epochs": 4}}
    parent = _train(parts, tmp_path / "parent", tmp_path)
    at = epoch_checkpoints(tmp_path / "parent")[2]
    branch = _train(parts, tmp_path / "branch", tmp_path, branch_from=at)
    start = int(load_checkpoint(at)["seq"])
    assert branch.started.resumed_from_iteration == 12
    assert branch.points and branch.points[0].seq == start
    assert _after(branch.points, start) == _after(parent.points, start)  # bit for bit


@pytest.mark.parametrize("solver", ["sgdm", "adam"])
def test_a_branch_with_another_learn_rate_logs_it_from_the_branch_point(
    tmp_path: Path, solver: str
) -> None:
    options = {"max_epochs": 3, "solver": solver, "initial_learn_rate": 0.01}
    parent = _train({"options": options}, tmp_path / "parent", tmp_path)
    at = epoch_checkpoints(tmp_path / "parent")[1]
    changed = {**options, "initial_learn_rate": 0.001}
    branch = _train({"options": changed}, tmp_path / "branch", tmp_path, branch_from=at)
    rates = {p.iteration: p.values["learn_rate"] for p in branch.train_points()}
    assert min(rates) == 7 and all(r == pytest.approx(0.001) for r in rates.values())
    before = [p.values["learn_rate"] for p in parent.train_points() if p.iteration <= 6]
    assert all(r == pytest.approx(0.01) for r in before)
    # Not the parent's curve with a label changed: the losses part ways after the branch.
    parent_after = [p.values["train_loss"] for p in parent.train_points() if p.iteration > 6]
    assert [p.values["train_loss"] for p in branch.train_points()] != parent_after


def test_a_branch_to_another_solver_starts_its_state_fresh(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    _train({"options": {"max_epochs": 2, "solver": "sgdm"}}, parent, tmp_path)
    rec = _train(
        {"options": {"max_epochs": 3, "solver": "adam"}},
        tmp_path / "branch",
        tmp_path,
        branch_from=epoch_checkpoints(parent)[2],
    )
    assert rec.status.status == "completed"
    assert {p.epoch for p in rec.train_points()} == {3}
