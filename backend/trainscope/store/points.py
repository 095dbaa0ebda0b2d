"""Metric points in `point_chunks`: appending (one chunk per append, merged as they pile up)
and reading back (after a seq, up to a limit).

Rows per point cannot meet the goals (≥ 200,000 points/s in, a 1,000,000-point run read back
downsampled in ≤ 200 ms): SQLite measured ~196k inserts/s and 0.5–1 s for a GROUP BY over a
million rows. So a run's points are stored columnar, a chunk per row:

- every append writes one chunk (all the points one ingest batch holds for that run);
- a chunk of ≥ `SEAL_POINTS` points is sealed and never rewritten;
- when a run has `MERGE_CHUNKS` unsealed chunks they are merged into one, in the same
  transaction, so live runs appending a few points at a time do not leave thousands of tiny
  chunks behind (a 1M-point run ends up as a few hundred chunks).

Invariant: chunks of a run cover disjoint seq ranges, and the unsealed ones are its newest. An
append that is big enough to be sealed at once first takes the unsealed chunks in with it, so
a merge never spans a sealed chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, delete, func, insert, select

from trainscope.store.arrays import PointArrays
from trainscope.store.codec import decode_chunk, encode_chunk
from trainscope.store.database import BINARY_RESULTS
from trainscope.store.jsonsafe import db_loads
from trainscope.store.schema import point_chunks, runs

SEAL_POINTS = 4096
MERGE_CHUNKS = 16


@dataclass(slots=True)
class RunCursor:
    """What the writer keeps in memory per run so that an ingest batch needs no reads."""

    last_seq: int
    unsealed: int
    latest: dict[str, float] = field(default_factory=dict)
    best: dict[str, Any] | None = None

    def copy(self) -> RunCursor:
        best = None if self.best is None else dict(self.best)
        return RunCursor(self.last_seq, self.unsealed, dict(self.latest), best)


def load_cursors(conn: Connection, run_ids: list[int]) -> dict[int, RunCursor]:
    """Cursors of the runs that exist among `run_ids`."""
    if not run_ids:
        return {}
    rows = conn.execute(
        select(runs.c.id, runs.c.last_seq, runs.c.latest, runs.c.best).where(runs.c.id.in_(run_ids))
    ).all()
    unsealed: dict[int, int] = dict(
        conn.execute(
            select(point_chunks.c.run_id, func.count())
            .where(point_chunks.c.run_id.in_(run_ids), point_chunks.c.sealed.is_(False))
            .group_by(point_chunks.c.run_id)
        ).all()
    )
    return {
        row.id: RunCursor(
            last_seq=row.last_seq,
            unsealed=unsealed.get(row.id, 0),
            latest=db_loads(row.latest) or {},
            best=db_loads(row.best),
        )
        for row in rows
    }


def append_points(conn: Connection, run_id: int, points: PointArrays, cursor: RunCursor) -> None:
    """Write `points` (new, in seq order, all after `cursor.last_seq`) as a chunk."""
    if len(points) >= SEAL_POINTS and cursor.unsealed:
        _merge_unsealed(conn, run_id, points, cursor)
        return
    sealed = len(points) >= SEAL_POINTS
    _insert_chunk(conn, run_id, points, sealed)
    if not sealed:
        cursor.unsealed += 1
        if cursor.unsealed >= MERGE_CHUNKS:
            _merge_unsealed(conn, run_id, None, cursor)


# Built once: compiling a statement costs more than running it for a small batch.
_INSERT_CHUNK = insert(point_chunks)


def _insert_chunk(conn: Connection, run_id: int, points: PointArrays, sealed: bool) -> None:
    conn.execute(
        _INSERT_CHUNK,
        {
            "run_id": run_id,
            "first_seq": int(points.seq[0]),
            "last_seq": int(points.seq[-1]),
            "count": len(points),
            "sealed": sealed,
            "data": encode_chunk(points),
        },
    )


def _merge_unsealed(
    conn: Connection, run_id: int, extra: PointArrays | None, cursor: RunCursor
) -> None:
    unsealed = (point_chunks.c.run_id == run_id) & point_chunks.c.sealed.is_(False)
    blobs = conn.execute(
        _select_data().where(unsealed).order_by(point_chunks.c.first_seq)
    ).scalars()
    parts = [decode_chunk(blob) for blob in blobs]
    if extra is not None:
        parts.append(extra)
    merged = PointArrays.concat(parts).sorted_by_seq()
    conn.execute(delete(point_chunks).where(unsealed))
    sealed = len(merged) >= SEAL_POINTS
    _insert_chunk(conn, run_id, merged, sealed)
    cursor.unsealed = 0 if sealed else 1


def progress_update(points: PointArrays, cursor: RunCursor) -> dict[str, Any]:
    """The `runs` columns that new points change; `cursor.latest` and `cursor.best` are
    updated in place."""
    for name, m in points.metrics.items():
        cursor.latest[name] = float(m.values[-1])
    val_loss = points.metrics.get("val_loss")
    if val_loss is not None:
        finite = np.isfinite(val_loss.values)
        if finite.any():
            # argmin over the finite values only; on a tie the earlier validation stays best,
            # as in the engine (`improved = loss < best`).
            candidates = np.where(finite, val_loss.values, np.inf)
            i = int(np.argmin(candidates))
            value = float(candidates[i])
            previous = math.inf if cursor.best is None else cursor.best.get("val_loss", math.inf)
            if value < previous:
                row = i if val_loss.rows is None else int(val_loss.rows[i])
                cursor.best = _best_at(points, row)
    return {
        "iteration": int(points.iteration[-1]),
        "epoch": int(points.epoch[-1]),
        "last_seq": int(points.seq[-1]),
    }


def _best_at(points: PointArrays, row: int) -> dict[str, Any]:
    """Every validation metric at `row`, with where it was."""
    best: dict[str, Any] = {}
    for name, m in points.metrics.items():
        if not name.startswith("val_"):
            continue
        if m.rows is None:
            best[name] = float(m.values[row])
            continue
        i = int(np.searchsorted(m.rows, row))
        if i < len(m.rows) and m.rows[i] == row:
            best[name] = float(m.values[i])
    best["iteration"] = int(points.iteration[row])
    best["epoch"] = int(points.epoch[row])
    best["seq"] = int(points.seq[row])
    return best


def read_arrays(
    conn: Connection,
    run_id: int,
    after_seq: int,
    limit: int | None,
    before_seq: int | None = None,
) -> tuple[PointArrays, int, bool]:
    """(points after `after_seq` and before `before_seq`, at most `limit` of them; how many
    there are in all; whether `limit` left some out). Run inside one transaction: it may query
    twice."""
    where = (point_chunks.c.run_id == run_id) & (point_chunks.c.last_seq > after_seq)
    if before_seq is not None:
        where = where & (point_chunks.c.first_seq < before_seq)
    order = point_chunks.c.first_seq
    if limit is None:
        blobs = conn.execute(_select_data().where(where).order_by(order)).scalars()
        points = _between(_decode_all(blobs), after_seq, before_seq)
        return points, len(points), False

    chunks = conn.execute(
        select(point_chunks.c.first_seq, point_chunks.c.count.label("n"))
        .where(where)
        .order_by(order)
    ).all()
    if not chunks:
        return PointArrays.empty(), 0, False
    # Only the first chunk can hold points at or before after_seq (ranges are disjoint), so
    # the chunks after it that add up to `limit` are enough.
    needed, collected = len(chunks), 0
    for i in range(1, len(chunks)):
        if collected >= limit:
            needed = i
            break
        collected += chunks[i].n
    blobs = conn.execute(
        _select_data()
        .where(where, point_chunks.c.first_seq <= chunks[needed - 1].first_seq)
        .order_by(order)
    ).scalars()
    points = _between(_decode_all(blobs), after_seq, before_seq)
    # The chunks left unread lie wholly inside the window but the last one (ranges are
    # disjoint and ordered), which may reach past before_seq: counted as a whole, total is an
    # upper bound there. has_more is exact either way.
    total = len(points) + sum(c.n for c in chunks[needed:])
    return points.slice(0, limit), total, total > limit


def _select_data() -> Select[Any]:
    """SELECT of chunk blobs, fetched in binary where the driver would otherwise hex them."""
    return select(point_chunks.c.data).execution_options(**{BINARY_RESULTS: True})


def _decode_all(blobs: Any) -> PointArrays:
    return PointArrays.concat([decode_chunk(blob) for blob in blobs]).sorted_by_seq()


def _between(points: PointArrays, after_seq: int, before_seq: int | None) -> PointArrays:
    start = int(np.searchsorted(points.seq, after_seq, side="right"))
    end = len(points) if before_seq is None else int(np.searchsorted(points.seq, before_seq))
    return points.slice(start, max(start, end))


def chunk_stats(conn: Connection, run_id: int) -> list[tuple[int, int, int, bool]]:
    """(first_seq, last_seq, count, sealed) of each of a run's chunks, for tests and tools."""
    rows = conn.execute(
        select(
            point_chunks.c.first_seq,
            point_chunks.c.last_seq,
            point_chunks.c.count.label("n"),
            point_chunks.c.sealed,
        )
        .where(point_chunks.c.run_id == run_id)
        .order_by(point_chunks.c.first_seq)
    ).all()
    return [(r.first_seq, r.last_seq, r.n, bool(r.sealed)) for r in rows]
