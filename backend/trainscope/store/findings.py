"""A run's findings (the doctor's diagnoses) in the database. Functions of a Connection; the
caller owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from trainscope.store.jsonsafe import db_dumps, db_loads, json_safe
from trainscope.store.schema import findings

FINDING_KEYS = {
    "code",
    "severity",
    "message",
    "iteration",
    "evidence",
    "patch",
    "fix",
    "created_at",
}


def put_findings(conn: Connection, run_id: int, items: list[dict[str, Any]], now: float) -> None:
    rows = []
    for item in items:
        problems = []
        if unknown := sorted(set(item) - FINDING_KEYS):
            problems.append(f"unknown keys {', '.join(unknown)}")
        if missing := sorted({"code", "severity", "message"} - set(item)):
            problems.append(f"missing {', '.join(missing)}")
        if problems:
            raise ValueError(f"finding {item.get('code')!r}: {'; '.join(problems)}")
        patch = item.get("patch")
        rows.append(
            {
                "run_id": run_id,
                "code": item["code"],
                "severity": item["severity"],
                "iteration": item.get("iteration"),
                "message": item["message"],
                "evidence": db_dumps(item.get("evidence") or {}),
                "patch": None if patch is None else db_dumps(patch),
                "fix": item.get("fix"),
                "created_at": item.get("created_at", now),
            }
        )
    conn.execute(delete(findings).where(findings.c.run_id == run_id))
    if rows:
        conn.execute(insert(findings), rows)


def get_findings(conn: Connection, run_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(findings).where(findings.c.run_id == run_id).order_by(findings.c.id)
    ).all()
    return [
        json_safe(
            {
                "id": row.id,
                "code": row.code,
                "severity": row.severity,
                "iteration": row.iteration,
                "message": row.message,
                "evidence": db_loads(row.evidence),
                "patch": db_loads(row.patch),
                "fix": row.fix,
                "created_at": row.created_at,
            }
        )
        for row in rows
    ]
