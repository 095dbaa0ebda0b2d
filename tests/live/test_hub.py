"""The hub: bounded, coalescing, never blocking the publisher."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from trainscope.live.hub import Hub, Subscriber, coalesce

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop
    running on the main thread, where asyncio.run refuses to start another."""
    out: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if error:
        raise error[0]
    return out[0]


def points(*seqs: int) -> dict[str, object]:
    return {"type": "points", "points": [{"seq": s} for s in seqs]}


def test_consecutive_points_merge_and_other_messages_keep_their_place() -> None:
    merged = coalesce(
        [points(1), points(2, 3), {"type": "status", "status": "completed"}, points(4)]
    )
    assert merged == [
        points(1, 2, 3),
        {"type": "status", "status": "completed"},
        points(4),
    ]


def test_coalescing_does_not_mutate_shared_messages() -> None:
    shared = points(1)
    coalesce([shared, points(2)])
    assert shared == points(1)


def test_subscriber_sends_at_most_every_interval_and_merges() -> None:
    async def scenario() -> list[list[dict[str, object]]]:
        sub = Subscriber(min_interval=0.05)
        sub.offer(points(1))
        first = await sub.get()
        t0 = time.monotonic()
        for s in range(2, 12):
            sub.offer(points(s))
        second = await sub.get()
        assert time.monotonic() - t0 >= 0.04
        return [first, second]

    first, second = run(scenario())
    assert first == [points(1)]
    assert second == [points(*range(2, 12))]


def test_overflow_drops_the_backlog_and_asks_for_resync() -> None:
    async def scenario() -> tuple[list[dict[str, object]], int]:
        sub = Subscriber(max_points=100, min_interval=0)
        for s in range(1, 102):
            sub.offer(points(s))
        sub.offer(points(102))
        return await sub.get(), sub.resyncs

    got, resyncs = run(scenario())
    assert got == [{"type": "resync"}, points(102)]
    assert resyncs == 1


def test_keyed_messages_keep_only_the_newest() -> None:
    async def scenario() -> list[dict[str, object]]:
        sub = Subscriber(min_interval=0)
        sub.offer({"type": "progress", "_key": ("p", 1), "iteration": 1})
        sub.offer({"type": "progress", "_key": ("p", 2), "iteration": 7})
        sub.offer({"type": "progress", "_key": ("p", 1), "iteration": 2})
        return await sub.get()

    assert run(scenario()) == [
        {"type": "progress", "iteration": 2},
        {"type": "progress", "iteration": 7},
    ]


def test_publish_from_another_thread_reaches_only_that_runs_subscribers() -> None:
    async def scenario() -> tuple[list[dict[str, object]], int]:
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        a, b, listing = hub.subscribe_run(1), hub.subscribe_run(2), hub.subscribe_list()
        t = threading.Thread(target=hub.publish, args=({1: [points(5)]}, [{"type": "run"}]))
        t.start()
        t.join()
        got = await asyncio.wait_for(a.get(), 1)
        listed = await asyncio.wait_for(listing.get(), 1)
        assert listed == [{"type": "run"}]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(b.get(), 0.1)
        hub.unsubscribe(a)
        return got, hub.subscriber_count(1)

    got, remaining = run(scenario())
    assert got == [points(5)]
    assert remaining == 0


def test_a_subscriber_that_never_reads_costs_the_publisher_nothing() -> None:
    async def scenario() -> float:
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        hub.subscribe_run(1)  # never read
        t0 = time.perf_counter()
        for s in range(100_000):
            hub._publish({1: [points(s)]}, [])
        return time.perf_counter() - t0

    assert run(scenario()) < 2.0
