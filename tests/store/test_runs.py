"""Runs: create, read, filter, update, delete; schema versioning; the server-restart sweep."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import Connection, Table, func, select

from trainscope.schemas.events import Artefact, Point, Started, Status
from trainscope.store import SCHEMA_VERSION, Store
from trainscope.store.schema import artefacts, findings, point_chunks, run_tags

from .conftest import SPEC, new_run, points


def test_create_and_get_give_the_api_shape(store: Store) -> None:
    parent = new_run(store, name="first")
    run = store.create_run(
        SPEC, name="second", parent_id=parent.id, group="lr-sweep", tags=["b", "a", "b"]
    )
    assert run.id > parent.id
    assert store.get_run(run.id) == run
    body = run.to_json()
    assert set(body) >= {
        "id", "name", "status", "finish_reason", "message", "spec", "parent_id", "group", "tags",
        "created_at", "started_at", "ended_at", "progress", "last_seq", "device", "latest", "best",
    }  # fmt: skip
    assert body["status"] == "queued" and body["parent_id"] == parent.id
    assert body["group"] == "lr-sweep" and body["tags"] == ["b", "a"]
    assert body["spec"] == SPEC and body["last_seq"] == 0 and body["latest"] == {}
    assert body["progress"] == {
        "iteration": 0,
        "epoch": 0,
        "max_iterations": None,
        "iterations_per_epoch": None,
        "max_epochs": 3,
    }
    json.dumps(body, allow_nan=False)
    assert store.get_run(99999) is None


def test_unknown_parent_and_status_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="parent"):
        new_run(store, parent_id=42)
    with pytest.raises(ValueError, match="status"):
        new_run(store, status="done")


def test_list_is_newest_first_and_filters(store: Store) -> None:
    a = new_run(store, group="g1", tags=["cnn", "fast"])
    b = new_run(store, group="g1", tags=["mlp"])
    c = new_run(store, group="g2", tags=["cnn"], status="running")
    assert [r.id for r in store.list_runs()] == [c.id, b.id, a.id]
    assert [r.id for r in store.list_runs(limit=2)] == [c.id, b.id]
    assert [r.id for r in store.list_runs(group="g1")] == [b.id, a.id]
    assert [r.id for r in store.list_runs(tag="cnn")] == [c.id, a.id]
    assert [r.id for r in store.list_runs(status=["running"])] == [c.id]
    assert [r.id for r in store.list_runs(status=["queued", "running"], tag="cnn")] == [c.id, a.id]
    assert store.list_runs(group="nope") == [] and store.list_runs(status=[]) == []
    assert [r.tags for r in store.list_runs()] == [["cnn"], ["mlp"], ["cnn", "fast"]]


def test_list_pages_by_id_and_finds_names_by_a_part_of_them(store: Store) -> None:
    """The run list of a store with thousands of runs: pages of `limit`, then the runs older
    than the page's last id; a search box's text matched anywhere in the name, any case,
    `%` and `_` meaning themselves."""
    made = [new_run(store, name=n) for n in ("Digits CNN", "spirals 50%", "lstm_a", "lstmXa")]
    first = store.list_runs(limit=2)
    assert [r.id for r in first] == [made[3].id, made[2].id]
    assert [r.id for r in store.list_runs(limit=2, before_id=first[-1].id)] == [
        made[1].id,
        made[0].id,
    ]
    assert store.list_runs(before_id=made[0].id) == []
    assert [r.name for r in store.list_runs(name_contains="digits")] == ["Digits CNN"]
    assert [r.name for r in store.list_runs(name_contains="50%")] == ["spirals 50%"]
    assert [r.name for r in store.list_runs(name_contains="m_a")] == ["lstm_a"]  # not lstmXa
    assert [r.name for r in store.list_runs(name_contains="%")] == ["spirals 50%"]
    assert [r.name for r in store.list_runs(name_contains="LSTM", before_id=made[3].id)] == [
        "lstm_a"
    ]


def test_update_run(store: Store) -> None:
    run = new_run(store, tags=["x"])
    updated = store.update_run(
        run.id, status="stopped", message="by hand", group="g", tags=["y", "z"], best=None
    )
    assert updated is not None and updated == store.get_run(run.id)
    assert (updated.status, updated.message, updated.group) == ("stopped", "by hand", "g")
    assert updated.tags == ["y", "z"]
    assert store.update_run(12345, status="stopped") is None
    with pytest.raises(TypeError, match="last_seq"):
        store.update_run(run.id, last_seq=5)
    with pytest.raises(ValueError, match="status"):
        store.update_run(run.id, status="nope")


def test_update_of_latest_is_seen_by_the_next_ingest(store: Store) -> None:
    run = new_run(store)
    store.ingest(points(run.id, 1, 10))
    store.update_run(run.id, latest={})
    store.ingest(points(run.id, 11, 11))
    record = store.get_run(run.id)
    assert record is not None and set(record.latest) == {
        "train_loss",
        "train_accuracy",
        "learn_rate",
        "grad_norm",
    }


def count(conn: Connection, table: Table, run_id: int) -> int:
    query = select(func.count()).select_from(table).where(table.c.run_id == run_id)
    return int(conn.execute(query).scalar_one())


def test_delete_removes_everything_of_the_run_and_only_that(store: Store) -> None:
    parent = new_run(store, tags=["t"])
    child = new_run(store, parent_id=parent.id)
    for run in (parent, child):
        store.ingest([*points(run.id, 1, 40), (run.id, Artefact("cm", {"m": [[1]]}))])
        store.put_findings(run.id, [{"code": "diverged", "severity": "error", "message": "m"}])
    assert store.delete_run(parent.id)
    assert not store.delete_run(parent.id)
    assert store.get_run(parent.id) is None
    with store.engine.connect() as conn:
        for table in (point_chunks, artefacts, findings, run_tags):
            assert count(conn, table, parent.id) == 0
        assert count(conn, point_chunks, child.id) == 1
    orphan = store.get_run(child.id)
    assert orphan is not None and orphan.parent_id is None
    assert store.read_points(child.id).seq == list(range(1, 41))
    assert store.get_findings(child.id)[0]["code"] == "diverged"
    # Ids are never reused: a new run does not inherit the deleted one's URL or directory.
    assert new_run(store).id > child.id


def test_interrupt_unfinished(store: Store) -> None:
    queued = new_run(store)
    running = new_run(store, status="running")
    done = new_run(store)
    store.ingest([(done.id, Status("completed", finish_reason="max-epochs"))])
    assert store.interrupt_unfinished() == [queued.id, running.id]
    q, r, d = (store.get_run(i) for i in (queued.id, running.id, done.id))
    assert q is not None and r is not None and d is not None
    assert q.status == r.status == "interrupted" and d.status == "completed"
    assert q.message == "the server stopped while this run was queued"
    assert r.message == "the server stopped while this run was running"
    assert r.ended_at is not None
    assert store.interrupt_unfinished() == []


def test_artefacts_replace_and_findings_replace(store: Store) -> None:
    run = new_run(store)
    store.put_artefact(run.id, "predictions", {"pairs": [[1, 2]]})
    store.put_artefact(run.id, "predictions", {"pairs": [[3, 4]], "score": math.nan})
    assert store.get_artefacts(run.id) == {"predictions": {"pairs": [[3, 4]], "score": "NaN"}}
    store.put_findings(
        run.id,
        [
            {
                "code": "diverged",
                "severity": "error",
                "iteration": 7,
                "message": "loss became NaN",
                "evidence": {"loss": math.inf},
                "patch": {"initial_learn_rate": 0.001},
                "fix": "Restart with initial_learn_rate 0.001",
            },
            {"code": "slow", "severity": "info", "message": "m"},
        ],
    )
    got = store.get_findings(run.id)
    assert [f["code"] for f in got] == ["diverged", "slow"]
    assert got[0]["evidence"] == {"loss": "Infinity"} and got[0]["iteration"] == 7
    assert got[0]["patch"] == {"initial_learn_rate": 0.001} and got[1]["patch"] is None
    assert got[0]["fix"] == "Restart with initial_learn_rate 0.001" and got[1]["fix"] is None
    store.put_findings(run.id, [])
    assert store.get_findings(run.id) == []
    with pytest.raises(ValueError, match="unknown keys colour"):
        store.put_findings(run.id, [{"code": "x", "severity": "info", "message": "m", "colour": 1}])


def test_schema_version_is_recorded_and_a_reopen_keeps_the_data(
    backend: str, database_url: str
) -> None:
    store = Store.open(database_url)
    run = new_run(store, tags=["keep"])
    store.ingest(points(run.id, 1, 100))
    assert store.schema_version() == SCHEMA_VERSION
    store.close()

    again = Store.open(database_url)
    try:
        assert again.schema_version() == SCHEMA_VERSION
        record = again.get_run(run.id)
        assert record is not None and record.tags == ["keep"] and record.last_seq == 100
        assert again.read_points(run.id).seq == list(range(1, 101))
        with again.engine.connect() as conn:
            if backend == "sqlite":
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            else:
                assert conn.exec_driver_sql("SHOW application_name").scalar() == "trainscope"
        # Readers see one snapshot per read (a read of points queries twice).
        if backend == "postgresql":
            with again._reader.connect() as conn:
                level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
                assert level == "repeatable read"
    finally:
        again.close()


def test_iteration_counts_past_32_bits_are_kept(store: Store) -> None:
    run = new_run(store)
    huge = 100_000 * 50_000  # max_epochs × iterations per epoch, within the server's limits
    started = Started("cpu", "regression", 50_000, 0, 0, 50_000, huge, 7)
    first = 3_000_000_000
    store.ingest(
        [
            (run.id, started),
            (run.id, Point(first, first, first // 50_000, 0.0, {"train_loss": 1.0})),
            (run.id, Point(first + 1, first + 1, first // 50_000, 0.0, {"train_loss": 0.5})),
        ]
    )
    record = store.get_run(run.id)
    assert record is not None
    assert (record.max_iterations, record.iterations_per_epoch) == (huge, 50_000)
    assert (record.iteration, record.last_seq) == (first + 1, first + 1)
    assert store.read_points(run.id, after_seq=first).seq == [first + 1]
    finding = {"code": "x", "severity": "info", "message": "m", "iteration": huge}
    store.put_findings(run.id, [finding])
    assert store.get_findings(run.id)[0]["iteration"] == huge


def test_text_with_a_nul_character_is_stored_not_refused(backend: str, store: Store) -> None:
    # PostgreSQL's text cannot hold NUL; SQLite's can. Neither may fail the request.
    run = new_run(store, name="a\x00b", group="g\x00", tags=["t\x00"])
    store.ingest([(run.id, Status("failed", message="worker said \x00"))])
    store.put_artefact(run.id, "m\x00", {"k\x00": "v\x00"})
    store.put_findings(run.id, [{"code": "c\x00", "severity": "info", "message": "\x00"}])
    record = store.get_run(run.id)
    assert record is not None
    nul = "\x00" if backend == "sqlite" else "\ufffd"
    assert (record.name, record.group, record.tags) == (f"a{nul}b", f"g{nul}", [f"t{nul}"])
    assert record.message == f"worker said {nul}" and record.status == "failed"
    assert store.list_runs(tag=f"t{nul}") == [record]
    # JSON text escapes it: the same on both.
    assert store.get_artefacts(run.id) == {f"m{nul}": {"k\x00": "v\x00"}}
    assert store.get_findings(run.id)[0]["code"] == f"c{nul}"
