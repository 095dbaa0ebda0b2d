"""External runs: runs that a user's own training script logs through the SDK
(`trainscope.init`, docs/sdk.md), apart from HTTP.

No executor and no worker: the script is the worker. Its points arrive over REST in batches and
go through the pipeline like a worker's (persisted, then published to websockets, the run list
and the doctor), so the dashboard shows them as it shows any run. A stop asked for in the
dashboard is recorded in the run's `info.stop_requested` and told to the script in the answer
to its next batch; the script then ends the run itself.

A script that goes silent (killed with SIGKILL, its machine gone) cannot say so: a running
external run not heard from for `stale_s` becomes `interrupted`, and its next batch, if one
ever comes (a network outage that ended), makes it `running` again. The SDK sends an empty
batch as a heartbeat when it has nothing to send.
"""

from __future__ import annotations

import logging
import threading
import time

from trainscope.schemas.events import Event, Status
from trainscope.schemas.external import (
    ConfigUpdate,
    ExternalRunCreate,
    FinishBody,
    PointBatch,
    PointsAnswer,
    external_info,
    external_spec,
    with_config,
)
from trainscope.schemas.spec import EXTERNAL_KIND
from trainscope.services.errors import ExternalRunError
from trainscope.services.pipeline import Pipeline
from trainscope.store import FINAL_STATUSES, RunRecord, Store

log = logging.getLogger("trainscope.external")

STALE_S = 60.0
WATCH_EVERY_S = 5.0
SILENT_MESSAGE = (
    "no word from its script for {s:.0f} s (killed, or its network is down); "
    "its next points make it running again"
)


def is_external(run: RunRecord) -> bool:
    return run.spec.get("kind") == EXTERNAL_KIND


class ExternalRuns:
    def __init__(self, store: Store, pipeline: Pipeline, stale_s: float = STALE_S) -> None:
        self._store = store
        self._pipeline = pipeline
        self._stale_s = stale_s
        self._seen: dict[int, float] = {}  # run id → monotonic time of its script's last call
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._watch, name="trainscope-external-watch", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- what the routes call ----------------------------------------------------------------

    def create(self, body: ExternalRunCreate) -> RunRecord:
        spec = external_spec(body)
        run = self._store.create_run(
            spec.model_dump(mode="json"),
            name=spec.name,
            parent_id=None,
            group=spec.group,
            tags=spec.tags,
            status="running",
            info=external_info(body),
            started_at=time.time(),
        )
        self._touch(run.id)
        self._pipeline.announce(run.to_json())
        return run

    def add_points(self, run_id: int, batch: PointBatch) -> PointsAnswer:
        run = self._own(run_id)
        if run.status == "interrupted":
            # Its script is evidently alive: the server restarted, or it was silent a while.
            run = self._revive(run)
        elif run.status in FINAL_STATUSES:
            raise ExternalRunError(
                409, f"run {run_id} has ended ({run.status}): it takes no more points"
            )
        self._touch(run_id)
        points = batch.to_points()
        last_seq = run.last_seq
        stored = 0
        if points and points[-1].seq > last_seq:
            events: list[tuple[int, Event]] = [(run_id, p) for p in points]
            persisted = self._pipeline.persist_and_publish(events)
            stored = len(persisted)
            last_seq = max(last_seq, points[-1].seq) if stored else self._store.last_seq(run_id)
        return PointsAnswer(
            stored=stored, last_seq=last_seq, stop=bool(run.info.get("stop_requested"))
        )

    def finish(self, run_id: int, body: FinishBody) -> RunRecord:
        run = self._own(run_id)
        if run.status in FINAL_STATUSES and run.status != "interrupted":
            if run.status == body.status:
                return run  # the same finish again: its first answer was lost
            raise ExternalRunError(409, f"run {run_id} has already ended ({run.status})")
        if body.summary:
            # Before the status: whoever hears the run ended reads it with its summary.
            self._store.update_run(run_id, info={**run.info, "summary": body.summary})
        event = Status(body.status, message=body.message, iteration=run.iteration)
        self._pipeline.persist_and_publish([(run_id, event)])
        self.forget(run_id)
        return self._get(run_id)

    def update_config(self, run_id: int, body: ConfigUpdate) -> RunRecord:
        """Merge more of the script's options into the run's config (any status: an import
        or a late `add_hparams` may come as the run ends)."""
        run = self._own(run_id)
        spec, info = with_config(run.spec, run.info, body.config)
        updated = self._store.update_run(run_id, spec=spec, info=info)
        if updated is None:
            raise ExternalRunError(404, f"no run with id {run_id}")
        self._pipeline.announce(updated.to_json())
        return updated

    def request_stop(self, run: RunRecord) -> RunRecord:
        """Record the request and answer at once: the script hears it with its next batch."""
        if not run.info.get("stop_requested"):
            updated = self._store.update_run(run.id, info={**run.info, "stop_requested": True})
            if updated is not None:
                run = updated
                self._pipeline.announce(run.to_json())
        return run

    def forget(self, run_id: int) -> None:
        with self._lock:
            self._seen.pop(run_id, None)

    # -- inside ------------------------------------------------------------------------------

    def _get(self, run_id: int) -> RunRecord:
        run = self._store.get_run(run_id)
        if run is None:
            raise ExternalRunError(404, f"no run with id {run_id}")
        return run

    def _own(self, run_id: int) -> RunRecord:
        run = self._get(run_id)
        if not is_external(run):
            kind = run.spec.get("kind", "train")
            raise ExternalRunError(
                409,
                f"run {run_id} is a {kind} run trained by this server's workers; only an "
                "external run (POST /api/runs/external) takes points over REST",
            )
        return run

    def _touch(self, run_id: int) -> None:
        with self._lock:
            self._seen[run_id] = time.monotonic()

    def _revive(self, run: RunRecord) -> RunRecord:
        updated = self._store.update_run(
            run.id, status="running", message=None, finish_reason=None, ended_at=None
        )
        if updated is None:
            raise ExternalRunError(404, f"no run with id {run.id}")
        self._pipeline.announce(updated.to_json())
        return updated

    def _watch(self) -> None:
        while not self._closing.wait(WATCH_EVERY_S):
            try:
                self._interrupt_silent(time.monotonic())
            except Exception:  # never let a database hiccup end the watch
                log.exception("checking external runs failed")

    def _interrupt_silent(self, now: float) -> None:
        with self._lock:
            silent = [rid for rid, t in self._seen.items() if now - t > self._stale_s]
            for rid in silent:
                del self._seen[rid]
        for run_id in silent:
            run = self._store.get_run(run_id)
            if run is None or run.status != "running":
                continue
            message = SILENT_MESSAGE.format(s=self._stale_s)
            log.warning("external run %d: %s", run_id, message)
            event = Status("interrupted", message=message, iteration=run.iteration)
            self._pipeline.persist_and_publish([(run_id, event)])
