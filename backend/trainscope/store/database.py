"""Engines for a database URL: SQLite tuned for one writer and many readers, or anything else
SQLAlchemy speaks (PostgreSQL) as it comes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

DB_FILENAME = "trainscope.db"
# Writers wait this long for another process's write lock before SQLite reports "locked".
BUSY_TIMEOUT_MS = 10_000
# Address space (not memory) each connection may map; reads of big runs go about twice as fast.
MMAP_BYTES = 1 << 30
# Execution option set on the writer's engine: its transactions take the write lock up front.
WRITE_OPTION = "trainscope_write"


def sqlite_url(data_dir: Path) -> str:
    """The default database: `<data_dir>/trainscope.db`."""
    return f"sqlite:///{(Path(data_dir) / DB_FILENAME).resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in str(parsed)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        # Good for a quick script; a server should use a file.
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Readers come from FastAPI's threadpool (40 threads); SQLite connections are cheap.
        kwargs.update(pool_size=8, max_overflow=32)
    engine = create_engine(url, **kwargs)
    _tune_sqlite(engine, in_memory)
    return engine


def _tune_sqlite(engine: Engine, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below emit BEGIN itself: the sqlite3 module otherwise
        # starts transactions lazily at the first write, so a reader's SELECTs would not share
        # one snapshot and a writer's read-then-write could be raced by another process.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First, so that the pragmas below wait for another process's lock instead of failing.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not in_memory:
            # WAL: readers never block the writer and the writer never blocks readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL cannot corrupt the database; a power cut may undo the last few
            # commits. FULL would fsync every commit and cap ingest at the disk's sync rate.
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Read chunk blobs straight from the OS page cache instead of copying them through
            # SQLite's own: a 1M-point run is ~60 MB of blobs, read whole to downsample it.
            cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        # Off by default in SQLite; ON DELETE CASCADE / SET NULL need it.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so a write transaction that reads first can
        # never fail to upgrade its lock halfway through; readers get a plain snapshot.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def reader_engine(engine: Engine) -> Engine:
    """The engine readers use. A read of points lists a run's chunks and then fetches some of
    them; both must see the same snapshot or a merge committed in between could hide points.
    SQLite gives a snapshot per transaction (BEGIN above); PostgreSQL needs REPEATABLE READ."""
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="REPEATABLE READ")


def writer_engine(engine: Engine) -> Engine:
    return engine.execution_options(**{WRITE_OPTION: True})
