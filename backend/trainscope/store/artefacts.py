"""A run's artefacts in the database: what the engine computed besides its points, at the end
(e.g. a confusion matrix). Functions of a Connection; the caller owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from trainscope.store.jsonsafe import db_dumps, db_loads, json_safe
from trainscope.store.schema import artefacts


def put_artefact(conn: Connection, run_id: int, name: str, data: Any, now: float) -> None:
    """Insert or replace (portable: no dialect-specific upsert needed under the write lock)."""
    conn.execute(delete(artefacts).where(artefacts.c.run_id == run_id, artefacts.c.name == name))
    conn.execute(
        insert(artefacts).values(run_id=run_id, name=name, data=db_dumps(data), created_at=now)
    )


def get_artefacts(conn: Connection, run_id: int) -> dict[str, Any]:
    rows = conn.execute(
        select(artefacts.c.created_at, artefacts.c.name, artefacts.c.data).where(
            artefacts.c.run_id == run_id
        )
    )
    # Sorted here, not by ORDER BY: PostgreSQL would sort names by the database's collation
    # (locale-dependent), SQLite by code point.
    ordered = sorted(rows, key=lambda row: (row.created_at, row.name))
    return {row.name: json_safe(db_loads(row.data)) for row in ordered}
