"""`Shipper`: the background thread that takes logged rows off the training loop and delivers
them to a sink (a server, or the local store).

The loop only appends to a `collections.deque` (atomic in CPython, no lock). This thread sends
at most once every `flush_every_s` (sooner on flush/finish): a loop that logs often gets a batch
per interval. Rows logged after a quiet spell (nothing taken for a whole interval: a slow
iteration, a validation pass) go at once, noticed within `IDLE_POLL_S`, so a script that logs
once a second shows each point as it comes rather than up to an interval later. Each send
converts the rows to columns, encodes them once into payloads and sends those in order.

A payload that fails for a passing reason (network error, 5xx, 429, database locked) stays
first in line and is sent again after a backoff (0.1 s doubling to 5 s): nothing is lost, and
since the server skips seqs it already stored, nothing is stored twice. While the sink is away,
up to `max_buffered` points wait in memory; beyond that new ones are dropped, said once on
stderr, never blocking the loop.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from typing import Any

from trainscope.sdk.columns import Row
from trainscope.sdk.sinks import Fatal, Rejected, Sink, Transient

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0
# While idle (a whole interval without rows), how often to look for new ones: a lone point waits
# this long at most; the look is a len() of the deque.
IDLE_POLL_S = 0.01


class Shipper:
    def __init__(
        self,
        sink: Sink,
        rows: deque[Row],
        *,
        flush_every_s: float,
        heartbeat_s: float,
        max_buffered: int,
    ) -> None:
        self.sink = sink
        self.rows = rows
        self.flush_every_s = flush_every_s
        self.heartbeat_s = heartbeat_s
        self.max_buffered = max_buffered
        self.run_id: int | None = None
        self.created = threading.Event()
        self.stop_requested = False
        self.fatal: str | None = None
        self.dropped = 0  # rows dropped because the buffer was full
        self.rejected = 0  # points the sink refused for good (Rejected), also dropped
        self._next_seq = 1
        self._pending: deque[Any] = deque()  # encoded payloads, in seq order
        self._configs: deque[dict[str, Any]] = deque()  # config updates not yet delivered
        self._pending_points = 0
        # Rows taken off the deque, and rows settled (delivered, or dropped for bad values or a
        # full buffer): flush() waits for the second to reach what the first was.
        self._taken = 0
        self._settled = 0
        self._wake = threading.Event()
        self._last_taken = 0.0  # when rows were last taken off the deque (monotonic)
        self._finish: tuple[str, str | None, dict[str, Any]] | None = None
        self._deadline = float("inf")
        self._done = threading.Event()
        self._said: set[str] = set()
        self._flushed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="trainscope-shipper", daemon=True)

    # -- the training loop's side ---------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def add_config(self, config: dict[str, Any]) -> None:
        """Merge `config` into the run's stored config: sent after the points logged before
        it, retried like them, and delivered before the run's final status."""
        self._configs.append(config)
        self._wake.set()

    def flush(self, timeout: float | None) -> bool:
        """Wait until every row logged before the call is delivered; False on timeout."""
        target = self._taken + len(self.rows)
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._flushed:
            while self._settled < target and self.fatal is None and not self._done.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._flushed.wait(timeout=0.05 if left is None else min(left, 0.05))
                self._wake.set()
        return self._settled >= target

    def finish(
        self,
        status: str,
        message: str | None,
        timeout: float,
        summary: dict[str, Any] | None = None,
    ) -> bool:
        """Deliver everything, then the final status (with the run's `summary`, when it has
        one); False when `timeout` ran out first."""
        self._deadline = time.monotonic() + timeout
        self._finish = (status, message, dict(summary or {}))
        self._wake.set()
        self._thread.join(timeout=timeout + 1)
        return self._done.is_set() and self.fatal is None and not self._pending and not self.rows

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._done.set()
            with self._flushed:
                self._flushed.notify_all()
            with contextlib.suppress(Exception):  # closing a connection that broke
                self.sink.close()

    def _loop(self) -> None:
        backoff = 0.0
        retry_at = 0.0  # after a passing failure, nothing is sent before this
        last_sent = time.monotonic()
        first = True  # create the run at once: init() waits for it
        while True:
            if self._finish is None and not first:
                self._pause()
            else:  # finishing: no waiting for the next tick, but a backoff still holds
                delay = min(retry_at, self._deadline) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if time.monotonic() >= self._deadline:
                    self._give_up()
                    return
            first = False
            try:
                self._take_rows()
                now = time.monotonic()
                if now < retry_at:
                    continue
                if self.run_id is None:
                    self.run_id = self.sink.create()
                    self.created.set()
                sent_points = self._send_pending()
                sent_config = self._send_configs()
                if sent_points or sent_config:
                    last_sent = now
                elif now - last_sent >= self.heartbeat_s and self._finish is None:
                    # Nothing to say: say we are alive, and hear about a stop request.
                    self.stop_requested |= self.sink.heartbeat()
                    last_sent = now
                idle = not self.rows and not self._pending and not self._configs
                if self._finish is not None and idle:
                    self.sink.finish(*self._finish)
                    return
                backoff = 0.0
            except Transient as exc:
                backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, backoff * 2))
                retry_at = time.monotonic() + (exc.retry_after_s or backoff)
                self._say(
                    "transient",
                    f"trainscope: {self.sink.description} did not take the points ({exc}); "
                    "retrying, nothing is lost",
                )
            except Fatal as exc:
                self.fatal = str(exc)
                self.stop_requested = True
                self._say("fatal", f"trainscope: the run cannot take points any more ({exc})")
                return
            except Exception as exc:  # a bug must never take the training down
                backoff = BACKOFF_MAX_S
                retry_at = time.monotonic() + backoff
                self._say("bug", f"trainscope: shipping points failed ({exc!r}); retrying")

    def _pause(self) -> None:
        """Until the next send is due: `flush_every_s` after the last rows were taken, but at
        once (within IDLE_POLL_S) for rows logged after a whole interval without any; at most
        one interval when there is nothing to send (the loop's heartbeat and retries). `wake()`
        (flush, finish) cuts it short."""
        due = self._last_taken + self.flush_every_s
        tick = time.monotonic() + self.flush_every_s
        while True:
            now = time.monotonic()
            if now >= tick or (now >= due and self.rows):
                return
            wait = min(tick, due) - now if now < due else IDLE_POLL_S
            if self._wake.wait(timeout=max(wait, 0.0)):
                self._wake.clear()
                return

    def _take_rows(self) -> None:
        n = len(self.rows)
        if not n:
            return
        self._last_taken = time.monotonic()
        popleft = self.rows.popleft
        rows = [popleft() for _ in range(n)]
        self._taken += n
        room = max(0, self.max_buffered - self._pending_points)
        if n > room:
            self.dropped += n - room
            self._settle(n - room)
            rows = rows[:room]
            self._say(
                "full",
                f"trainscope: {self.sink.description} has been away long; {self.max_buffered:,} "
                "points are waiting for it, dropping newer ones until it answers",
            )
        if not rows:
            return
        payloads = self.sink.encode(self._next_seq, rows)
        encoded = 0
        for p in payloads:
            self._pending.append(p)
            self._pending_points += p.points
            self._next_seq = p.first_seq + p.points
            encoded += p.points
        if encoded < len(rows):  # rows with no number among their values
            self._settle(len(rows) - encoded)

    def _send_pending(self) -> bool:
        sent = False
        while self._pending:
            payload = self._pending[0]
            try:
                self.stop_requested |= self.sink.send(payload)
            except Rejected as exc:
                self.rejected += payload.points
                self._say(f"rejected {exc}", f"trainscope: points refused, dropped ({exc})")
            self._pending.popleft()
            self._pending_points -= payload.points
            self._settle(payload.points)
            sent = True
        return sent

    def _send_configs(self) -> bool:
        sent = False
        while self._configs:
            try:
                self.sink.update_config(self._configs[0])
            except Rejected as exc:
                self._say(f"rejected {exc}", f"trainscope: config update refused ({exc})")
            self._configs.popleft()
            sent = True
        return sent

    def _settle(self, rows: int) -> None:
        with self._flushed:
            self._settled += rows
            self._flushed.notify_all()

    def _give_up(self) -> None:
        lost = self._pending_points + len(self.rows)
        if lost or self.run_id is None:
            print(
                f"trainscope: gave up on {self.sink.description} at finish: "
                f"{lost:,} points not delivered"
                + ("" if self.run_id is not None else " (the run was never created)"),
                file=sys.stderr,
            )

    def _say(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            print(message, file=sys.stderr)
