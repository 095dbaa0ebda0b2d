"""Engines for a database URL: SQLite (the default, a file in the data directory) tuned for one
writer and many readers, or PostgreSQL through psycopg 3 (`postgresql+psycopg://…`, the
`postgres` extra) tuned to fail fast when the server is away."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

DB_FILENAME = "trainscope.db"
# Writers wait this long for another process's write lock before SQLite reports "locked".
BUSY_TIMEOUT_MS = 10_000
# Address space (not memory) each connection may map; reads of big runs go about twice as fast.
MMAP_BYTES = 1 << 30
# Execution option set on the writer's engine: its transactions take the write lock up front.
WRITE_OPTION = "trainscope_write"

# PostgreSQL connection settings (libpq keywords; the same keys in the URL's query win). A
# server that is down refuses at once, but one that is unreachable (a host gone, a firewall
# dropping packets) would leave libpq waiting for minutes: a connection attempt gives up after
# CONNECT_TIMEOUT_S, and a connection whose server vanished mid-query is declared dead after
# about KEEPALIVE_IDLE_S + 3 × KEEPALIVE_INTERVAL_S (TCP's own default is two hours).
CONNECT_TIMEOUT_S = 10
KEEPALIVE_IDLE_S = 30
KEEPALIVE_INTERVAL_S = 10
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "application_name": "trainscope",
    "keepalives": 1,
    "keepalives_idle": KEEPALIVE_IDLE_S,
    "keepalives_interval": KEEPALIVE_INTERVAL_S,
    "keepalives_count": 3,
}
# Every PostgreSQL connection is a server process: a pool of 8, growing to 24 under a burst of
# REST reads (FastAPI's threadpool has 40 threads; the 25th waits for a free connection). Four
# servers fit under PostgreSQL's default max_connections of 100.
POSTGRES_POOL_SIZE = 8
POSTGRES_MAX_OVERFLOW = 16
# Execution option for a SELECT of chunk blobs: on PostgreSQL, ask for the rows in binary.
# psycopg reads results as text by default, where a BYTEA travels hex-encoded (twice the bytes,
# encoded by the server and decoded by the client): a 1M-point downsampled read took ~360 ms
# that way, ~150 ms in binary.
BINARY_RESULTS = "trainscope_binary_results"
# Key of the transaction-scoped advisory lock that serialises schema creation and migration
# between servers starting at once on one database ("trainscope" in ASCII).
SCHEMA_LOCK_KEY = 0x747261696E73636F


def sqlite_url(data_dir: Path) -> str:
    """The default database: `<data_dir>/trainscope.db`."""
    return f"sqlite:///{(Path(data_dir) / DB_FILENAME).resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return _postgres_engine(parsed)
    if backend != "sqlite":
        raise ValueError(
            f"unsupported database {parsed.drivername!r} in {parsed!r}: trainscope stores in "
            "SQLite (sqlite:///PATH) or PostgreSQL (postgresql+psycopg://USER:PASSWORD@HOST/DB)"
        )
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


def _postgres_engine(url: URL) -> Engine:
    if url.drivername == "postgresql":
        # SQLAlchemy's default PostgreSQL driver is psycopg2; the `postgres` extra installs
        # psycopg 3, so a plain postgresql:// URL means that.
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise ValueError(
            f"{url.drivername!r}: trainscope talks to PostgreSQL through psycopg 3; use "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    try:
        from psycopg.pq import Format  # here: psycopg is needed only for PostgreSQL
    except ImportError as exc:
        raise ImportError(
            f"{exc}: a PostgreSQL database needs psycopg 3; pip install 'trainscope[postgres]'"
        ) from exc

    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, **POSTGRES_CONNECT_ARGS}
    connect_args = {k: v for k, v in defaults.items() if k not in url.query}
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_MAX_OVERFLOW,
        # A pooled connection may have outlived its server (a restart, a failover, an idle
        # timeout): check it on checkout and reconnect, rather than fail the next request.
        pool_pre_ping=True,
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _binary_results(
        _conn: Connection,
        cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        # A new cursor per statement: the format applies to this statement only.
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = Format.BINARY

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
            _enable_wal(cursor)
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


def _enable_wal(cursor: Any) -> None:
    """Switch a new database file to WAL (the mode is stored in the file: later connections find
    it set). The switch needs the file to itself and SQLite reports "locked" at once, without
    waiting out busy_timeout, when another connection is at it too: two servers starting
    together on a new data directory. So try again until busy_timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def reader_engine(engine: Engine) -> Engine:
    """The engine readers use. A read of points lists a run's chunks and then fetches some of
    them; both must see the same snapshot or a merge committed in between could hide points.
    SQLite gives a snapshot per transaction (BEGIN above); PostgreSQL needs REPEATABLE READ."""
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="REPEATABLE READ")


def writer_engine(engine: Engine) -> Engine:
    """The engine writers use. SQLite: BEGIN IMMEDIATE (above). PostgreSQL: READ COMMITTED, its
    default; the store's write lock already makes the writer one thread, and every write
    transaction reads only rows that writer itself keeps up to date."""
    return engine.execution_options(**{WRITE_OPTION: True})


def lock_schema(conn: Connection) -> None:
    """Inside the transaction that creates or migrates the schema: make a second server starting
    at the same moment wait for it, then find the schema current. SQLite's BEGIN IMMEDIATE
    does this already; PostgreSQL would let both create the tables and fail one of them."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
