"""Events from workers → store → live subscribers. Persist first, then publish.

The executor calls `Pipeline.handle` from its reader thread with batches of `(run_id, event)`:
under load batches grow (one transaction, one chunk per run), when idle they are single events
(lowest latency). A client is never shown a point that a restart would lose, because only what
`Store.ingest` returned as persisted is published.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trainscope.live.hub import Hub, Message
from trainscope.schemas.events import Artefact, Event, Point, Started, Status
from trainscope.store import Store, json_safe

log = logging.getLogger("trainscope.pipeline")


@dataclass(frozen=True, slots=True)
class EncodedPoint:
    """A point as its websocket JSON, encoded once however many clients watch the run."""

    seq: int
    json: str


def encode_point(p: Point) -> EncodedPoint:
    body = {
        "seq": p.seq,
        "iteration": p.iteration,
        "epoch": p.epoch,
        "wall_time": p.wall_time,
        "values": {k: json_safe(v) for k, v in p.values.items()},
    }
    return EncodedPoint(p.seq, json.dumps(body, allow_nan=False, separators=(",", ":")))


class Pipeline:
    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        # During shutdown a worker's graceful "stopped" means "the server went away": the run
        # is recorded as interrupted (resumable), not as stopped by a person.
        self.shutting_down = False
        self.listeners: list[Callable[[int, Event], None]] = []

    def handle(self, batch: list[tuple[int, Event]]) -> None:
        if self.shutting_down:
            batch = [(rid, self._as_interrupted(e)) for rid, e in batch]
        try:
            persisted = self.store.ingest(batch)
        except Exception:
            # The store is the source of truth: what it did not take is not published.
            log.exception("persisting %d events failed", len(batch))
            return
        self.publish(persisted)
        for run_id, event in persisted:
            for listener in self.listeners:
                listener(run_id, event)

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
        for run_id, event in events:
            out = run_messages.setdefault(run_id, [])
            if isinstance(event, Point):
                if out and out[-1]["type"] == "points":
                    out[-1]["points"].append(encode_point(event))
                else:
                    out.append({"type": "points", "points": [encode_point(event)]})
                progressed[run_id] = event
            elif isinstance(event, (Started, Status)):
                run = self.store.get_run(run_id)
                if run is None:
                    continue
                run_json = run.to_json()
                status_msg: Message = {
                    "type": "status",
                    "status": run_json["status"],
                    "finish_reason": run_json["finish_reason"],
                    "message": run_json["message"],
                    "run": run_json,
                }
                out.append(status_msg)
                list_messages.append({"type": "run", "run": run_json})
            elif isinstance(event, Artefact):
                out.append({"type": "artefact", "name": event.name})
        for run_id, last in progressed.items():
            # From the batch itself, not the database: this runs for every batch.
            list_messages.append(
                {
                    "type": "progress",
                    "_key": ("progress", run_id),
                    "id": run_id,
                    "progress": {"iteration": last.iteration, "epoch": last.epoch},
                    "last_seq": last.seq,
                    "latest": json_safe(last.values),
                }
            )
        self.hub.publish({k: v for k, v in run_messages.items() if v}, list_messages)

    def announce(self, run_json: dict[str, Any]) -> None:
        """A run created, deleted or changed by a REST call (not by a worker)."""
        self.hub.publish(
            {run_json["id"]: [{"type": "status", "status": run_json["status"], "run": run_json}]},
            [{"type": "run", "run": run_json}],
        )

    def announce_deleted(self, run_id: int) -> None:
        message = {"type": "deleted", "id": run_id}
        self.hub.publish({run_id: [message]}, [message])
