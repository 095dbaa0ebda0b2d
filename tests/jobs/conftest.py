from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trainscope.jobs import Job, LocalExecutor
from trainscope.schemas.events import Event, Point, Status

WORKER_START_S = 60.0  # spawn + torch import + warm-up, on a slow, shared CI machine

_run_ids = itertools.count(1)


def spec_json(**options: Any) -> str:
    """A run of a second or less: 300 spirals, 3 epochs of 6 iterations."""
    return json.dumps(
        {
            "dataset": {"name": "spirals", "num_samples": 300},
            "options": {
                "max_epochs": 3,
                "mini_batch_size": 30,
                "execution_environment": "cpu",
                **options,
            },
        }
    )


# Runs long enough to be stopped or killed mid-way (tests always end them).
LONG = {"max_epochs": 100_000}


class Collector:
    """The executor's on_events: keeps every (arrival time, run id, event), in arrival order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.log: list[tuple[float, int, Event]] = []
        self.threads: set[int] = set()
        # Runs whose events this on_events "could not store": it asks the executor to stop
        # them, as the pipeline does when the database refuses a batch.
        self.refuse: set[int] = set()

    def __call__(self, batch: list[tuple[int, Event]]) -> set[int]:
        now = time.monotonic()
        with self._cond:
            self.threads.add(threading.get_ident())
            self.log.extend((now, run_id, event) for run_id, event in batch)
            self._cond.notify_all()
            return {run_id for run_id, _ in batch if run_id in self.refuse}

    def events(self, run_id: int, since: int = 0) -> list[Event]:
        """The run's events, from position `since` of the log on."""
        with self._cond:
            return [e for _, r, e in self.log[since:] if r == run_id]

    def wait_for(self, what: Callable[[], bool], timeout: float, describe: str) -> None:
        with self._cond:
            if not self._cond.wait_for(what, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {describe}")

    def _has(self, run_id: int, kind: type[Any], since: int = 0) -> bool:
        return any(r == run_id and isinstance(e, kind) for _, r, e in self.log[since:])

    def wait_status(self, run_id: int, timeout: float = 60.0, since: int = 0) -> Status:
        self.wait_for(lambda: self._has(run_id, Status, since), timeout, f"run {run_id}'s status")
        return next(e for e in self.events(run_id, since) if isinstance(e, Status))

    def wait_point(self, run_id: int, timeout: float = 60.0) -> float:
        """Waits for the run's first point; returns when it arrived (monotonic)."""
        self.wait_for(lambda: self._has(run_id, Point), timeout, f"run {run_id}'s first point")
        with self._cond:
            return next(t for t, r, e in self.log if r == run_id and isinstance(e, Point))

    def __len__(self) -> int:
        with self._cond:
            return len(self.log)

    def index_of(self, run_id: int, kind: type[Any]) -> int:
        with self._cond:
            return next(
                i for i, (_, r, e) in enumerate(self.log) if r == run_id and isinstance(e, kind)
            )


MakeJob = Callable[..., Job]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    def _make(spec: str | None = None, resume: bool = False, run_id: int | None = None) -> Job:
        rid = next(_run_ids) if run_id is None else run_id
        return Job(
            run_id=rid,
            spec_json=spec if spec is not None else spec_json(),
            run_dir=str(tmp_path / f"run-{rid}"),
            data_dir=str(tmp_path / "data"),
            resume=resume,
        )

    return _make


def wait_ready(executor: LocalExecutor, workers: int, timeout: float = WORKER_START_S) -> None:
    """Waits for `workers` ready workers with nothing running or queued. (A run's final Status
    reaches on_events a moment before its worker's slot is free again.)"""
    deadline = time.monotonic() + timeout

    def idle() -> bool:
        snap = executor.snapshot()
        return snap["workers_ready"] >= workers and not snap["busy"] and not snap["queued"]

    while not idle():
        if time.monotonic() > deadline:
            raise AssertionError(f"workers not ready after {timeout} s: {executor.snapshot()}")
        time.sleep(0.02)


def started_executor(
    data_dir: Path, slots: int = 1, grace_s: float = 10.0
) -> tuple[LocalExecutor, Collector]:
    executor = LocalExecutor(slots, data_dir, grace_s=grace_s)
    collector = Collector()
    executor.start(collector)
    return executor, collector


@pytest.fixture(scope="module")
def one_slot(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalExecutor, Collector]]:
    """One worker shared by a module's tests: spawning and warming one up takes seconds."""
    # A short grace keeps the test that freezes a worker quick; a real stop takes milliseconds.
    executor, collector = started_executor(tmp_path_factory.mktemp("data"), grace_s=2.0)
    wait_ready(executor, 1)
    yield executor, collector
    executor.shutdown(grace_s=5.0)
