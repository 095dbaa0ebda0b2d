"""The tables, and the schema version with its migrations.

Portable SQLAlchemy Core types only (SQLite by default, PostgreSQL by URL): integer ids, JSON as
Text written with `json.dumps`, blobs as LargeBinary, times as Unix seconds in Float.

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
)

metadata = MetaData()

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
    Column("name", Text),
    Column("status", Text, nullable=False),
    Column("finish_reason", Text),
    Column("message", Text),
    Column("spec", Text, nullable=False),
    Column("parent_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("group_name", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("iteration", Integer, nullable=False, default=0),
    Column("epoch", Integer, nullable=False, default=0),
    Column("max_iterations", Integer),
    Column("iterations_per_epoch", Integer),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("device", Text),
    Column("info", Text),
    Column("latest", Text, nullable=False, default="{}"),
    Column("best", Text),
    Column("checkpoint", Text),
    Index("ix_runs_status", "status"),
    Index("ix_runs_group_name", "group_name"),
    sqlite_autoincrement=True,
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("tag", Text, nullable=False),
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
    Column("name", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_id", "name"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("iteration", Integer),
    Column("message", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("patch", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_findings_run_id", "run_id"),
)

# The tables that belong to a run, deleted with it.
RUN_CHILDREN = (point_chunks, artefacts, findings, run_tags)

Migration = Callable[[Connection], None]

# MIGRATIONS[i] takes an existing database from version i + 1 to i + 2. Append, never edit.
MIGRATIONS: list[Migration] = []
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
        _stamp(conn, target)
        return 0
    if found > target:
        raise SchemaError(
            f"the database is at schema version {found}, newer than this trainscope "
            f"understands ({target}); upgrade trainscope"
        )
    for version in range(found, target):
        steps[version - 1](conn)
        _stamp(conn, version + 1)
    return found
