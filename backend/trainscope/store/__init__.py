"""Runs, metric points, artefacts and findings: SQLAlchemy Core on SQLite (WAL, in the data
directory) by default, or any database URL (PostgreSQL). See `Store`."""

from __future__ import annotations

from trainscope.store.codec import CodecError, decode_chunk, encode_chunk
from trainscope.store.database import sqlite_url
from trainscope.store.jsonsafe import json_safe
from trainscope.store.records import (
    FINAL_STATUSES,
    RUN_STATUSES,
    PointColumns,
    RunRecord,
)
from trainscope.store.schema import SCHEMA_VERSION, SchemaError
from trainscope.store.store import Store

__all__ = [
    "FINAL_STATUSES",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "CodecError",
    "PointColumns",
    "RunRecord",
    "SchemaError",
    "Store",
    "decode_chunk",
    "encode_chunk",
    "json_safe",
    "sqlite_url",
]
