"""Rows of `sweeps` ↔ `SweepRecord`, and claiming a trial. Functions of a Connection: the
caller owns the transaction and, for writes, the store's write lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from trainscope.store.jsonsafe import db_dumps, db_loads
from trainscope.store.schema import sweeps

SWEEP_STATUSES = ("running", "completed", "stopped")


@dataclass(frozen=True, slots=True)
class SweepRecord:
    id: int
    name: str | None
    status: str
    spec: dict[str, Any]  # the SweepSpec as validated (JSON)
    trials: list[dict[str, Any]]  # every trial's values, in order
    next_trial: int  # trials before this one have been made runs
    group: str
    message: str | None
    created_at: float
    ended_at: float | None


def insert_sweep(
    conn: Connection,
    *,
    name: str | None,
    spec: dict[str, Any],
    trials: list[dict[str, Any]],
    now: float,
) -> int:
    result = conn.execute(
        insert(sweeps).values(
            name=name,
            status="running",
            spec=db_dumps(spec),
            trials=db_dumps(trials),
            next_trial=0,
            group_name="",  # set below, once the id is known
            created_at=now,
        )
    )
    (sweep_id,) = result.inserted_primary_key or (None,)
    if sweep_id is None:
        raise RuntimeError("the database returned no id for the new sweep")
    conn.execute(
        update(sweeps).where(sweeps.c.id == sweep_id).values(group_name=f"sweep-{sweep_id}")
    )
    return int(sweep_id)


def select_sweeps(
    conn: Connection,
    *,
    sweep_id: int | None = None,
    status: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[SweepRecord]:
    query = select(sweeps).order_by(sweeps.c.id.desc())
    if sweep_id is not None:
        query = query.where(sweeps.c.id == sweep_id)
    if status is not None:
        query = query.where(sweeps.c.status.in_(status))
    if limit is not None:
        query = query.limit(limit)
    return [_record(row) for row in conn.execute(query).all()]


def _record(row: Row[Any]) -> SweepRecord:
    return SweepRecord(
        id=row.id,
        name=row.name,
        status=row.status,
        spec=db_loads(row.spec),
        trials=db_loads(row.trials),
        next_trial=row.next_trial,
        group=row.group_name,
        message=row.message,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def update_sweep_row(conn: Connection, sweep_id: int, fields: dict[str, Any]) -> bool:
    """Set `status`, `message`, `ended_at`. False when there is no such sweep."""
    unknown = sorted(set(fields) - {"status", "message", "ended_at"})
    if unknown:
        raise TypeError(f"update_sweep() cannot set {', '.join(unknown)}")
    if "status" in fields and fields["status"] not in SWEEP_STATUSES:
        raise ValueError(f"unknown sweep status {fields['status']!r}")
    result = conn.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(**fields))
    return result.rowcount > 0


def claim_trial(conn: Connection, sweep_id: int, trial: int) -> None:
    """Move the sweep's `next_trial` past `trial`, in the transaction that makes its run: a
    trial becomes a run once, even when two schedulers (servers) share the database."""
    result = conn.execute(
        update(sweeps)
        .where((sweeps.c.id == sweep_id) & (sweeps.c.next_trial == trial))
        .values(next_trial=trial + 1)
    )
    if result.rowcount != 1:
        raise ValueError(f"trial {trial} of sweep {sweep_id} is not the next one to start")
