from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trainscope.schemas.events import Point
from trainscope.store import RunRecord, Store, sqlite_url

SPEC: dict[str, Any] = {
    "dataset": {"name": "synthetic-images"},
    "model": {"preset": "mlp"},
    "options": {"max_epochs": 3, "gradient_threshold": "inf"},
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(sqlite_url(tmp_path))
    yield s
    s.close()


def new_run(store: Store, **kwargs: Any) -> RunRecord:
    args: dict[str, Any] = {"name": None, "parent_id": None, "group": None, "tags": []}
    args.update(kwargs)
    return store.create_run(dict(SPEC), **args)


def training_point(seq: int, *, val_every: int = 50, epoch_len: int = 100) -> Point:
    """A point as the engine makes them: 4 metrics per iteration, validation every 50."""
    values = {
        "train_loss": 2.0 / seq,
        "train_accuracy": min(1.0, seq / 1000),
        "learn_rate": 0.01,
        "grad_norm": 1.0 + (seq % 7) / 10,
    }
    if seq % val_every == 0:
        values["val_loss"] = 2.5 / seq
        values["val_accuracy"] = min(1.0, seq / 1200)
    return Point(seq, seq, 1 + (seq - 1) // epoch_len, 1_700_000_000.0 + seq / 100, values)


def points(run_id: int, first: int, last: int) -> list[tuple[int, Point]]:
    """Events for seqs first..last inclusive."""
    return [(run_id, training_point(s)) for s in range(first, last + 1)]


def now() -> float:
    return time.time()
