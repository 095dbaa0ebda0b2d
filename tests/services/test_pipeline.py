"""The pipeline when the store refuses writes: a real SQLite file, locked for real by another
connection, a real hub on an event loop of its own. Only SQLite's busy timeout is shortened
(10 s in a server) so that the lock outlasts it in a fraction of a second."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trainscope.live.hub import Hub, Message, Subscriber
from trainscope.schemas.events import Status
from trainscope.services.pipeline import Pipeline
from trainscope.store import Store, sqlite_url
from trainscope.store import database as store_database

from ..support import point, spec_json, started

LOCKED = "could not store points: database is locked (sqlite3.OperationalError)"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The server's event loop, here on a thread: the hub's subscribers live on it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(store_database, "BUSY_TIMEOUT_MS", 200)
    store = Store.open(sqlite_url(tmp_path))
    yield store
    store.close()


def on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any]) -> Any:
    async def call() -> Any:
        return fn()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(5)


def next_messages(loop: asyncio.AbstractEventLoop, sub: Subscriber) -> list[Message]:
    return asyncio.run_coroutine_threadsafe(asyncio.wait_for(sub.get(), 5), loop).result(10)


def wait_for(what: Callable[[], bool], timeout: float, describe: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {describe}"
        time.sleep(0.02)


def test_a_batch_the_store_refuses_fails_its_run_stops_it_and_is_recorded_when_it_can_be(
    tmp_path: Path, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    hub = Hub()
    hub.bind(loop)
    pipeline = Pipeline(store, hub)
    run = store.create_run(spec_json("a", 1), name="a", parent_id=None, group=None, tags=[])
    sub: Subscriber = on_loop(loop, lambda: hub.subscribe_run(run.id))
    assert pipeline.handle([(run.id, started(10, 100))]) == set()
    assert pipeline.handle([(run.id, point(s, 10, time.time())) for s in range(1, 6)]) == set()
    assert store.last_seq(run.id) == 5

    locker = sqlite3.connect(tmp_path / store_database.DB_FILENAME, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process's write lock, held past the timeout
    try:
        to_stop = pipeline.handle([(run.id, point(s, 10, time.time())) for s in (6, 7)])
        assert to_stop == {run.id}, "the executor is asked to stop the run"
        told = [m for m in next_messages(loop, sub) if m["type"] == "status"]
        # (The first is the run's start.) Its watchers learn at once, lock or no lock.
        assert [(m["status"], m["message"]) for m in told[1:]] == [("failed", LOCKED)]
        assert told[-1]["run"]["status"] == "failed"

        # The stopped worker's last points and final status: still locked, so the failure
        # cannot be recorded yet; the record says what it said.
        last = [(run.id, point(8, 10, time.time())), (run.id, Status("stopped", iteration=8))]
        assert pipeline.handle(last) == set(), "a run whose worker is done needs no stop"
        record = store.get_run(run.id)
        assert record is not None and record.status == "running"
    finally:
        locker.rollback()
        locker.close()

    # Once the store takes writes again, the failure is recorded without any new event.
    def recorded() -> bool:
        record = store.get_run(run.id)
        return record is not None and record.status == "failed"

    wait_for(recorded, 5, "the failure to be recorded")
    record = store.get_run(run.id)
    assert record is not None and record.message == LOCKED and record.ended_at is not None
    assert store.last_seq(run.id) == 5, "nothing after the failure was stored"

    # Resumed, the run is stored as usual again.
    resumed = [
        (run.id, started(10, 100)),
        *[(run.id, point(s, 10, time.time())) for s in range(6, 11)],
        (run.id, Status("completed", "max-epochs", iteration=10)),
    ]
    assert pipeline.handle(resumed) == set()
    record = store.get_run(run.id)
    assert record is not None and record.status == "completed"
    assert store.last_seq(run.id) == 10


def test_only_the_runs_in_the_refused_batch_fail(
    tmp_path: Path, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    hub = Hub()
    hub.bind(loop)
    pipeline = Pipeline(store, hub)
    a, b = (
        store.create_run(spec_json(n, 1), name=n, parent_id=None, group=None, tags=[])
        for n in ("a", "b")
    )
    pipeline.handle([(a.id, started(10, 100)), (b.id, started(10, 100))])
    locker = sqlite3.connect(tmp_path / store_database.DB_FILENAME, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        assert pipeline.handle([(a.id, point(1, 10, time.time()))]) == {a.id}
    finally:
        locker.rollback()
        locker.close()
    # b's batch arrives once the lock is gone: stored, published, b trains on.
    assert pipeline.handle([(b.id, point(1, 10, time.time()))]) == set()
    assert store.last_seq(b.id) == 1
    # a's stopped worker reports; its final status is recorded as the failure.
    pipeline.handle([(a.id, point(2, 10, time.time())), (a.id, Status("stopped", iteration=2))])
    record_a, record_b = store.get_run(a.id), store.get_run(b.id)
    assert record_a is not None and (record_a.status, record_a.message) == ("failed", LOCKED)
    assert store.last_seq(a.id) == 0
    assert record_b is not None and record_b.status == "running"
