"""How much one client may ask of the server: runs started per minute (the queue and the
epochs × samples ceiling are checked where runs are created, in service.py)."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """At most `per_minute` events per key in any sliding 60 s window. Thread-safe: the run
    routes are plain `def`s, run in FastAPI's threadpool."""

    WINDOW_S = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float | None:
        """Count one event for `key`; None when allowed, else the seconds until it would be."""
        t = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= t - self.WINDOW_S:
                events.popleft()
            if len(events) >= self.per_minute:
                return max(0.0, events[0] + self.WINDOW_S - t)
            events.append(t)
            if len(self._events) > 10_000:  # forget idle clients rather than grow forever
                for k in [k for k, v in self._events.items() if not v]:
                    del self._events[k]
            return None
