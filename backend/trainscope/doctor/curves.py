"""`Curves`: a run's metric series as numpy arrays, the doctor's only input besides the options.

Built from the store's columns (`PointColumns`: one row per point, None where a point lacks a
metric). Training points are the rows that carry `train_loss`; the test point at the end
(`test_loss` only) is not one of them. Validation series are the rows that carry `val_loss`.
A long history may have been min/max downsampled by the store, so iterations need not be
contiguous: the rules work on what is there, never on row counts standing for iterations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

TASKS = ("classification", "regression")
# The per-task metric suffix (DESIGN §5): train_accuracy / val_accuracy, train_rmse / val_rmse.
METRIC_KEY = {"classification": "accuracy", "regression": "rmse"}


def _floats_all(column: Sequence[float | None] | None, n: int) -> FloatArray:
    """The whole column as float64, NaN where absent (numpy turns None into NaN)."""
    if column is None:
        return np.full(n, np.nan)
    return np.asarray(column, dtype=np.float64).reshape(n)


def _floats_at(column: Sequence[float | None] | None, rows: list[int]) -> FloatArray:
    if column is None:
        return np.full(len(rows), np.nan)
    return np.asarray([column[i] for i in rows], dtype=np.float64).reshape(len(rows))


def _present(column: Sequence[float | None] | None, values: FloatArray) -> BoolArray:
    """Rows where the metric is present (not None). A NaN is present: it is a diverged loss,
    so only the NaN rows are looked at one by one, unless there are many of them (a sparse
    column, where one pass over the list is quicker)."""
    if column is None:
        return np.zeros(len(values), dtype=np.bool_)
    nan = np.isnan(values)
    rows = np.flatnonzero(nan)
    if len(rows) > 64:
        return np.fromiter((v is not None for v in column), dtype=np.bool_, count=len(values))
    present = ~nan
    for i in rows.tolist():
        present[i] = column[i] is not None
    return present


def guess_task(values: Mapping[str, Any]) -> str:
    if "train_rmse" in values or "val_rmse" in values:
        return "regression"
    return "classification"


@dataclass(frozen=True)
class Curves:
    """A run's curves. Training arrays share one length (points with a train_loss, ascending
    iteration); validation arrays share another."""

    task: str  # "classification" | "regression"
    iteration: IntArray  # 1-based, points that carry train_loss, ascending
    epoch: IntArray
    train_loss: FloatArray  # may hold nan/inf (a diverged run ends on one)
    train_metric: FloatArray  # train_accuracy (0-1) or train_rmse; nan where absent
    learn_rate: FloatArray  # nan where absent
    grad_norm: FloatArray  # nan where absent
    val_iteration: IntArray  # iterations that carry val_loss
    val_epoch: IntArray
    val_loss: FloatArray
    val_metric: FloatArray  # val_accuracy or val_rmse
    iterations_per_epoch: int | None = None
    max_iterations: int | None = None
    n_classes: int | None = None  # classification: number of classes

    def __len__(self) -> int:
        return len(self.iteration)

    @property
    def last_iteration(self) -> int | None:
        return int(self.iteration[-1]) if len(self.iteration) else None

    @classmethod
    def from_columns(
        cls,
        iteration: Sequence[int],
        epoch: Sequence[int],
        values: Mapping[str, Sequence[float | None]],
        info: Mapping[str, Any] | None = None,
    ) -> Curves:
        """From the store's `PointColumns` (`iteration`, `epoch`, `values`) and the run's `info`
        (the Started event's fields: task, iterations_per_epoch, max_iterations, class_names).
        Without info the task is guessed from the metric names."""
        info = info or {}
        n = len(iteration)
        it_all = np.asarray(iteration, dtype=np.int64).reshape(n)
        ep_all = np.asarray(epoch, dtype=np.int64).reshape(n)
        task = info.get("task")
        if task not in TASKS:
            task = guess_task(values)
        key = METRIC_KEY[task]

        # Per-iteration columns are (almost) dense: one conversion each. Validation columns
        # are mostly None: their present rows are found first and only those converted.
        cols = {
            name: _floats_all(values.get(name), n)
            for name in ("train_loss", f"train_{key}", "learn_rate", "grad_norm")
        }
        train_present = _present(values.get("train_loss"), cols["train_loss"])
        train_rows = _by_iteration(it_all, np.flatnonzero(train_present).astype(np.int64))
        val_column = values.get("val_loss")
        found = (
            [i for i, v in enumerate(val_column) if v is not None] if val_column is not None else []
        )
        val_rows = _by_iteration(it_all, np.asarray(found, dtype=np.int64))
        at = val_rows.tolist()
        val_loss = _floats_at(val_column, at)
        val_metric = _floats_at(values.get(f"val_{key}"), at)

        class_names = info.get("class_names")
        n_classes = len(class_names) if isinstance(class_names, (list, tuple)) else None
        if n_classes is None and isinstance(info.get("n_classes"), int):
            n_classes = int(info["n_classes"])
        return cls(
            task=task,
            iteration=it_all[train_rows],
            epoch=ep_all[train_rows],
            train_loss=cols["train_loss"][train_rows],
            train_metric=cols[f"train_{key}"][train_rows],
            learn_rate=cols["learn_rate"][train_rows],
            grad_norm=cols["grad_norm"][train_rows],
            val_iteration=it_all[val_rows],
            val_epoch=ep_all[val_rows],
            val_loss=val_loss,
            val_metric=val_metric,
            iterations_per_epoch=_positive_int(info.get("iterations_per_epoch")),
            max_iterations=_positive_int(info.get("max_iterations")),
            n_classes=n_classes,
        )


def _by_iteration(iteration: IntArray, rows: IntArray) -> IntArray:
    """`rows` in ascending iteration order (a stable sort, only when they are not already)."""
    its = iteration[rows]
    if len(its) > 1 and bool(np.any(its[1:] < its[:-1])):
        return rows[np.argsort(its, kind="stable")]
    return rows


def _positive_int(value: Any) -> int | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    return None
