"""Preflight run kinds (initial-loss, overfit-batch, lr-range-test) and the update/weight ratio
telemetry, trained for real on digits."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.engine.conftest import Recording, spec_of
from trainscope.engine.loop import train
from trainscope.engine.probes import range_learn_rate
from trainscope.schemas.spec import OVERFIT_BATCHES, OVERFIT_ITERATIONS, LRRangeSpec, RunSpec


def run(tmp_path: Path, spec: RunSpec) -> Recording:
    rec = Recording()
    train(spec, rec, data_dir=tmp_path)
    return rec


def test_initial_loss_trains_one_iteration_on_fresh_weights(tmp_path: Path) -> None:
    rec = run(tmp_path, spec_of(kind="initial-loss", options={"max_epochs": 30}))
    (point,) = rec.points  # no validation, no test point
    assert point.iteration == 1 and set(point.values) >= {"train_loss", "train_accuracy"}
    # Ten balanced classes and small initial weights: close to ln 10.
    assert abs(point.values["train_loss"] - math.log(10)) < 0.5
    assert rec.status.status == "completed" and rec.started.max_iterations == 1
    assert rec.artefacts == {}


@pytest.mark.slow
def test_overfit_batch_fits_four_batches_without_l2_or_validation(tmp_path: Path) -> None:
    spec = spec_of(
        kind="overfit-batch",
        options={"solver": "adam", "l2_regularization": 0.5, "validation_frequency": 10},
    )
    rec = run(tmp_path, spec)
    started = rec.started
    assert started.n_train == OVERFIT_BATCHES * 50
    assert started.max_iterations == OVERFIT_ITERATIONS
    assert [p.iteration for p in rec.points] == list(range(1, OVERFIT_ITERATIONS + 1))
    assert not any("val_loss" in p.values or "test_loss" in p.values for p in rec.points)
    # An L2 of 0.5 would hold the mlp far from fitting; the probe turns it off and it fits.
    assert rec.points[-1].values["train_accuracy"] == 1.0
    assert rec.status.status == "completed"


@pytest.mark.slow
def test_lr_range_test_raises_the_rate_exponentially_until_the_loss_explodes(
    tmp_path: Path,
) -> None:
    spec = spec_of(
        kind="lr-range-test",
        lr_range={"start_learn_rate": 1e-5, "end_learn_rate": 100, "iterations": 200},
        options={"solver": "sgdm", "max_epochs": 1},
    )
    rec = run(tmp_path, spec)
    lrs = [p.values["learn_rate"] for p in rec.points]
    assert lrs[0] == pytest.approx(1e-5)
    ratios = [b / a for a, b in itertools.pairwise(lrs)]
    assert all(r == pytest.approx(ratios[0]) for r in ratios)  # the same factor every step
    assert ratios[0] == pytest.approx((100 / 1e-5) ** (1 / 199))
    # sgdm at lr 100 cannot survive: the run ends early, completed, not diverged.
    assert rec.status.status == "completed" and rec.status.finish_reason == "loss-exploded"
    assert len(rec.points) < 200 and rec.started.max_iterations == 200
    assert not any("val_loss" in p.values for p in rec.points)


def test_lr_range_test_that_never_explodes_ends_at_the_last_rate(tmp_path: Path) -> None:
    spec = spec_of(
        kind="lr-range-test",
        lr_range={"start_learn_rate": 1e-6, "end_learn_rate": 1e-3, "iterations": 30},
        options={"solver": "adam"},
    )
    rec = run(tmp_path, spec)
    assert len(rec.points) == 30
    assert rec.points[-1].values["learn_rate"] == pytest.approx(1e-3)
    assert rec.status.finish_reason == "range-end"


def test_range_schedule_and_its_checks() -> None:
    lr = range_learn_rate(LRRangeSpec(start_learn_rate=1e-7, end_learn_rate=10, iterations=300))
    assert lr(1) == pytest.approx(1e-7) and lr(300) == pytest.approx(10)
    with pytest.raises(ValidationError, match="must be above start_learn_rate"):
        LRRangeSpec(start_learn_rate=1, end_learn_rate=0.1)
    with pytest.raises(ValidationError, match="kind"):
        spec_of(kind="sweep")


def test_update_ratios_are_recorded_per_layer_every_n_iterations(tmp_path: Path) -> None:
    rec = run(tmp_path, spec_of(options={"update_ratio_frequency": 3, "max_epochs": 2}))
    with_ratios = [p for p in rec.points if any(k.startswith("update_ratio/") for k in p.values)]
    assert [p.iteration for p in with_ratios] == [3, 6, 9, 12]
    names = sorted(k for k in with_ratios[0].values if k.startswith("update_ratio/"))
    # The mlp preset: two fully connected layers in the list, plus the output layer.
    assert names == ["update_ratio/1_fc", "update_ratio/3_fc", "update_ratio/output"]
    for p in with_ratios:
        for name in names:
            assert 1e-6 < p.values[name] < 1  # sgdm at 0.01 on digits: about 1e-3
        assert p.values["train_loss"] > 0  # still the iteration's own point


@pytest.mark.slow
def test_update_ratios_leave_the_training_unchanged(tmp_path: Path) -> None:
    plain = run(tmp_path, spec_of())
    watched = run(tmp_path, spec_of(options={"update_ratio_frequency": 2}))
    assert [p.values["train_loss"] for p in plain.train_points()] == [
        p.values["train_loss"] for p in watched.train_points()
    ]
    assert plain.points[-1].values["test_loss"] == watched.points[-1].values["test_loss"]
