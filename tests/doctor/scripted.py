"""Scripted curves for unit tests: exact arrays in, the store's column shape out.

`columns(...)` lays a run out the way `PointColumns` does (one row per point, None where a
point lacks a metric, the test point last) and `scripted(...)` turns that into `Curves`, so
every test goes through `Curves.from_columns` as the live server does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from trainscope.doctor import Curves, RunContext
from trainscope.schemas.options import TrainingOptions

Array = Sequence[float] | np.ndarray


def columns(
    train_loss: Array,
    *,
    per_epoch: int = 10,
    val_every: int = 10,
    val_loss: Array | None = None,
    train_metric: Array | None = None,
    val_metric: Array | None = None,
    learn_rate: Array | float = 0.01,
    task: str = "classification",
    test_point: bool = True,
) -> tuple[list[int], list[int], dict[str, list[float | None]]]:
    """Rows for iterations 1..n. `val_loss`/`val_metric` are per iteration too (length n):
    only the values at validation iterations (every `val_every`, and the last) are kept."""
    loss = np.asarray(train_loss, dtype=np.float64)
    n = len(loss)
    it = list(range(1, n + 1))
    ep = [(i - 1) // per_epoch + 1 for i in it]
    key = "accuracy" if task == "classification" else "rmse"
    lr = np.broadcast_to(np.asarray(learn_rate, dtype=np.float64), (n,))
    metric = np.asarray(train_metric, dtype=np.float64) if train_metric is not None else None
    values: dict[str, list[float | None]] = {
        "train_loss": [float(v) for v in loss],
        f"train_{key}": [float(v) for v in metric] if metric is not None else [math.nan] * n,
        "learn_rate": [float(v) for v in lr],
        "grad_norm": [1.0] * n,
    }
    validated = [i for i in it if i % val_every == 0 or i == n]
    if val_loss is not None:
        vl = np.asarray(val_loss, dtype=np.float64)
        vm = np.asarray(val_metric, dtype=np.float64) if val_metric is not None else None
        values["val_loss"] = [float(vl[i - 1]) if i in validated else None for i in it]
        values[f"val_{key}"] = [
            float(vm[i - 1]) if vm is not None and i in validated else None for i in it
        ]
    if test_point:
        it.append(n)
        ep.append(ep[-1])
        for column in values.values():
            column.append(None)
        values["test_loss"] = [None] * n + [0.5]
        values[f"test_{key}"] = [None] * n + [0.8]
    return it, ep, values


def info(
    per_epoch: int, max_epochs: int, task: str = "classification", n_classes: int = 10
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": task,
        "iterations_per_epoch": per_epoch,
        "max_iterations": per_epoch * max_epochs,
    }
    if task == "classification":
        body["class_names"] = [str(i) for i in range(n_classes)]
    return body


def scripted(
    train_loss: Array,
    *,
    max_epochs: int | None = None,
    n_classes: int = 10,
    **kw: Any,
) -> Curves:
    per_epoch = int(kw.get("per_epoch", 10))
    task = str(kw.get("task", "classification"))
    n = len(train_loss)
    epochs = max_epochs if max_epochs is not None else -(-n // per_epoch)
    it, ep, values = columns(train_loss, **kw)
    return Curves.from_columns(it, ep, values, info(per_epoch, epochs, task, n_classes))


def context(
    *,
    kind: str = "train",
    ended: bool = False,
    status: str | None = None,
    finish_reason: str | None = None,
    **options: Any,
) -> RunContext:
    options.setdefault("execution_environment", "cpu")
    if ended and status is None:
        status = "completed"
        finish_reason = finish_reason or "max-epochs"
    return RunContext(
        options=TrainingOptions(**options),
        kind=kind,
        ended=ended,
        status=status,
        finish_reason=finish_reason,
    )


def decay(n: int, start: float = 2.3, end: float = 0.2, tau: float | None = None) -> np.ndarray:
    """A smooth falling loss from `start` towards `end`."""
    t = np.arange(n, dtype=np.float64)
    return np.asarray(end + (start - end) * np.exp(-t / (tau or n / 5)))


def noisy(x: np.ndarray, sigma: float = 0.03, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(x * np.exp(sigma * rng.standard_normal(len(x))))


def accuracy_of(loss: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """A plausible accuracy for a loss: chance at ln C, 1 at 0."""
    ref = math.log(n_classes)
    frac = np.clip(1 - loss / ref, 0.0, 1.0)
    return np.asarray(1 / n_classes + (1 - 1 / n_classes) * frac**0.6)


def codes(findings: Sequence[Any]) -> set[str]:
    return {f.code for f in findings}
