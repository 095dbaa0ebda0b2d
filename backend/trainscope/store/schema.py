"""The tables, and the schema version with its migrations.

Portable SQLAlchemy Core types only (SQLite by default, PostgreSQL by URL): integer ids (SQLite
INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL SERIAL), JSON as Text written with `json.dumps`
(never JSONB: it would turn NaN into an error and reorder keys), blobs as LargeBinary (BLOB,
BYTEA), booleans as Boolean, times as Unix seconds in Float (a double on both), counts that may
pass 2**31 (seqs, iterations) as BigInteger (SQLite's INTEGER is 64-bit anyway; PostgreSQL's is
32-bit), free text as `FreeText` (PostgreSQL's text cannot hold NUL). All names lower case.

Versioning: the `meta` table holds `schema_version`. A new database is created from the tables
below and stamped with `SCHEMA_VERSION`. An existing one at version v is brought up to date by
running `MIGRATIONS[v - 1:]` in order, each in the same transaction as the new stamp. To change
the schema: change the tables below *and* append a migration that makes the same change to an
existing database (e.g. `ALTER TABLE runs ADD COLUMN sweep_id INTEGER`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class FreeText(TypeDecorator[str]):
    """Text from people or tracebacks (names, tags, messages). PostgreSQL refuses a NUL
    character in text, which SQLite stores: there it becomes U+FFFD, the replacement
    character, instead of failing the request or the batch of points that carries it. The
    column is plain Text in the DDL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and "\x00" in value and dialect.name == "postgresql":
            return value.replace("\x00", "\ufffd")
        return value


meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    # AUTOINCREMENT on SQLite: a deleted run's id is never handed out again, so a URL, a
    # checkpoint directory or a script holding an old id never lands on someone else's run.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", FreeText),
    Column("status", Text, nullable=False),
    Column("finish_reason", FreeText),
    Column("message", FreeText),
    Column("spec", Text, nullable=False),
    Column("parent_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("group_name", FreeText),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    # 64-bit (version 2): max_epochs × iterations per epoch passes 2**31 within the limits.
    Column("iteration", BigInteger, nullable=False, default=0),
    Column("epoch", BigInteger, nullable=False, default=0),
    Column("max_iterations", BigInteger),
    Column("iterations_per_epoch", BigInteger),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("device", FreeText),
    Column("info", Text),
    Column("latest", Text, nullable=False, default="{}"),
    Column("best", Text),
    Column("checkpoint", FreeText),
    # The sweep a run is a trial of, and which trial (version 4; last, where ALTER TABLE puts
    # them in a migrated database). No foreign key: SQLite cannot add one to an existing table
    # the way a new one declares it, and sweeps are never deleted.
    Column("sweep_id", Integer),
    Column("sweep_trial", Integer),
    # The process that runs it (version 5; `owners.id`): a server, or a script of the SDK's
    # local mode. Crash recovery interrupts a run only when its owner is gone (store/owners.py).
    Column("owner_id", Text),
    Index("ix_runs_status", "status"),
    Index("ix_runs_group_name", "group_name"),
    Index("ix_runs_sweep_id", "sweep_id"),
    sqlite_autoincrement=True,
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", FreeText),
    Column("status", Text, nullable=False),  # running | completed | stopped
    # The SweepSpec as validated, and every trial's values, fixed when the sweep was created:
    # a restarted server goes on with exactly the trials that were proposed.
    Column("spec", Text, nullable=False),
    Column("trials", Text, nullable=False),
    # Trials [0, next_trial) have been made runs; bumped in the transaction that makes one.
    Column("next_trial", Integer, nullable=False, default=0),
    Column("group_name", FreeText, nullable=False),
    Column("message", FreeText),
    Column("created_at", Float, nullable=False),
    Column("ended_at", Float),
    Index("ix_sweeps_status", "status"),
    sqlite_autoincrement=True,
)

owners = Table(
    "owners",
    metadata,
    # Each process that writes runs (version 5): a uuid of its own, where it runs, and when it
    # last said it was alive. A server deletes its row when it stops cleanly.
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # server | sdk
    Column("host", FreeText, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("port", Integer),
    Column("data_dir", FreeText),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("tag", FreeText, nullable=False),
    Column("position", Integer, nullable=False),  # the order the tags were given in
    PrimaryKeyConstraint("run_id", "tag"),
    Index("ix_run_tags_tag", "tag"),
)

point_chunks = Table(
    "point_chunks",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("sealed", Boolean, nullable=False),
    # Last, so that the small columns sit in the row's local payload and listing a run's chunks
    # never touches the blob's overflow pages.
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("run_id", "first_seq"),
)

artefacts = Table(
    "artefacts",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", FreeText, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_id", "name"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("code", FreeText, nullable=False),
    Column("severity", FreeText, nullable=False),
    Column("iteration", BigInteger),
    Column("message", FreeText, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("patch", Text),
    Column("created_at", Float, nullable=False),
    # The patch in words, for the button that applies it (version 3; last, where ALTER TABLE
    # puts it in a migrated database).
    Column("fix", FreeText),
    Index("ix_findings_run_id", "run_id"),
)

# The tables that belong to a run, deleted with it.
RUN_CHILDREN = (point_chunks, artefacts, findings, run_tags)

Migration = Callable[[Connection], None]

# Columns that version 1 declared INTEGER, 32-bit on PostgreSQL.
_WIDENED_IN_V2 = {
    "runs": ("iteration", "epoch", "max_iterations", "iterations_per_epoch"),
    "findings": ("iteration",),
}


def _compress_blobs_with_lz4(conn: Connection) -> None:
    """PostgreSQL compresses large values (TOAST) with pglz unless told otherwise; lz4 ingested
    1M points about 1.6 times as fast here and read them back as fast, for the same size. Only
    where the server has it: PostgreSQL 14 or later, built with lz4 (pg_settings lists it)."""
    if conn.dialect.name != "postgresql":
        return
    methods = conn.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    if methods and "lz4" in methods:
        conn.execute(text("ALTER TABLE point_chunks ALTER COLUMN data SET COMPRESSION lz4"))


def _v2_postgresql_types(conn: Connection) -> None:
    """Iteration counts become 64-bit like seqs: a run of 100,000 epochs over 50,000 samples in
    mini-batches of 1 is inside the server's limits and has 5·10^9 iterations. And new chunk
    blobs are compressed with lz4 where the server can. SQLite's INTEGER holds 64 bits
    already, so there is nothing to change there."""
    if conn.dialect.name != "postgresql":
        return
    for table, columns in _WIDENED_IN_V2.items():
        alter = ", ".join(f"ALTER COLUMN {c} TYPE BIGINT" for c in columns)
        conn.execute(text(f"ALTER TABLE {table} {alter}"))
    _compress_blobs_with_lz4(conn)


def _v3_finding_fix(conn: Connection) -> None:
    """Findings say their suggested change in words (`fix`); older ones have none."""
    conn.execute(text("ALTER TABLE findings ADD COLUMN fix TEXT"))


def _v4_sweeps(conn: Connection) -> None:
    """Sweeps (a table of their own) and the sweep a run is a trial of."""
    sweeps.create(conn)
    conn.execute(text("ALTER TABLE runs ADD COLUMN sweep_id INTEGER"))
    conn.execute(text("ALTER TABLE runs ADD COLUMN sweep_trial INTEGER"))
    conn.execute(text("CREATE INDEX ix_runs_sweep_id ON runs (sweep_id)"))


def _v5_owners(conn: Connection) -> None:
    """Who runs each run (servers and SDK scripts record themselves): runs from before have no
    owner, and crash recovery treats them as it always did."""
    owners.create(conn)
    conn.execute(text("ALTER TABLE runs ADD COLUMN owner_id TEXT"))


# MIGRATIONS[i] takes an existing database from version i + 1 to i + 2. Append, never edit.
# A migration runs on every supported database (SQLite, PostgreSQL): branch on
# `conn.dialect.name` where their DDL differs. tests/store/test_migrations.py opens a database
# made by the oldest schema (its tables are kept there) and checks it ends up like a new one.
MIGRATIONS: list[Migration] = [_v2_postgresql_types, _v3_finding_fix, _v4_sweeps, _v5_owners]
SCHEMA_VERSION = 1 + len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database was written by a newer trainscope, or is not a trainscope database."""


def schema_version(conn: Connection) -> int:
    """The version stamped in the database; 0 when it has no trainscope tables yet."""
    if not inspect(conn).has_table("meta"):
        if inspect(conn).has_table("runs"):
            raise SchemaError("the database has a 'runs' table but no trainscope 'meta' table")
        return 0
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if value is None:
        raise SchemaError("the database's meta table has no schema_version")
    return int(value)


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(meta.delete().where(meta.c.key == "schema_version"))
    conn.execute(meta.insert().values(key="schema_version", value=str(version)))


def create_or_migrate(conn: Connection, migrations: list[Migration] | None = None) -> int:
    """Bring the database on `conn` (inside a transaction) to the current schema. Returns the
    version it was at before (0: newly created)."""
    steps = MIGRATIONS if migrations is None else migrations
    target = 1 + len(steps)
    found = schema_version(conn)
    if found == 0:
        metadata.create_all(conn)
        _compress_blobs_with_lz4(conn)
        _stamp(conn, target)
        return 0
    if found > target:
        raise SchemaError(
            f"the database is at schema version {found}, newer than this trainscope "
            f"understands ({target}); upgrade trainscope (a database is never migrated down)"
        )
    for version in range(found, target):
        steps[version - 1](conn)
        _stamp(conn, version + 1)
    return found
