"""Curves.from_columns: the store's columns in, training and validation series out."""

from __future__ import annotations

import math

import numpy as np

from tests.doctor.labelled import draw
from tests.doctor.scripted import columns, info
from trainscope.doctor import Curves, RunContext, diagnose
from trainscope.schemas.options import TrainingOptions


def test_realistic_columns_with_gaps_a_nan_and_the_test_point() -> None:
    loss = [2.3, 2.0, 1.8, 1.7, 1.5, 1.4, math.nan]
    it, ep, values = columns(loss, per_epoch=3, val_every=3, val_loss=[2.2] * 7, test_point=True)
    curves = Curves.from_columns(it, ep, values, info(3, 5))

    assert len(it) == 8  # 7 iterations and the test point
    assert curves.iteration.tolist() == [1, 2, 3, 4, 5, 6, 7]  # the test point is not one
    assert curves.epoch.tolist() == [1, 1, 1, 2, 2, 2, 3]
    assert math.isnan(curves.train_loss[-1])  # the diverged loss survives as a value
    assert curves.val_iteration.tolist() == [3, 6, 7]  # every 3rd and the last
    assert curves.val_loss.tolist() == [2.2, 2.2, 2.2]
    assert curves.task == "classification" and curves.n_classes == 10
    assert curves.iterations_per_epoch == 3 and curves.max_iterations == 15
    assert curves.learn_rate.dtype == np.float64 and curves.iteration.dtype == np.int64


def test_without_info_the_task_is_guessed_from_the_metric_names() -> None:
    it, ep, values = columns([1.0, 0.9, 0.8], task="regression", val_loss=[1, 1, 1])
    curves = Curves.from_columns(it, ep, values, None)
    assert curves.task == "regression"
    assert curves.n_classes is None and curves.iterations_per_epoch is None
    assert curves.val_metric.shape == (1,)  # val_rmse, at the last iteration


def test_absent_metrics_are_nan_and_rows_out_of_order_are_sorted() -> None:
    values: dict[str, list[float | None]] = {
        "train_loss": [0.5, 0.7, 0.6],
        "val_loss": [None, 0.8, None],
    }
    curves = Curves.from_columns([3, 1, 2], [1, 1, 1], values, {})
    assert curves.iteration.tolist() == [1, 2, 3]
    assert curves.train_loss.tolist() == [0.7, 0.6, 0.5]
    assert np.isnan(curves.train_metric).all() and np.isnan(curves.learn_rate).all()
    assert curves.val_iteration.tolist() == [1]


def test_empty_columns_give_empty_curves_and_no_findings() -> None:
    curves = Curves.from_columns([], [], {}, {})
    assert len(curves) == 0 and curves.last_iteration is None
    assert diagnose(curves, RunContext(options=TrainingOptions())) == []


def test_store_downsampled_history_keeps_the_nan_and_rules_still_see_it() -> None:
    """A long run read back with max_points is min/max per bucket: iterations are no longer
    contiguous, but the NaN that ended it is kept, and the diagnosis is the same."""
    rng = np.random.default_rng(3)
    case = draw("diverged-runaway", rng)
    full = case.run.curves()
    small = case.run.curves(max_points=len(full) // 4)
    assert len(small) < len(full)
    assert bool(np.any(np.diff(small.iteration) > 1))
    assert not np.isfinite(small.train_loss[-1])
    ctx = case.run.context()
    assert [f.code for f in diagnose(small, ctx)] == [f.code for f in diagnose(full, ctx)]
