"""Events from workers → store → live subscribers. Persist first, then publish.

The executor calls `Pipeline.handle` from its reader thread with batches of `(run_id, event)`:
under load batches grow (one transaction, one chunk per run), when idle they are single events
(lowest latency). A client is never shown a point that a restart would lose, because only what
`Store.ingest` returned as persisted is published.

When the store refuses a batch (the database locked by another process past its busy timeout,
the disk full), the runs in it fail with the store's reason rather than train on unrecorded:
their watchers are told at once, the executor is asked to stop them (`handle` returns their
ids), and their later events are dropped, but for the final status, which is recorded as that
failure. The server itself carries on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from trainscope.live.hub import Hub, Message
from trainscope.schemas.events import Artefact, Event, LogLines, Point, Started, Status
from trainscope.schemas.messages import (
    deleted_message,
    point_body,
    points_message,
    progress_message,
    status_message,
)
from trainscope.store import Store, json_safe
from trainscope.store.console import ConsoleLogs

log = logging.getLogger("trainscope.pipeline")

# How often a failure the store refused to record (disk full) is tried again.
RECORD_RETRY_S = 1.0


class EncodedPoint:
    """A point as its websocket JSON, encoded once however many clients watch the run, and
    only when one does: encoding is most of what publishing a point costs, and most points
    of most runs are watched by nobody (the hub reads `json` on the event loop's thread, for
    a subscriber's frame)."""

    __slots__ = ("_json", "_point", "seq")

    def __init__(self, point: Point) -> None:
        self.seq = point.seq
        self._point: Point | None = point
        self._json: str | None = None

    @property
    def json(self) -> str:
        if self._json is None:
            p = self._point
            assert p is not None
            body = point_body(p.seq, p.iteration, p.epoch, p.wall_time, p.values)
            self._json = json.dumps(body, allow_nan=False, separators=(",", ":"))
            self._point = None
        return self._json


def encode_point(p: Point) -> EncodedPoint:
    return EncodedPoint(p)


def _split_logs(
    batch: list[tuple[int, Event]],
) -> tuple[list[tuple[int, Event]], list[tuple[int, LogLines]]]:
    """(the events for the store, the console lines for the run's console files)."""
    if not any(isinstance(e, LogLines) for _, e in batch):
        return batch, []
    logs = [(rid, e) for rid, e in batch if isinstance(e, LogLines)]
    return [(rid, e) for rid, e in batch if not isinstance(e, LogLines)], logs


def describe_store_error(exc: BaseException) -> str:
    """The driver's own words ("database is locked", "database or disk is full") and its type.

    SQLAlchemy wraps the driver's exception in one whose text adds the SQL statement and a
    link; a person reading a run's status can act on the driver's first line, not on those.
    """
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    lines = str(cause).strip().splitlines()
    kind = type(cause)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return f"{lines[0] if lines else 'no message'} ({name})"


class Pipeline:
    def __init__(self, store: Store, hub: Hub, console: ConsoleLogs | None = None) -> None:
        self.store = store
        self.hub = hub
        # Script runs' stdout and stderr (LogLines events): kept in files, not the database.
        self.console = console
        # During shutdown a worker's graceful "stopped" means "the server went away": the run
        # is recorded as interrupted (resumable), not as stopped by a person.
        self.shutting_down = False
        # Told of each persisted batch, after it was published (the doctor, the sweeps).
        self.listeners: list[Callable[[list[tuple[int, Event]]], None]] = []
        # Runs failed because the store refused their events, with the reason, until their
        # final status has been recorded. Only the executor's thread (handle) touches it.
        self._unstorable: dict[int, str] = {}
        # Failures the store refused to record too, (reason, when), retried by _retrier until
        # it takes writes again: else such a run would read `running` until the next start.
        self._unrecorded: dict[int, tuple[str, float]] = {}
        self._unrecorded_lock = threading.Lock()
        self._retrier: threading.Thread | None = None
        # handle() runs on the executor's thread, persist_and_publish() on REST request threads
        # (external runs): one at a time, so that the failure bookkeeping above has one owner
        # and each run's points are published in the order they were stored.
        self._handle_lock = threading.Lock()

    def handle(self, batch: list[tuple[int, Event]]) -> set[int]:
        """Persist, then publish, a batch of worker events. Returns the runs the executor must
        stop: those whose events the store refused (their status says why)."""
        with self._handle_lock:
            return self._handle(batch)

    def persist_and_publish(self, batch: list[tuple[int, Event]]) -> list[tuple[int, Event]]:
        """Persist, then publish, events from a client that can send them again (the SDK's
        points and final status): the store's refusal is raised to it (the route answers 503
        and the SDK retries), rather than failing its run as for a worker. Returns what was
        persisted (points already stored are left out)."""
        with self._handle_lock:
            persisted = self.store.ingest(batch)
            self.publish(persisted)
            self._tell_listeners(persisted)
        return persisted

    def _handle(self, batch: list[tuple[int, Event]]) -> set[int]:
        if self.shutting_down:
            batch = [(rid, self._as_interrupted(e)) for rid, e in batch]
        if self._unstorable:
            batch, ended = self._after_failure(batch)
        else:
            ended = []
        batch, logs = _split_logs(batch)
        try:
            persisted = self.store.ingest(batch)
        except Exception as exc:
            # The store is the source of truth: what it did not take is not published.
            log.exception("persisting %d events failed", len(batch))
            return self._fail_unstorable(batch, exc)
        for run_id in ended:
            self._unstorable.pop(run_id, None)
        self.publish(persisted)
        if logs:
            self._keep_logs(logs)
        self._tell_listeners(persisted)
        return set()

    def _keep_logs(self, logs: list[tuple[int, LogLines]]) -> None:
        """Keep a batch's console lines, then send them to the run's watchers. A disk that
        refuses them loses console lines, never the run: the points are in the database."""
        if self.console is None:
            return
        messages: dict[int, list[Message]] = {}
        for run_id, event in logs:
            try:
                kept = self.console.append(run_id, event.stream, event.lines)
            except OSError as exc:
                log.warning("run %d: console lines not kept: %s", run_id, exc)
                continue
            out = messages.setdefault(run_id, [])
            if out and out[-1]["type"] == "logs":
                out[-1]["lines"].extend(kept)
            else:
                out.append({"type": "logs", "lines": kept})
        self.hub.publish(messages, [])

    def _tell_listeners(self, persisted: list[tuple[int, Event]]) -> None:
        if persisted:
            for listener in self.listeners:
                listener(persisted)

    def _fail_unstorable(self, batch: list[tuple[int, Event]], exc: Exception) -> set[int]:
        """The store refused `batch`: fail its runs with the store's reason. Returns those whose
        worker is still training them, for the executor to stop.

        Failing is the honest outcome: a run that trained on would show points a restart loses
        (or none at all) and, with its final status unrecorded, would read `running` forever.
        """
        reason = f"could not store points: {describe_store_error(exc)}"
        # A status in the batch was the run's last word: its worker is done with it already.
        over = {rid for rid, event in batch if isinstance(event, Status)}
        to_stop: set[int] = set()
        for run_id in dict.fromkeys(rid for rid, _ in batch):  # each run once, in order
            if run_id not in self._unstorable:
                self._announce_failure(run_id, reason)
            if run_id in over:
                # No later status will come to carry the failure into the store: write it now.
                self._record_failure(run_id, self._unstorable.pop(run_id, reason))
            else:
                # Recorded when its stopped worker's final status arrives (see _after_failure):
                # not before, or the store would call `failed` a run its worker still trains,
                # and a resume asked for in between would find it busy.
                self._unstorable.setdefault(run_id, reason)
                to_stop.add(run_id)
        return to_stop

    def _announce_failure(self, run_id: int, reason: str) -> None:
        """Tell the run's watchers now: recording it may wait for the lock that failed it."""
        log.error("run %d failed: %s", run_id, reason)
        try:
            # Reads still work when writes fail (WAL: a writer's lock never blocks readers).
            run = self.store.get_run(run_id)
        except Exception:
            log.exception("reading run %d failed", run_id)
            return
        if run is None:
            return
        run_json = {**run.to_json(), "status": "failed", "finish_reason": None, "message": reason}
        status = cast(Message, status_message(run_json))
        self.hub.publish({run_id: [status]}, [{"type": "run", "run": run_json}])

    def _record_failure(self, run_id: int, reason: str) -> None:
        failed_at = time.time()
        error = self._try_record(run_id, reason, failed_at)
        if error is None:
            return
        # The store still refuses (disk full). Watchers were told; keep trying in the
        # background, so that the record says `failed` as soon as the store takes writes.
        log.error("recording the failure of run %d failed too; retrying", run_id, exc_info=error)
        with self._unrecorded_lock:
            self._unrecorded[run_id] = (reason, failed_at)
            if self._retrier is None:
                self._retrier = threading.Thread(
                    target=self._retry_records, name="trainscope-record-retry", daemon=True
                )
                self._retrier.start()

    def _try_record(self, run_id: int, reason: str, failed_at: float) -> Exception | None:
        """Write the run's failure; what the store raised when it refused."""
        try:
            self.store.update_run(
                run_id, status="failed", finish_reason=None, message=reason, ended_at=failed_at
            )
        except Exception as exc:
            return exc
        return None

    def _retry_records(self) -> None:
        """On its own thread (the executor's must not wait on it): retry every RECORD_RETRY_S
        until every refused failure is recorded, or the server shuts down (the next start then
        marks such runs interrupted)."""
        while True:
            time.sleep(RECORD_RETRY_S)
            with self._unrecorded_lock:
                pending = dict(self._unrecorded)
                if not pending or self.shutting_down:
                    self._retrier = None
                    return
            for run_id, (reason, failed_at) in pending.items():
                if self._try_record(run_id, reason, failed_at) is None:
                    log.info("recorded the failure of run %d at last", run_id)
                    with self._unrecorded_lock:
                        self._unrecorded.pop(run_id, None)

    def _after_failure(
        self, batch: list[tuple[int, Event]]
    ) -> tuple[list[tuple[int, Event]], list[int]]:
        """Events of runs that failed for the store, as the store should see them: the final
        status becomes that failure; points, checkpoints and artefacts that came after the
        failure are dropped (the curve ends where the store stopped taking it, and a resume
        picks a checkpoint that leaves no gap). Also returns the runs whose status it was."""
        out: list[tuple[int, Event]] = []
        ended: list[int] = []
        for item in batch:
            run_id, event = item
            reason = self._unstorable.get(run_id)
            if reason is None:
                out.append(item)
            elif isinstance(event, Status):
                out.append((run_id, Status("failed", message=reason, iteration=event.iteration)))
                ended.append(run_id)
            elif isinstance(event, Started):
                # A new attempt (resumed): the executor starts one only after the last ended.
                self._unstorable.pop(run_id)
                out.append(item)
        return out, ended

    @staticmethod
    def _as_interrupted(event: Event) -> Event:
        if isinstance(event, Status) and event.status == "stopped":
            return Status(
                "interrupted",
                message="the server shut down during this run; resume continues it",
                iteration=event.iteration,
            )
        return event

    def publish(self, events: list[tuple[int, Event]]) -> None:
        run_messages: dict[int, list[Message]] = {}
        list_messages: list[Message] = []
        progressed: dict[int, Point] = {}
        watched: dict[int, bool] = {}
        for run_id, event in events:
            out = run_messages.setdefault(run_id, [])
            if isinstance(event, Point):
                progressed[run_id] = event
                if run_id not in watched:
                    watched[run_id] = self.hub.watched(run_id)
                if not watched[run_id]:
                    continue  # nobody to send it to: encoding it would be wasted
                if out and out[-1]["type"] == "points":
                    out[-1]["points"].append(encode_point(event))
                else:
                    out.append(cast(Message, points_message([encode_point(event)])))
            elif isinstance(event, (Started, Status)):
                run = self.store.get_run(run_id)
                if run is None:
                    continue
                run_json = run.to_json()
                out.append(cast(Message, status_message(run_json)))
                list_messages.append({"type": "run", "run": run_json})
            elif isinstance(event, Artefact):
                out.append({"type": "artefact", "name": event.name})
        for run_id, last in progressed.items():
            # From the batch and the store's cache, not the database: this runs for every batch.
            best = self.store.cached_best(run_id)
            message = progress_message(
                run_id,
                last.iteration,
                last.epoch,
                last.seq,
                json_safe(last.values),
                json_safe(best) if best is not None else None,
            )
            list_messages.append(cast(Message, message))
        self.hub.publish({k: v for k, v in run_messages.items() if v}, list_messages)

    def announce(self, run_json: dict[str, Any]) -> None:
        """A run created, deleted or changed by a REST call (not by a worker)."""
        self.hub.publish(
            {run_json["id"]: [cast(Message, status_message(run_json))]},
            [{"type": "run", "run": run_json}],
        )

    def announce_deleted(self, run_id: int) -> None:
        message = cast(Message, deleted_message(run_id))
        self.hub.publish({run_id: [message]}, [message])
