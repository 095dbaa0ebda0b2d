"""Schema versions and migrations, on SQLite and on PostgreSQL: a database made by an older
trainscope opens with this one, keeps every run, point, tag, artefact and finding, and ends up
with the same tables as a new database."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, inspect, select, text, update

from trainscope.schemas.events import Point
from trainscope.store import SCHEMA_VERSION, SchemaError, Store, encode_chunk
from trainscope.store.arrays import PointArrays
from trainscope.store.jsonsafe import db_dumps
from trainscope.store.schema import MIGRATIONS, create_or_migrate, meta

from . import schema_v1
from .conftest import SPEC, new_run, points, training_point

V1_POINTS = [training_point(seq) for seq in range(1, 121)]
BEST = {"val_loss": 2.5 / 100, "val_accuracy": 100 / 1200, "iteration": 100, "epoch": 1, "seq": 100}


def make_v1_database(url: str) -> tuple[int, int]:
    """A database as trainscope 0.1.0 left it: a completed run with 120 points in two chunks,
    tags, an artefact and findings, and its child left running by a server that died. Returns
    (parent id, child id)."""
    engine = create_engine(url)
    v1 = schema_v1
    try:
        with engine.begin() as conn:
            v1.metadata.create_all(conn)
            conn.execute(v1.meta.insert().values(key="schema_version", value="1"))
            run = {
                "status": "completed",
                "spec": db_dumps(SPEC),
                "created_at": 1_700_000_000.0,
                "iteration": 120,
                "epoch": 2,
                "max_iterations": 300,
                "iterations_per_epoch": 100,
                "last_seq": 120,
                "info": db_dumps({"device": "cpu", "num_parameters": 1234}),
                "latest": db_dumps({"train_loss": math.nan, "learn_rate": 0.01}),
                "best": db_dumps(BEST),
            }
            inserted = conn.execute(v1.runs.insert().values(name="old", **run))
            parent = int(inserted.inserted_primary_key[0])
            child_row = {**run, "status": "running", "last_seq": 0, "latest": "{}", "best": None}
            inserted = conn.execute(
                v1.runs.insert().values(name="child", parent_id=parent, **child_row)
            )
            child = int(inserted.inserted_primary_key[0])
            conn.execute(
                v1.run_tags.insert(),
                [
                    {"run_id": parent, "tag": "zeta", "position": 0},
                    {"run_id": parent, "tag": "alpha", "position": 1},
                ],
            )
            for part, sealed in ((V1_POINTS[:100], True), (V1_POINTS[100:], False)):
                conn.execute(
                    v1.point_chunks.insert().values(
                        run_id=parent,
                        first_seq=part[0].seq,
                        last_seq=part[-1].seq,
                        count=len(part),
                        sealed=sealed,
                        data=encode_chunk(PointArrays.from_points(part)),
                    )
                )
            conn.execute(
                v1.artefacts.insert().values(
                    run_id=parent,
                    name="confusion_matrix",
                    data=db_dumps({"matrix": [[3, 1], [0, 4]]}),
                    created_at=1_700_000_100.0,
                )
            )
            conn.execute(
                v1.findings.insert(),
                [
                    {
                        "run_id": parent,
                        "code": "overfitting",
                        "severity": "warning",
                        "iteration": 110,
                        "message": "validation loss rises",
                        "evidence": db_dumps({"gap": math.inf}),
                        "patch": db_dumps({"l2_regularization": 0.001}),
                        "created_at": 1_700_000_100.0,
                    }
                ],
            )
    finally:
        engine.dispose()
    return parent, child


def test_a_version_1_database_opens_with_its_data_and_takes_what_it_could_not(
    database_url: str,
) -> None:
    parent_id, child_id = make_v1_database(database_url)
    store = Store.open(database_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        parent = store.get_run(parent_id)
        assert parent is not None
        assert (parent.name, parent.status, parent.tags) == ("old", "completed", ["zeta", "alpha"])
        assert parent.spec == SPEC and parent.info["num_parameters"] == 1234
        assert math.isnan(parent.latest["train_loss"]) and parent.best == BEST
        assert (parent.iteration, parent.epoch, parent.max_iterations) == (120, 2, 300)
        cols = store.read_points(parent_id)
        assert cols.seq == list(range(1, 121))
        assert cols.values["train_loss"] == [p.values["train_loss"] for p in V1_POINTS]
        assert store.get_artefacts(parent_id) == {"confusion_matrix": {"matrix": [[3, 1], [0, 4]]}}
        (finding,) = store.get_findings(parent_id)
        assert finding["code"] == "overfitting" and finding["evidence"] == {"gap": "Infinity"}
        assert finding["fix"] is None  # version 3's column: old findings have none
        child = store.get_run(child_id)
        assert child is not None and child.parent_id == parent_id
        assert store.list_runs(tag="alpha") == [parent]

        # The server's start on the old data, then the pipeline carrying on where it stopped.
        assert store.interrupt_unfinished() == [child_id]
        persisted = store.ingest(points(parent_id, 111, 130))
        assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(121, 131))
        assert store.read_points(parent_id, after_seq=100).seq == list(range(101, 131))
        # Ids keep counting from the old runs.
        assert new_run(store).id > child_id
        # What version 1 could not hold on PostgreSQL: iteration counts past 2**31.
        huge = 5_000_000_000
        updated = store.update_run(child_id, max_iterations=huge, iteration=huge - 1)
        assert updated is not None and (updated.max_iterations, updated.iteration) == (
            huge,
            huge - 1,
        )
        store.put_findings(child_id, [{**finding_body(), "iteration": huge - 1}])
        assert store.get_findings(child_id)[0]["iteration"] == huge - 1
        # Version 4: sweeps, and old runs are trials of none.
        assert (parent.sweep_id, parent.sweep_trial) == (None, None)
        sweep = store.create_sweep(name="s", spec={"metric": "val_loss"}, trials=[{"seed": 1}])
        trial = new_run(store, sweep=(sweep.id, 0))
        assert (trial.sweep_id, trial.sweep_trial) == (sweep.id, 0)
    finally:
        store.close()


def finding_body() -> dict[str, Any]:
    return {"code": "slow", "severity": "info", "message": "m"}


def describe(url: str) -> dict[str, Any]:
    """Every table's columns (name, type, nullable), keys and indexes, as reflected."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            dialect = conn.dialect

            def type_of(column: dict[str, Any]) -> str:
                if dialect.name == "sqlite":
                    # SQLite keeps the declared name (INTEGER, BIGINT) but stores by affinity.
                    return column["type"].python_type.__name__  # type: ignore[no-any-return]
                return str(column["type"].compile(dialect=dialect))

            tables = {
                table: {
                    "columns": [
                        (c["name"], type_of(c), c["nullable"]) for c in insp.get_columns(table)
                    ],
                    "pk": insp.get_pk_constraint(table)["constrained_columns"],
                    "fks": sorted(
                        (fk["constrained_columns"], fk["referred_table"], fk["options"])
                        for fk in insp.get_foreign_keys(table)
                    ),
                    "indexes": sorted(
                        (ix["name"], ix["column_names"], ix["unique"])
                        for ix in insp.get_indexes(table)
                    ),
                    "unique": sorted(u["column_names"] for u in insp.get_unique_constraints(table)),
                }
                for table in sorted(insp.get_table_names())
            }
            if dialect.name == "postgresql":
                # How PostgreSQL compresses large values, where a column says (lz4 for blobs).
                compression = conn.execute(
                    text(
                        "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute a "
                        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                        "AND a.attnum > 0 AND a.attcompression <> ''"
                    )
                ).all()
                tables["compression"] = {f"{t}.{c}": m for t, c, m in compression}
            return tables
    finally:
        engine.dispose()


def test_a_migrated_database_has_the_tables_of_a_new_one(
    backend: str, make_database_url: Callable[[], str]
) -> None:
    old, new = make_database_url(), make_database_url()
    make_v1_database(old)
    Store.open(old).close()
    Store.open(new).close()
    migrated, created = describe(old), describe(new)
    assert set(migrated) == set(created) >= {"runs", "point_chunks", "meta"}
    if backend == "postgresql":
        # Blobs in lz4 where the server has it (Debian's PostgreSQL 15 does), else its default.
        assert created["compression"] in ({"point_chunks.data": "l"}, {})
    for table in created:
        assert migrated[table] == created[table], table


def test_migrations_run_in_order_each_stamped_and_only_once(store: Store) -> None:
    run = new_run(store)
    calls: list[int] = []

    def add_column(conn: Connection) -> None:
        calls.append(SCHEMA_VERSION + 1)
        conn.execute(text("ALTER TABLE runs ADD COLUMN notes INTEGER"))

    def fill_column(conn: Connection) -> None:
        calls.append(SCHEMA_VERSION + 2)
        conn.execute(text("UPDATE runs SET notes = 7"))

    steps = [*MIGRATIONS, add_column, fill_column]
    with store.engine.begin() as conn:
        assert create_or_migrate(conn, steps) == SCHEMA_VERSION
    assert calls == [SCHEMA_VERSION + 1, SCHEMA_VERSION + 2]
    with store.engine.begin() as conn:
        assert create_or_migrate(conn, steps) == SCHEMA_VERSION + 2  # current: nothing runs
        assert conn.execute(text("SELECT notes FROM runs")).scalar() == 7
    assert calls == [SCHEMA_VERSION + 1, SCHEMA_VERSION + 2]
    assert store.get_run(run.id) is not None
    with store.engine.begin() as conn, pytest.raises(SchemaError, match="newer"):
        create_or_migrate(conn, [*MIGRATIONS, add_column])


def test_a_failed_migration_leaves_the_database_as_it_was(store: Store) -> None:
    run = new_run(store)

    def half_done(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE runs ADD COLUMN notes INTEGER"))
        conn.execute(text("UPDATE runs SET name = 'changed'"))
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"), store.engine.begin() as conn:
        create_or_migrate(conn, [*MIGRATIONS, half_done])
    assert store.schema_version() == SCHEMA_VERSION
    with store.engine.connect() as conn:
        assert "notes" not in {c["name"] for c in inspect(conn).get_columns("runs")}
    record = store.get_run(run.id)
    assert record is not None and record.name is None


def test_a_database_from_a_newer_trainscope_is_refused(database_url: str) -> None:
    Store.open(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION + 1))
        )
    engine.dispose()
    with pytest.raises(SchemaError, match="newer than this trainscope"):
        Store.open(database_url)


def test_a_database_with_foreign_tables_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE runs (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="no trainscope 'meta' table"):
        Store.open(database_url)


def test_servers_starting_at_once_on_a_new_database_create_it_once(database_url: str) -> None:
    stores: list[Store] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        try:
            start.wait()
            stores.append(Store.open(database_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors[0]
        assert len(stores) == 4
        with stores[0].engine.connect() as conn:
            assert conn.execute(select(meta.c.value)).scalars().all() == [str(SCHEMA_VERSION)]
    finally:
        for s in stores:
            s.close()
