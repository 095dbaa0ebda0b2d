"""The tables exactly as schema version 1 (trainscope 0.1.0) created them, kept to make databases
that the migrations in `trainscope.store.schema.MIGRATIONS` must carry forward. Never edit: a
database someone made with version 1 looks like this whatever the current tables say."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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
)

VERSION = 1

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
