"""Applying a batch of worker events to the database: the body of `Store.ingest`.

Runs inside the writer's transaction and lock. `cursors` (the per-run state the writer caches:
last stored seq, unsealed chunks, latest values, best validation) are copies that the caller
keeps only once the transaction has committed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, bindparam, update

from trainscope.schemas.events import (
    Artefact,
    CheckpointSaved,
    Event,
    Point,
    Started,
    Status,
)
from trainscope.store import artefacts as artefact_rows
from trainscope.store.arrays import PointArrays
from trainscope.store.jsonsafe import db_dumps
from trainscope.store.points import RunCursor, append_points, progress_update
from trainscope.store.records import FINAL_STATUSES
from trainscope.store.schema import runs

log = logging.getLogger(__name__)

_run_of = itemgetter(0)
_event_of = itemgetter(1)

# Built once and given their values at execution (SET takes the keys of the parameters): on a
# small batch, building and compiling a statement costs more than running it.
_UPDATE_RUN = update(runs).where(runs.c.id == bindparam("target_id"))
# A resumed run keeps the time it first started.
_MARK_STARTED = (
    update(runs)
    .where(runs.c.id == bindparam("target_id"), runs.c.started_at.is_(None))
    .values(started_at=bindparam("now"))
)


def apply_events(
    conn: Connection,
    events: Sequence[tuple[int, Event]],
    cursors: dict[int, RunCursor],
    now: float,
    run_ids: set[int] | None = None,
) -> list[tuple[int, Event]]:
    """Persist `events`; return those persisted, in order. Points at or before their run's
    last stored seq and events of runs without a cursor (deleted, unknown) are left out.
    `run_ids`: the runs in `events`, when the caller has them already."""
    one_run = _new_points_of_one_run(events, cursors, run_ids)
    if one_run is not None:
        run_id, arrays = one_run
        change = _append(conn, run_id, arrays, cursors[run_id])
        conn.execute(_UPDATE_RUN, {"target_id": run_id, **change})
        return list(events)
    persisted: list[tuple[int, Event]] = []
    points: dict[int, list[Point]] = {}
    changes: dict[int, dict[str, Any]] = {}
    # This loop runs once per point, so the previous point's run is kept at hand.
    point_run, point_cursor, point_list = -1, None, []
    for item in events:
        run_id, event = item
        if isinstance(event, Point):
            if run_id != point_run:
                point_run, point_cursor = run_id, cursors.get(run_id)
                point_list = points.setdefault(run_id, [])
            # An unknown run (deleted while its worker was still sending), or a point already
            # stored (a resumed run replays from its checkpoint).
            if point_cursor is None or event.seq <= point_cursor.last_seq:
                continue
            point_cursor.last_seq = event.seq
            point_list.append(event)
            persisted.append(item)
            continue
        if run_id not in cursors:
            continue
        if isinstance(event, Artefact):
            artefact_rows.put_artefact(conn, run_id, event.name, event.data, now)
        elif isinstance(event, Started):
            conn.execute(_MARK_STARTED, {"target_id": run_id, "now": now})
            changes.setdefault(run_id, {}).update(_started(event))
        elif isinstance(event, Status):
            changes.setdefault(run_id, {}).update(_status(event, now))
        elif isinstance(event, CheckpointSaved):
            changes.setdefault(run_id, {})["checkpoint"] = event.path
        else:
            log.warning("dropping unknown event %r for run %d", event, run_id)
            continue
        persisted.append(item)

    for run_id, run_points in points.items():
        if run_points:
            arrays = PointArrays.from_points(run_points)
            progress = _append(conn, run_id, arrays, cursors[run_id])
            # Progress first: a Status in the same batch keeps its say on the status.
            changes[run_id] = progress | changes.get(run_id, {})
    for run_id, change in changes.items():
        conn.execute(_UPDATE_RUN, {"target_id": run_id, **change})
    return persisted


def _new_points_of_one_run(
    events: Sequence[tuple[int, Event]],
    cursors: dict[int, RunCursor],
    run_ids: set[int] | None,
) -> tuple[int, PointArrays] | None:
    """(run id, columns) when the batch is the common one — points of one known run, every
    one new and in seq order — told at C speed (maps, numpy), not by a Python step per point;
    None otherwise (the general loop then sorts the batch out, with the same result). The
    cursor's last_seq moves on as the general loop would move it."""
    if run_ids is None:
        run_ids = set(map(_run_of, events))
    if len(run_ids) != 1:
        return None
    (run_id,) = run_ids
    cursor = cursors.get(run_id)
    if cursor is None:
        return None
    points = list(map(_event_of, events))
    if not all(map(isinstance, points, repeat(Point))):
        return None
    try:
        arrays = PointArrays.from_points(cast(list[Point], points))
    except (TypeError, ValueError, OverflowError):
        return None  # the general loop raises it, unless the point was one to leave out
    seq = arrays.seq
    if seq[0] <= cursor.last_seq or (len(seq) > 1 and not bool(np.all(seq[1:] > seq[:-1]))):
        return None  # some are replays or out of order: the general loop drops those
    cursor.last_seq = int(seq[-1])
    return run_id, arrays


def _append(
    conn: Connection, run_id: int, arrays: PointArrays, cursor: RunCursor
) -> dict[str, Any]:
    """Write one run's new points as a chunk; return the `runs` columns they change."""
    append_points(conn, run_id, arrays, cursor)
    change = progress_update(arrays, cursor)
    change["latest"] = db_dumps(cursor.latest)
    if cursor.best is not None:
        change["best"] = db_dumps(cursor.best)
    return change


def _started(event: Started) -> dict[str, Any]:
    return {
        "status": "running",
        "ended_at": None,
        "finish_reason": None,
        "message": None,
        "info": db_dumps(dataclasses.asdict(event)),
        "device": event.device,
        "max_iterations": event.max_iterations,
        "iterations_per_epoch": event.iterations_per_epoch,
    }


def _status(event: Status, now: float) -> dict[str, Any]:
    return {
        "status": event.status,
        "finish_reason": event.finish_reason,
        "message": event.message,
        "ended_at": now if event.status in FINAL_STATUSES else None,
    }
