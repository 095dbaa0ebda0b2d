"""Who owns each run (store/owners.py), on SQLite and PostgreSQL: crash recovery interrupts the
runs of an owner that is gone and never those of one that is alive, wherever it runs."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert, select

from trainscope.store import Store
from trainscope.store.owners import STALE_S, OwnerConflict
from trainscope.store.schema import owners, runs

from .conftest import new_run


def record_owner(store: Store, *, host: str, heartbeat_age_s: float, kind: str = "server") -> str:
    """A row as another process on `host` would have written it."""
    owner_id = f"other-{host}-{heartbeat_age_s}"
    now = time.time()
    with store.engine.begin() as conn:
        conn.execute(
            insert(owners).values(
                id=owner_id,
                kind=kind,
                host=host,
                pid=1,
                port=8000,
                data_dir="/data",
                started_at=now - heartbeat_age_s - 60,
                heartbeat_at=now - heartbeat_age_s,
            )
        )
    return owner_id


def owned_run(store: Store, owner_id: str | None, status: str = "running") -> int:
    run = new_run(store, status=status)
    with store.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run.id).values(owner_id=owner_id))
    return run.id


def test_a_live_server_elsewhere_is_refused_and_its_runs_are_left_alone(store: Store) -> None:
    other = record_owner(store, host="replica-2", heartbeat_age_s=2)
    theirs = owned_run(store, other)
    nobodys = owned_run(store, None, status="queued")  # from before owners were recorded

    with pytest.raises(OwnerConflict) as refused:
        store.register_owner("server", port=9000, exclusive=True)
    assert "replica-2" in str(refused.value) and "port 8000" in str(refused.value)

    # A script of the SDK's local mode may write beside a live server; recovery from it
    # touches only what nobody alive owns.
    store.register_owner("sdk")
    assert store.interrupt_unfinished() == [nobodys]
    assert store.get_run(theirs).status == "running"  # type: ignore[union-attr]


def test_a_server_whose_heartbeat_went_stale_is_replaced_and_its_runs_interrupted(
    store: Store,
) -> None:
    gone = record_owner(store, host="lost-machine", heartbeat_age_s=STALE_S + 5)
    theirs = owned_run(store, gone)

    me = store.register_owner("server", port=9000, exclusive=True)

    assert store.interrupt_unfinished() == [theirs]
    run = store.get_run(theirs)
    assert run is not None and run.status == "interrupted"
    assert run.message == "the server stopped while this run was running"
    with store.engine.connect() as conn:
        assert conn.execute(select(owners.c.id)).scalars().all() == [me.id]


def test_runs_a_server_creates_or_resumes_are_its_own(store: Store) -> None:
    me = store.register_owner("server", exclusive=True)
    created = new_run(store)
    old = owned_run(store, "somebody-else", status="interrupted")
    store.update_run(old, status="queued")
    with store.engine.connect() as conn:
        found = dict(conn.execute(select(runs.c.id, runs.c.owner_id)).all())
    assert found == {created.id: me.id, old: me.id}


def test_a_server_that_stops_cleanly_removes_itself(database_url: str) -> None:
    first = Store.open(database_url)
    first.register_owner("server", exclusive=True)
    first.close()
    second = Store.open(database_url)
    try:
        second.register_owner("server", exclusive=True)  # not refused
    finally:
        second.close()
