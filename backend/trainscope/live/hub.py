"""In-process fan-out of live messages to websocket subscribers.

The pipeline publishes from its own thread; subscribers are served by the asyncio loop. Each
subscriber has a bounded backlog: publishing is an append, never an await, so a slow browser can
never slow the training, the store or the other subscribers. A subscriber that falls further
behind than its bound loses its backlog and is told to `resync` (fetch the missing points over
REST and carry on). Messages to one subscriber are coalesced — at most one send every
`min_interval` seconds, consecutive points merged — so a browser never drowns in tiny frames.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

Message = dict[str, Any]

# One subscriber may hold this many points unsent before it is told to resync.
MAX_PENDING_POINTS = 50_000
MAX_PENDING_MESSAGES = 2_000
MIN_INTERVAL_S = 0.03


class Subscriber:
    """One websocket's mailbox. Lives on the event loop; only the loop touches it."""

    def __init__(
        self,
        max_points: int = MAX_PENDING_POINTS,
        max_messages: int = MAX_PENDING_MESSAGES,
        min_interval: float = MIN_INTERVAL_S,
    ) -> None:
        self._pending: list[Message] = []
        self._keyed: dict[Any, int] = {}  # coalesce key → index in _pending
        self._n_points = 0
        self._max_points = max_points
        self._max_messages = max_messages
        self._min_interval = min_interval
        self._wake = asyncio.Event()
        self._last_send = 0.0
        self.resyncs = 0
        self.closed = False

    def offer(self, message: Message) -> None:
        """Queue a message (called on the loop). Overflow → drop the backlog, send resync."""
        key = message.get("_key")
        if key is not None and key in self._keyed:
            # Run-list progress: only the newest matters.
            self._pending[self._keyed[key]] = message
            return
        if message.get("type") == "points":
            self._n_points += len(message["points"])
        if self._n_points > self._max_points or len(self._pending) >= self._max_messages:
            self._pending = [{"type": "resync"}]
            self._keyed.clear()
            self._n_points = 0
            self.resyncs += 1
            self._wake.set()
            return
        if key is not None:
            self._keyed[key] = len(self._pending)
        self._pending.append(message)
        self._wake.set()

    async def get(self) -> list[Message]:
        """Wait for messages; return them coalesced, no sooner than min_interval after the last."""
        while not self._pending:
            self._wake.clear()
            await self._wake.wait()
        wait = self._last_send + self._min_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # let more arrive: one frame instead of many
        pending, self._pending = self._pending, []
        self._keyed.clear()
        self._n_points = 0
        self._last_send = time.monotonic()
        return coalesce(pending)


def coalesce(messages: Iterable[Message]) -> list[Message]:
    """Merge consecutive `points` messages into one; drop internal keys."""
    out: list[Message] = []
    for m in messages:
        if m.get("type") == "points":
            if out and out[-1].get("type") == "points":
                out[-1]["points"].extend(m["points"])
            else:
                # A copy: the same message object went to every subscriber of the run.
                out.append({"type": "points", "points": list(m["points"])})
            continue
        if "_key" in m:
            m = {k: v for k, v in m.items() if k != "_key"}
        out.append(m)
    return out


class Hub:
    """Channels: one per run (`/ws/runs/{id}`) and one for the run list (`/ws/runs`)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runs: dict[int, set[Subscriber]] = {}
        self._list: set[Subscriber] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    # --- loop side -------------------------------------------------------------------------
    def subscribe_run(self, run_id: int) -> Subscriber:
        sub = Subscriber()
        self._runs.setdefault(run_id, set()).add(sub)
        return sub

    def subscribe_list(self) -> Subscriber:
        sub = Subscriber()
        self._list.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.closed = True
        self._list.discard(sub)
        for run_id, subs in list(self._runs.items()):
            subs.discard(sub)
            if not subs:
                del self._runs[run_id]

    def watched(self, run_id: int) -> bool:
        """Whether anyone subscribes to the run. Safe from any thread (one dict lookup). A
        subscriber that comes after this said no reads the store after subscribing (ws.py),
        so it still gets whatever was stored before the question."""
        return run_id in self._runs

    def subscriber_count(self, run_id: int | None = None) -> int:
        if run_id is None:
            return len(self._list)
        return len(self._runs.get(run_id, ()))

    def _publish(
        self, run_messages: dict[int, list[Message]], list_messages: list[Message]
    ) -> None:
        for run_id, messages in run_messages.items():
            for sub in self._runs.get(run_id, ()):
                for m in messages:
                    sub.offer(m)
        for sub in self._list:
            for m in list_messages:
                sub.offer(m)

    # --- any thread ------------------------------------------------------------------------
    def publish(
        self, run_messages: dict[int, list[Message]], list_messages: list[Message] | None = None
    ) -> None:
        """Hand messages to the loop. Safe from any thread; returns at once."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._publish, run_messages, list_messages or [])
