"""Who runs each run: the processes that write runs record themselves in `owners`.

A server (and a script in the SDK's local mode) inserts a row with a uuid, its host, pid and
port, and refreshes `heartbeat_at` every `HEARTBEAT_S`; the runs it creates or (re)starts carry
its id in `runs.owner_id`. Crash recovery (`Store.interrupt_unfinished`) interrupts a running
or queued run only when its owner is gone: its row missing, its process dead (same host), or
no heartbeat for `STALE_S`. So a second process on the same database never marks a live
server's or script's run `interrupted`.

Two servers on one database are refused (`OwnerConflict`, checked and recorded in one
transaction): they would both schedule the same sweeps and cache the same runs' cursors. A
server that died is replaced at once on its own host (its pid is gone) and after `STALE_S`
from any other host. Functions of a Connection: the caller owns the transaction.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, text, update

from trainscope.store.schema import owners

HEARTBEAT_S = 5.0
# Six missed heartbeats: a server stalled by a long GC pause or a slow disk is not declared gone.
STALE_S = 30.0
# Advisory lock key serialising registrations on PostgreSQL ("tsowners" in ASCII); SQLite's
# BEGIN IMMEDIATE already does.
REGISTER_LOCK_KEY = 0x74736F776E657273


@dataclass(frozen=True)
class Owner:
    id: str
    kind: str  # server | sdk
    host: str
    pid: int
    port: int | None
    data_dir: str | None
    started_at: float
    heartbeat_at: float

    def describe(self, now: float | None = None) -> str:
        age = (time.time() if now is None else now) - self.heartbeat_at
        where = f"pid {self.pid} on host {self.host}"
        if self.port is not None:
            where += f", port {self.port}"
        if self.data_dir:
            where += f", data directory {self.data_dir}"
        return f"{where} (last heartbeat {age:.0f} s ago)"


class OwnerConflict(Exception):
    """Another live server already uses this database."""

    def __init__(self, other: Owner) -> None:
        super().__init__(other.describe())
        self.other = other


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def is_gone(owner: Owner, now: float, stale_s: float = STALE_S) -> bool:
    if owner.host == socket.gethostname() and not pid_alive(owner.pid):
        return True
    return now - owner.heartbeat_at > stale_s


def list_owners(conn: Connection) -> list[Owner]:
    return [Owner(**row._mapping) for row in conn.execute(select(owners))]


def live_owner_ids(conn: Connection, now: float, stale_s: float = STALE_S) -> set[str]:
    return {o.id for o in list_owners(conn) if not is_gone(o, now, stale_s)}


def register(
    conn: Connection,
    *,
    kind: str,
    port: int | None,
    data_dir: str | None,
    exclusive: bool,
    now: float,
) -> Owner:
    """Record this process. `exclusive` (a server): refuse when another live server is
    recorded; rows of servers that are gone are removed (their runs stay for recovery)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTER_LOCK_KEY})
    for other in list_owners(conn):
        if is_gone(other, now):
            conn.execute(delete(owners).where(owners.c.id == other.id))
        elif exclusive and other.kind == "server":
            raise OwnerConflict(other)
    me = Owner(
        id=uuid.uuid4().hex,
        kind=kind,
        host=socket.gethostname(),
        pid=os.getpid(),
        port=port,
        data_dir=data_dir,
        started_at=now,
        heartbeat_at=now,
    )
    conn.execute(insert(owners).values(**me.__dict__))
    return me


def heartbeat(conn: Connection, me: Owner, now: float) -> None:
    """Refresh this process's row; put it back if another process removed it as gone (this
    process was stalled past STALE_S)."""
    done = conn.execute(update(owners).where(owners.c.id == me.id).values(heartbeat_at=now))
    if done.rowcount == 0:
        conn.execute(insert(owners).values(**{**me.__dict__, "heartbeat_at": now}))


def release(conn: Connection, me: Owner) -> None:
    conn.execute(delete(owners).where(owners.c.id == me.id))
