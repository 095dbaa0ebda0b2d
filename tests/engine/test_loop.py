"""The training loop as a user sees it: points, validation, stops, divergence, resume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from trainscope.schemas.events import CheckpointSaved, Event, Point

from .conftest import Runner, spec_of


def comparable(points: list[Point]) -> list[tuple[Any, ...]]:
    """Everything but wall_time, which is when it happened, not what happened."""
    return [(p.seq, p.iteration, p.epoch, sorted(p.values.items())) for p in points]


@pytest.mark.slow
def test_iterations_per_epoch_drop_the_last_incomplete_batch(run: Runner) -> None:
    # 300 training samples, batches of 70 → floor(300 / 70) = 4 iterations per epoch.
    rec = run(spec_of(options={"mini_batch_size": 70, "max_epochs": 3}))
    assert rec.started.n_train == 300
    assert rec.started.iterations_per_epoch == 4
    assert rec.started.max_iterations == 12
    train = rec.train_points()
    assert [p.iteration for p in train] == list(range(1, 13))
    assert [p.epoch for p in train] == [1] * 4 + [2] * 4 + [3] * 4
    assert rec.status.status == "completed"
    assert rec.status.finish_reason == "max-epochs"


def test_points_carry_the_design_metric_names(run: Runner) -> None:
    rec = run(spec_of(options={"validation_frequency": 5}))  # 6 iterations per epoch, 12 in all
    train = rec.train_points()
    assert all(
        {"train_loss", "train_accuracy", "learn_rate", "grad_norm"} <= p.values.keys()
        for p in train
    )
    validated = [p.iteration for p in train if "val_loss" in p.values]
    # every validation_frequency iterations, and after the final iteration
    assert validated == [5, 10, 12]
    assert all(0 <= p.values["val_accuracy"] <= 1 for p in train if "val_accuracy" in p.values)
    seqs = [p.seq for p in rec.points]
    assert seqs == list(range(1, len(seqs) + 1))
    last = rec.points[-1]
    assert set(last.values) == {"test_loss", "test_accuracy"}
    assert last.iteration == 12
    cm = rec.artefacts["confusion_matrix"]
    assert len(cm["class_names"]) == 10
    assert sum(map(sum, cm["counts"])) == rec.started.n_test
    correct = sum(cm["counts"][i][i] for i in range(10))
    assert correct / rec.started.n_test == pytest.approx(last.values["test_accuracy"])


@pytest.mark.slow
def test_it_learns_digits(run: Runner) -> None:
    rec = run(
        spec_of(
            dataset={"max_train_samples": None},
            options={"max_epochs": 5, "mini_batch_size": 32, "validation_frequency": 30},
        )
    )
    assert rec.points[-1].values["test_accuracy"] > 0.85


def test_regression_reports_rmse_and_predictions(run: Runner) -> None:
    rec = run(
        spec_of(
            dataset={"name": "sine-forecast", "num_samples": 400, "sequence_length": 20},
            model={"preset": "gru"},
            options={"solver": "adam", "max_epochs": 2},
        )
    )
    train = rec.train_points()
    assert {"train_loss", "train_rmse", "learn_rate", "grad_norm"} <= train[0].values.keys()
    assert "val_rmse" in train[-1].values
    assert set(rec.points[-1].values) == {"test_loss", "test_rmse"}
    pred = rec.artefacts["predictions"]
    assert len(pred["predicted"]) == len(pred["target"]) == rec.started.n_test


def test_learn_rate_in_points_follows_the_schedule(run: Runner) -> None:
    rec = run(
        spec_of(
            options={
                "learn_rate_schedule": "piecewise",
                "learn_rate_drop_period": 1,
                "learn_rate_drop_factor": 0.5,
                "max_epochs": 3,
            }
        )
    )
    for p in rec.train_points():
        assert p.values["learn_rate"] == pytest.approx(0.01 * 0.5 ** (p.epoch - 1))


def test_same_seed_same_points_other_seed_other_points(run: Runner) -> None:
    spec = spec_of(
        model={
            "layers": [
                {"type": "fc", "units": 32},
                {"type": "relu"},
                {"type": "dropout", "probability": 0.3},
            ]
        },
        options={"shuffle": "every-epoch"},
    )
    a, b = run(spec), run(spec)
    assert comparable(a.points) == comparable(b.points)
    other = spec.model_copy(update={"options": spec.options.model_copy(update={"seed": 1})})
    c = run(other)
    assert comparable(a.points) != comparable(c.points)


def test_non_finite_loss_ends_the_run_as_diverged_at_that_iteration(run: Runner) -> None:
    rec = run(
        spec_of(
            dataset={"name": "spirals"},
            options={"solver": "sgd", "initial_learn_rate": 1e12, "l2_regularization": 0},
        )
    )
    status = rec.status
    assert status.status == "diverged"
    last = rec.points[-1]
    assert not math.isfinite(last.values["train_loss"])
    assert last.iteration == status.iteration
    assert all(math.isfinite(p.values["train_loss"]) for p in rec.points[:-1])
    assert "test_loss" not in last.values
    assert "initial_learn_rate" in (status.message or "")


def test_validation_patience_stops_early(run: Runner) -> None:
    # A learn rate so small the weights cannot change in float32: the validation loss never
    # improves after the first validation, so patience 2 ends the run at the third validation.
    rec = run(
        spec_of(
            options={
                "solver": "sgd",
                "initial_learn_rate": 1e-30,
                "l2_regularization": 0,
                "validation_frequency": 1,
                "validation_patience": 2,
                "max_epochs": 5,
            }
        )
    )
    assert rec.status.status == "completed"
    assert rec.status.finish_reason == "validation-patience"
    assert [p.iteration for p in rec.train_points()] == [1, 2, 3]
    assert "test_accuracy" in rec.points[-1].values


def test_should_stop_is_seen_within_one_iteration(run: Runner, tmp_path: Path) -> None:
    seen: list[int] = []
    rec = run(
        spec_of(),
        should_stop=lambda: len(seen) >= 3,
        emit=lambda e: seen.append(1) if isinstance(e, Point) else None,
        run_dir=tmp_path / "r",
    )
    assert rec.status.status == "stopped"
    assert [p.iteration for p in rec.points] == [1, 2, 3]
    assert (tmp_path / "r" / "checkpoint.pt").exists()


def test_too_large_mini_batch_fails_with_a_clear_message(run: Runner) -> None:
    rec = run(spec_of(options={"mini_batch_size": 1000}))
    assert rec.status.status == "failed"
    assert rec.status.message == (
        "mini_batch_size 1000 is larger than the 300 training samples; set it to 300 or less"
    )


def test_gpu_requested_without_cuda_fails_clearly(run: Runner) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")  # CI has none; the message is what is tested
    rec = run(spec_of(options={"execution_environment": "gpu"}))
    assert rec.status.status == "failed"
    assert "no CUDA device" in (rec.status.message or "")


RESUME_SPEC: dict[str, Any] = {
    "model": {
        "layers": [
            {"type": "fc", "units": 32},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "dropout", "probability": 0.2},
        ]
    },
    "options": {
        "max_epochs": 4,
        "shuffle": "every-epoch",
        "validation_frequency": 5,
        "learn_rate_schedule": "plateau",
        "learn_rate_drop_period": 1,
        "output_network": "best-validation-loss",
        "solver": "adam",
    },
}


class Crash(Exception):
    pass


@pytest.mark.slow
@pytest.mark.parametrize("where", ["epoch-checkpoint", "stop-mid-epoch"])
def test_resume_gives_the_same_points_as_an_uninterrupted_run(
    run: Runner, tmp_path: Path, where: str
) -> None:
    spec = spec_of(**RESUME_SPEC)
    whole = run(spec, run_dir=tmp_path / "whole")

    part_dir = tmp_path / "part"
    if where == "epoch-checkpoint":
        # The process dies right after the second epoch's checkpoint (a crash, not a stop).
        saved: list[int] = []

        def crash_after_second_checkpoint(e: Event) -> None:
            if isinstance(e, CheckpointSaved):
                saved.append(e.iteration)
                if len(saved) == 2:
                    raise Crash

        with pytest.raises(Crash):
            run(spec, run_dir=part_dir, emit=crash_after_second_checkpoint)
        from trainscope.engine.checkpoint import load_checkpoint

        resumed_at = int(load_checkpoint(part_dir / "checkpoint.pt")["seq"])
        first_points: list[Point] = [p for p in whole.points if p.seq < resumed_at]
    else:
        count: list[int] = []
        first = run(
            spec,
            run_dir=part_dir,
            should_stop=lambda: len(count) >= 9,
            emit=lambda e: count.append(1) if isinstance(e, Point) else None,
        )
        assert first.status.status == "stopped"
        first_points = first.points

    second = run(spec, run_dir=part_dir, resume=True)
    assert second.started.resumed_from_iteration == first_points[-1].iteration
    assert second.status.status == "completed"
    assert comparable(first_points + second.points) == comparable(whole.points)
    assert second.artefacts == whole.artefacts


def test_resume_without_a_checkpoint_fails_clearly(run: Runner, tmp_path: Path) -> None:
    rec = run(spec_of(), run_dir=tmp_path / "empty", resume=True)
    assert rec.status.status == "failed"
    assert "no checkpoint" in (rec.status.message or "")


@pytest.mark.slow
def test_output_network_best_validation_loss_tests_the_best_network(
    run: Runner, tmp_path: Path
) -> None:
    import torch

    from trainscope.engine.checkpoint import load_checkpoint

    spec = spec_of(
        options={
            "output_network": "best-validation-loss",
            "initial_learn_rate": 0.5,
            "validation_frequency": 2,
            "max_epochs": 3,
        }
    )
    rec = run(spec, run_dir=tmp_path / "r")
    final = load_checkpoint(tmp_path / "r" / "model.pt")["model"]
    ckpt = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert all(torch.equal(final[k], ckpt["best_state"][k]) for k in final)
    best = min(p.values["val_loss"] for p in rec.points if "val_loss" in p.values)
    assert ckpt["best_val_loss"] == best


@pytest.mark.slow
def test_no_test_split_means_no_test_point(run: Runner) -> None:
    rec = run(spec_of(dataset={"test_fraction": 0}))
    assert rec.status.status == "completed"
    assert rec.started.n_test == 0
    assert all("test_loss" not in p.values for p in rec.points)
    assert rec.artefacts == {}


def _dataset_fixtures(tmp_path: Path) -> dict[str, dict[str, Any]]:
    import numpy as np

    from .test_datasets import tiny_mnist

    tiny_mnist(tmp_path / "mnist", gz=True, n_train=200, n_test=40, rows=28, cols=28)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    np.savez(tmp_path / "f.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    csv = "a,b,y\n" + "\n".join(f"{x:.3f},{2 * x:.3f},{x * x:.3f}" for x in rng.normal(size=120))
    (tmp_path / "f.csv").write_text(csv)
    return {
        "digits": {"name": "digits"},
        "mnist": {"name": "mnist", "path": str(tmp_path / "mnist")},
        "fashion-mnist": {"name": "fashion-mnist", "path": str(tmp_path / "mnist")},
        "synthetic-images": {"name": "synthetic-images", "num_samples": 300, "image_size": 16},
        "spirals": {"name": "spirals"},
        "sine-forecast": {"name": "sine-forecast", "num_samples": 300, "sequence_length": 12},
        "sequence-classes": {"name": "sequence-classes", "num_samples": 300},
        "file-npz": {"name": "file", "path": str(tmp_path / "f.npz")},
        "file-csv": {"name": "file", "path": str(tmp_path / "f.csv")},
    }


IMAGE_DATA = ["digits", "mnist", "fashion-mnist", "synthetic-images"]
SEQUENCE_DATA = ["sine-forecast", "sequence-classes"]
COMBINATIONS = (
    [(d, p) for d in IMAGE_DATA for p in ("mlp", "simple-cnn", "deeper-cnn")]
    + [(d, p) for d in SEQUENCE_DATA for p in ("mlp", "lstm", "gru")]
    + [(d, "mlp") for d in ("spirals", "file-npz", "file-csv")]
)


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "preset"), COMBINATIONS)
def test_every_dataset_and_preset_trains(
    run: Runner, tmp_path: Path, dataset: str, preset: str
) -> None:
    data = _dataset_fixtures(tmp_path)[dataset]
    rec = run(
        spec_of(
            dataset={**data, "max_train_samples": 60},
            model={"preset": preset},
            options={"max_epochs": 2, "mini_batch_size": 20, "validation_frequency": 2},
        )
    )
    assert rec.status.status == "completed", rec.status.message
    train = rec.train_points()
    assert len(train) == 6
    assert all(math.isfinite(p.values["train_loss"]) for p in train)
    assert any(k.startswith("test_") for k in rec.points[-1].values)


@pytest.mark.slow
def test_resume_never_leaves_a_gap_after_what_was_persisted(run: Runner, tmp_path: Path) -> None:
    """A server killed with points still in flight may have stored fewer points than the newest
    checkpoint covers; resume then falls back to the previous checkpoint (or starts over), so
    the stored points plus the resumed ones have no gap."""
    spec = spec_of(**RESUME_SPEC)
    whole = run(spec, run_dir=tmp_path / "whole")
    run_dir = tmp_path / "part"
    saved: list[int] = []

    def crash_after_third_checkpoint(e: Event) -> None:
        if isinstance(e, CheckpointSaved):
            saved.append(e.seq)
            if len(saved) == 3:
                raise Crash

    with pytest.raises(Crash):
        run(spec, run_dir=run_dir, emit=crash_after_third_checkpoint)
    assert (run_dir / "checkpoint.prev.pt").exists()
    # Only the points before the second checkpoint reached the database.
    persisted = saved[1] - 1
    second = run(spec, run_dir=run_dir, resume=True, persisted_seq=persisted)
    assert second.points[0].seq == saved[1]
    stored = [p for p in whole.points if p.seq <= persisted]
    assert comparable(stored + second.points) == comparable(whole.points)
    # Nothing stored at all: start over from the first iteration.
    third = run(spec, run_dir=run_dir, resume=True, persisted_seq=0)
    assert comparable(third.points) == comparable(whole.points)
