"""`Store`: runs, their points, artefacts and findings in one database.

One writer path, many readers. The pipeline thread calls `ingest` (and REST handlers the other
writes); FastAPI's threadpool reads at the same time from pooled connections. Writes are
serialised by a lock (SQLite has one writer anyway, and the in-memory run cursors must change
with the database); reads take no lock and never wait for the writer (SQLite in WAL mode,
PostgreSQL's MVCC).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, select, update

from trainscope.schemas.events import Event
from trainscope.schemas.status import ACTIVE_STATUSES
from trainscope.store import artefacts as artefact_rows
from trainscope.store import findings as finding_rows
from trainscope.store import owners
from trainscope.store.database import lock_schema, make_engine, reader_engine, writer_engine
from trainscope.store.downsample import select_rows
from trainscope.store.ingest import apply_events
from trainscope.store.points import RunCursor, chunk_stats, load_cursors, read_arrays
from trainscope.store.records import PointColumns, RunRecord
from trainscope.store.runs import delete_run_rows, insert_run, select_runs, update_run_row
from trainscope.store.schema import create_or_migrate, runs, schema_version
from trainscope.store.sweeps import (
    SweepRecord,
    claim_trial,
    insert_sweep,
    select_sweeps,
    update_sweep_row,
)

INTERRUPTED_MESSAGE = "the server stopped while this run was {status}"


class Store:
    def __init__(self, engine: Engine) -> None:
        """Use `Store.open(url)`; this takes an engine whose schema is already current."""
        self.engine = engine
        self._reader = reader_engine(engine)
        self._writer = writer_engine(engine)
        self._write_lock = threading.Lock()
        self._cursors: dict[int, RunCursor] = {}
        # This process as recorded in `owners` (register_owner), and its heartbeat's stop.
        self.owner: owners.Owner | None = None
        self._stop_beat = threading.Event()

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to `url` (SQLite or PostgreSQL), creating the tables or migrating them to the
        current version. A PostgreSQL server that cannot be reached raises SQLAlchemy's
        `OperationalError` with the driver's reason: at once when it refuses, after
        `database.CONNECT_TIMEOUT_S` (per address tried) when it does not answer."""
        engine = make_engine(url)
        try:
            with writer_engine(engine).begin() as conn:
                lock_schema(conn)
                create_or_migrate(conn)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        if self.owner is not None:
            self._stop_beat.set()
            try:
                with self._write_lock, self._writer.begin() as conn:
                    owners.release(conn, self.owner)
            except Exception:  # a database gone by now: the row goes stale instead
                pass
        self.engine.dispose()

    def register_owner(
        self,
        kind: str,
        *,
        port: int | None = None,
        data_dir: str | None = None,
        exclusive: bool = False,
    ) -> owners.Owner:
        """Record this process in `owners` and keep its heartbeat until `close()`; the runs
        it creates or starts from now on are its own. `exclusive` (a server): raise
        `owners.OwnerConflict` when another live server uses this database."""
        with self._write_lock, self._writer.begin() as conn:
            self.owner = owners.register(
                conn, kind=kind, port=port, data_dir=data_dir, exclusive=exclusive, now=time.time()
            )
        threading.Thread(target=self._beat, name="trainscope-heartbeat", daemon=True).start()
        return self.owner

    def _beat(self) -> None:
        while not self._stop_beat.wait(owners.HEARTBEAT_S):
            assert self.owner is not None
            try:
                with self._write_lock, self._writer.begin() as conn:
                    owners.heartbeat(conn, self.owner, time.time())
            except Exception:  # a full disk, a database restarting: try again next beat
                continue

    def schema_version(self) -> int:
        with self._reader.connect() as conn:
            return schema_version(conn)

    # ---- runs -------------------------------------------------------------------------------

    def create_run(
        self,
        spec: dict[str, Any],
        *,
        name: str | None,
        parent_id: int | None,
        group: str | None,
        tags: list[str],
        status: str = "queued",
        sweep: tuple[int, int] | None = None,
        info: dict[str, Any] | None = None,
        started_at: float | None = None,
    ) -> RunRecord:
        """`sweep`: (sweep id, trial) when the run is that trial; the sweep's next trial moves
        past it in the same transaction (ValueError when it was not the next one). `info` and
        `started_at`: for a run that starts as it is created (an external run)."""
        with self._write_lock, self._writer.begin() as conn:
            if sweep is not None:
                claim_trial(conn, *sweep)
            run_id = insert_run(
                conn,
                spec=spec,
                name=name,
                parent_id=parent_id,
                group=group,
                tags=tags,
                status=status,
                now=time.time(),
                sweep_id=sweep[0] if sweep else None,
                sweep_trial=sweep[1] if sweep else None,
                info=info,
                started_at=started_at,
                owner_id=self.owner.id if self.owner else None,
            )
            (record,) = select_runs(conn, run_id=run_id)
        return record

    def get_run(self, run_id: int) -> RunRecord | None:
        with self._reader.connect() as conn:
            found = select_runs(conn, run_id=run_id)
        return found[0] if found else None

    def list_runs(
        self,
        *,
        status: Sequence[str] | None = None,
        group: str | None = None,
        tag: str | None = None,
        limit: int | None = 500,
        sweep_id: int | None = None,
        before_id: int | None = None,
        name_contains: str | None = None,
    ) -> list[RunRecord]:
        """Newest first; `status` is any of these statuses; `before_id`: only older runs (the
        next page); `name_contains`: a case-insensitive part of the name."""
        if isinstance(status, str):
            status = [status]
        with self._reader.connect() as conn:
            return select_runs(
                conn,
                status=status,
                group=group,
                tag=tag,
                limit=limit,
                sweep_id=sweep_id,
                before_id=before_id,
                name_contains=name_contains,
            )

    def cached_best(self, run_id: int) -> dict[str, Any] | None:
        """The run's best validation as the last ingest left it (no database read: the
        pipeline asks for every batch); None when unknown here or the run has none yet."""
        cursor = self._cursors.get(run_id)
        return None if cursor is None or cursor.best is None else dict(cursor.best)

    def update_run(self, run_id: int, **fields: Any) -> RunRecord | None:
        """Set `RunRecord` fields by name (`group`, `tags`, `spec`… but not `id`/`last_seq`).
        Returns the updated run, or None when there is none."""
        with self._write_lock, self._writer.begin() as conn:
            if not update_run_row(conn, run_id, fields):
                return None
            if fields.get("status") in ACTIVE_STATUSES and self.owner is not None:
                # A run resumed (or an external run revived) here is this process's now.
                conn.execute(update(runs).where(runs.c.id == run_id).values(owner_id=self.owner.id))
            # latest/best may have changed under the cached cursor: reload it on next use.
            self._cursors.pop(run_id, None)
            (record,) = select_runs(conn, run_id=run_id)
        return record

    def delete_run(self, run_id: int) -> bool:
        """Delete the run with its points, artefacts, findings and tags. Its children keep
        existing with `parent_id` None. False when there was no such run."""
        with self._write_lock:
            with self._writer.begin() as conn:
                deleted = delete_run_rows(conn, run_id)
            self._cursors.pop(run_id, None)
        return deleted

    def interrupt_unfinished(self) -> list[int]:
        """Mark runs a previous server left `running` or `queued` as `interrupted` (resumable
        from their last checkpoint): runs of no owner, of this process, or of an owner that is
        gone (store/owners.py), never a live server's or script's. Returns their ids, oldest
        first."""
        ids: list[int] = []
        now = time.time()
        with self._write_lock, self._writer.begin() as conn:
            live = owners.live_owner_ids(conn, now)
            if self.owner is not None:
                live.discard(self.owner.id)
            for status in ("running", "queued"):
                found = conn.execute(
                    select(runs.c.id, runs.c.owner_id).where(runs.c.status == status)
                )
                status_ids = [rid for rid, owner in found if owner not in live]
                if not status_ids:
                    continue
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(status_ids))
                    .values(
                        status="interrupted",
                        finish_reason=None,
                        message=INTERRUPTED_MESSAGE.format(status=status),
                        ended_at=now,
                    )
                )
                ids.extend(status_ids)
        return sorted(ids)

    # ---- sweeps ------------------------------------------------------------------------------

    def create_sweep(
        self, *, name: str | None, spec: dict[str, Any], trials: list[dict[str, Any]]
    ) -> SweepRecord:
        """A running sweep whose group is `sweep-<id>`; no trial has a run yet."""
        with self._write_lock, self._writer.begin() as conn:
            sweep_id = insert_sweep(conn, name=name, spec=spec, trials=trials, now=time.time())
            (record,) = select_sweeps(conn, sweep_id=sweep_id)
        return record

    def get_sweep(self, sweep_id: int) -> SweepRecord | None:
        with self._reader.connect() as conn:
            found = select_sweeps(conn, sweep_id=sweep_id)
        return found[0] if found else None

    def list_sweeps(
        self, *, status: Sequence[str] | None = None, limit: int | None = 100
    ) -> list[SweepRecord]:
        """Newest first."""
        with self._reader.connect() as conn:
            return select_sweeps(conn, status=status, limit=limit)

    def update_sweep(self, sweep_id: int, **fields: Any) -> SweepRecord | None:
        """Set `status`, `message`, `ended_at`; None when there is no such sweep."""
        with self._write_lock, self._writer.begin() as conn:
            if not update_sweep_row(conn, sweep_id, fields):
                return None
            (record,) = select_sweeps(conn, sweep_id=sweep_id)
        return record

    # ---- the write path ----------------------------------------------------------------------

    def ingest(self, events: Sequence[tuple[int, Event]]) -> list[tuple[int, Event]]:
        """Persist a batch of (run id, event) from workers in one transaction. Returns what was
        persisted, in order: points at or before a run's last stored seq (a resumed run replays
        from its checkpoint) and events of runs that no longer exist are left out. The points
        of one run in a batch become one chunk."""
        if not events:
            return []
        now = time.time()
        with self._write_lock:
            with self._writer.begin() as conn:
                # Work on copies: the cache must not move unless the transaction commits.
                batch_ids = set(map(itemgetter(0), events))  # C speed: once per point
                cursors = {r: self._cursors[r].copy() for r in batch_ids if r in self._cursors}
                cursors.update(load_cursors(conn, sorted(batch_ids - cursors.keys())))
                persisted = apply_events(conn, events, cursors, now, batch_ids)
            # Committed: only now may the cache move on (a rollback leaves it as it was).
            self._cursors.update(cursors)
        return persisted

    # ---- points ------------------------------------------------------------------------------

    def read_points(
        self,
        run_id: int,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int | None = None,
        max_points: int | None = None,
    ) -> PointColumns:
        """Points with seq > `after_seq` (and < `before_seq` when given), in seq order; at
        most `limit` of them (`has_more` says whether some were left out). With `max_points`,
        downsampled: each metric's minimum and maximum per bucket, every non-finite value, the
        first and the last point — at most `max_points` rows plus those with non-finite
        values."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if max_points is not None and max_points < 2:
            raise ValueError("max_points must be >= 2 (the first and the last point)")
        with self._reader.begin() as conn:
            arrays, total, has_more = read_arrays(conn, run_id, after_seq, limit, before_seq)
        downsampled = False
        if max_points is not None and len(arrays) > max_points:
            arrays = arrays.take(select_rows(arrays, max_points))
            downsampled = True
        return PointColumns.from_arrays(
            arrays, downsampled=downsampled, total=total, has_more=has_more, after_seq=after_seq
        )

    def last_seq(self, run_id: int) -> int:
        """The seq of the run's last stored point; 0 when it has none (or does not exist)."""
        with self._reader.connect() as conn:
            value = conn.execute(select(runs.c.last_seq).where(runs.c.id == run_id)).scalar()
        return int(value or 0)

    def chunk_stats(self, run_id: int) -> list[tuple[int, int, int, bool]]:
        """(first_seq, last_seq, count, sealed) per stored chunk of the run."""
        with self._reader.connect() as conn:
            return chunk_stats(conn, run_id)

    # ---- artefacts and findings ----------------------------------------------------------------

    def put_artefact(self, run_id: int, name: str, data: dict[str, Any]) -> None:
        with self._write_lock, self._writer.begin() as conn:
            artefact_rows.put_artefact(conn, run_id, name, data, time.time())

    def get_artefacts(self, run_id: int) -> dict[str, Any]:
        """name → data, JSON-safe (non-finite floats as "NaN"/"Infinity"/"-Infinity")."""
        with self._reader.connect() as conn:
            return artefact_rows.get_artefacts(conn, run_id)

    def put_findings(self, run_id: int, findings: list[dict[str, Any]]) -> None:
        """Replace the run's findings. Each: code, severity, message, and optionally iteration,
        evidence (dict), patch (dict of option changes), created_at."""
        with self._write_lock, self._writer.begin() as conn:
            finding_rows.put_findings(conn, run_id, findings, time.time())

    def get_findings(self, run_id: int) -> list[dict[str, Any]]:
        """In the order they were put, each with its id; JSON-safe like `get_artefacts`."""
        with self._reader.connect() as conn:
            return finding_rows.get_findings(conn, run_id)
