"""How much one client may ask of the server (docs/security.md), in one place: the queue's
length, the runs started per minute, the work one spec asks for and the files it may read.

The runs service admits every run it creates, the sweep scheduler every trial before the sweep
is recorded; both raise the refusals of services/errors.py, which web/ answers as 422 or 429.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from trainscope.config import Settings
from trainscope.data_layout import UPLOAD_PATH
from trainscope.schemas.spec import EXTERNAL_KIND, SCRIPT_KIND, RunSpec
from trainscope.services.errors import SpecRejected, TooManyRuns
from trainscope.store import Store


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


class Admission:
    """The server's limits on starting runs, from its settings."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.rate = RateLimiter(settings.runs_per_minute)

    def admit(self, spec: RunSpec, client: str | None, count: int = 1) -> None:
        """The server's limits on starting a run (docs/security.md): the queue's length, the
        client's rate, the work a spec asks for, the files it may read. `count`: runs this
        request starts at once (a repeat): the queue must hold them all, and they count as
        one request against the client's rate."""
        s = self.settings
        queued = len(self.store.list_runs(status=["queued"], limit=s.max_queued_runs + 1))
        if queued + count > s.max_queued_runs:
            raise TooManyRuns(
                f"{queued} runs are already waiting for a worker (this server's limit, "
                "TRAINSCOPE_MAX_QUEUED_RUNS); stop some or wait for them to start",
                retry_after_s=30,
            )
        self.check_spec(spec)
        if client is not None:
            self.take_rate(client)

    def take_rate(self, client: str) -> None:
        """Count one request that starts runs against the client's per-minute limit."""
        s = self.settings
        wait = self.rate.take(client)
        if wait is not None:
            raise TooManyRuns(
                f"more than {s.runs_per_minute} runs started in a minute from {client} "
                f"(TRAINSCOPE_RUNS_PER_MINUTE); try again in {wait:.0f} s",
                retry_after_s=wait,
            )

    def check_spec(self, spec: RunSpec) -> None:
        """The limits on what one spec may ask: the work (max_epochs × samples) and the files
        it may read. SpecRejected (a 422 naming the field) when it asks too much."""
        s = self.settings
        if spec.kind == SCRIPT_KIND:
            return  # an entry point's args were checked against its schema (script_runs.py)
        if spec.kind == EXTERNAL_KIND or spec.dataset is None:
            raise SpecRejected(
                ("kind",),
                "an external run is logged by its own script, not trained here: create it "
                "with trainscope.init() (POST /api/runs/external), see docs/sdk.md",
            )
        samples = spec.dataset.train_samples()
        work = spec.options.max_epochs * samples if samples else 0
        if work > s.max_epoch_samples:
            raise SpecRejected(
                ("options", "max_epochs"),
                f"{spec.options.max_epochs:,} epochs × ~{samples:,} training samples = "
                f"{work:.3g} sample passes, more than this server allows "
                f"({s.max_epoch_samples:.3g}, TRAINSCOPE_MAX_EPOCH_SAMPLES); lower max_epochs "
                "or dataset.max_train_samples",
            )
        path = getattr(spec.dataset, "path", None)
        uploaded = (
            isinstance(path, str)
            and UPLOAD_PATH.fullmatch(path) is not None
            and (s.data_dir / path).is_file()
        )
        if spec.dataset.name == "file" and not s.allow_local_files and not uploaded:
            raise SpecRejected(
                ("dataset", "path"),
                "this server reads only uploaded datasets: upload the file with "
                "POST /api/datasets?filename=NAME (trainscope submit does it for you) and "
                "use the path it answers, like uploads/<hash>.npz",
            )
