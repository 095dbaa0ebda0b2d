"""Rows of `runs` (and their tags) ↔ `RunRecord`. Functions of a Connection: the caller owns
the transaction and, for writes, the write lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, exists, insert, select, update

from trainscope.store.jsonsafe import db_dumps, db_loads
from trainscope.store.records import RUN_STATUSES, RunRecord
from trainscope.store.schema import RUN_CHILDREN, run_tags, runs


def _same(value: Any) -> Any:
    return value


# RunRecord fields update_run may set → (column, how the value is stored). `id` and `last_seq`
# are not here: the database assigns one and ingest owns the other.
UPDATABLE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "name": ("name", _same),
    "status": ("status", _same),
    "finish_reason": ("finish_reason", _same),
    "message": ("message", _same),
    "spec": ("spec", db_dumps),
    "parent_id": ("parent_id", _same),
    "group": ("group_name", _same),
    "created_at": ("created_at", _same),
    "started_at": ("started_at", _same),
    "ended_at": ("ended_at", _same),
    "iteration": ("iteration", _same),
    "epoch": ("epoch", _same),
    "max_iterations": ("max_iterations", _same),
    "iterations_per_epoch": ("iterations_per_epoch", _same),
    "device": ("device", _same),
    "info": ("info", db_dumps),
    "latest": ("latest", db_dumps),
    "best": ("best", lambda v: None if v is None else db_dumps(v)),
    "checkpoint": ("checkpoint", _same),
}


def check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; one of {', '.join(RUN_STATUSES)}")


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags in the order given, each once."""
    return list(dict.fromkeys(tags))


def insert_run(
    conn: Connection,
    *,
    spec: dict[str, Any],
    name: str | None,
    parent_id: int | None,
    group: str | None,
    tags: list[str],
    status: str,
    now: float,
    sweep_id: int | None = None,
    sweep_trial: int | None = None,
    info: dict[str, Any] | None = None,
    started_at: float | None = None,
    owner_id: str | None = None,
) -> int:
    check_status(status)
    if parent_id is not None and not run_exists(conn, parent_id):
        raise ValueError(f"parent run {parent_id} does not exist")
    result = conn.execute(
        insert(runs).values(
            name=name,
            status=status,
            spec=db_dumps(spec),
            parent_id=parent_id,
            group_name=group,
            created_at=now,
            iteration=0,
            epoch=0,
            last_seq=0,
            started_at=started_at,
            info=db_dumps(info or {}),
            latest=db_dumps({}),
            sweep_id=sweep_id,
            sweep_trial=sweep_trial,
            owner_id=owner_id,
        )
    )
    (run_id,) = result.inserted_primary_key or (None,)
    if run_id is None:
        raise RuntimeError("the database returned no id for the new run")
    set_tags(conn, int(run_id), tags)
    return int(run_id)


def run_exists(conn: Connection, run_id: int) -> bool:
    return conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is not None


def set_tags(conn: Connection, run_id: int, tags: list[str]) -> None:
    conn.execute(delete(run_tags).where(run_tags.c.run_id == run_id))
    rows = [{"run_id": run_id, "tag": t, "position": i} for i, t in enumerate(clean_tags(tags))]
    if rows:
        conn.execute(insert(run_tags), rows)


def select_runs(
    conn: Connection,
    *,
    run_id: int | None = None,
    status: Sequence[str] | None = None,
    group: str | None = None,
    tag: str | None = None,
    limit: int | None = None,
    sweep_id: int | None = None,
    before_id: int | None = None,
    name_contains: str | None = None,
) -> list[RunRecord]:
    query = select(runs).order_by(runs.c.id.desc())
    if before_id is not None:  # the next page of a newest-first list
        query = query.where(runs.c.id < before_id)
    if name_contains:
        # Case-insensitive substring, with LIKE's wildcards taken literally.
        escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(runs.c.name.ilike(f"%{escaped}%", escape="\\"))
    if sweep_id is not None:
        query = query.where(runs.c.sweep_id == sweep_id)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    if status is not None:
        query = query.where(runs.c.status.in_(status))
    if group is not None:
        query = query.where(runs.c.group_name == group)
    if tag is not None:
        query = query.where(
            exists().where((run_tags.c.run_id == runs.c.id) & (run_tags.c.tag == tag))
        )
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    if not rows:
        return []
    tags: dict[int, list[str]] = {}
    ids = [row.id for row in rows]
    tag_rows = conn.execute(
        select(run_tags.c.run_id, run_tags.c.tag)
        .where(run_tags.c.run_id.in_(ids))
        .order_by(run_tags.c.run_id, run_tags.c.position)
    )
    for rid, t in tag_rows:
        tags.setdefault(rid, []).append(t)
    return [_record(row, tags.get(row.id, [])) for row in rows]


def _record(row: Row[Any], tags: list[str]) -> RunRecord:
    return RunRecord(
        id=row.id,
        name=row.name,
        status=row.status,
        finish_reason=row.finish_reason,
        message=row.message,
        spec=db_loads(row.spec),
        parent_id=row.parent_id,
        group=row.group_name,
        tags=tags,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        iteration=row.iteration,
        epoch=row.epoch,
        max_iterations=row.max_iterations,
        iterations_per_epoch=row.iterations_per_epoch,
        last_seq=row.last_seq,
        device=row.device,
        info=db_loads(row.info) or {},
        latest=db_loads(row.latest) or {},
        best=db_loads(row.best),
        checkpoint=row.checkpoint,
        sweep_id=row.sweep_id,
        sweep_trial=row.sweep_trial,
    )


def update_run_row(conn: Connection, run_id: int, fields: dict[str, Any]) -> bool:
    """Set RunRecord fields (`tags` included). False when there is no such run."""
    unknown = sorted(set(fields) - set(UPDATABLE) - {"tags"})
    if unknown:
        raise TypeError(f"update_run() cannot set {', '.join(unknown)}")
    if "status" in fields:
        check_status(fields["status"])
    if not run_exists(conn, run_id):
        return False
    values = {UPDATABLE[k][0]: UPDATABLE[k][1](v) for k, v in fields.items() if k != "tags"}
    if values:
        conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
    if "tags" in fields:
        set_tags(conn, run_id, list(fields["tags"]))
    return True


def delete_run_rows(conn: Connection, run_id: int) -> bool:
    # Explicit, not only ON DELETE CASCADE: SQLite enforces foreign keys only on connections
    # that turned them on, and a database may have been touched by other tools.
    for table in RUN_CHILDREN:
        conn.execute(delete(table).where(table.c.run_id == run_id))
    conn.execute(update(runs).where(runs.c.parent_id == run_id).values(parent_id=None))
    return conn.execute(delete(runs).where(runs.c.id == run_id)).rowcount > 0
