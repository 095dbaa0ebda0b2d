from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from trainscope.schemas.events import Point
from trainscope.store import RunRecord, Store, sqlite_url

from .postgres import fresh_database

SPEC: dict[str, Any] = {
    "dataset": {"name": "synthetic-images"},
    "model": {"preset": "mlp"},
    "options": {"max_epochs": 3, "gradient_threshold": "inf"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Every store test runs twice: on SQLite and on PostgreSQL."""
    param: str = request.param
    return param


@pytest.fixture
def make_database_url(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes URLs of new, empty databases of the test's backend: SQLite files in `tmp_path`,
    or fresh PostgreSQL databases (postgres.py), dropped at the end of the test."""
    with ExitStack() as stack:
        made = itertools.count()

        def make() -> str:
            n = next(made)
            if backend == "sqlite":
                return sqlite_url(tmp_path / f"db{n}" if n else tmp_path)
            return stack.enter_context(fresh_database())

        yield make


@pytest.fixture
def database_url(make_database_url: Callable[[], str]) -> str:
    return make_database_url()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
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
