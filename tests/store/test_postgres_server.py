"""End to end on PostgreSQL: a real `trainscope serve` with TRAINSCOPE_DATABASE_URL pointing at a
fresh PostgreSQL database, a real run on a real worker, every point back through REST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from tests.web.conftest import Server, collect_until_end, rest_points, spec, wait_status
from trainscope.store import SCHEMA_VERSION
from trainscope.store.schema import meta, point_chunks

from .postgres import fresh_database

# A real server on the local PostgreSQL.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def test_a_run_on_a_postgresql_server_stores_every_point_once(
    tmp_path: Path, postgres_url: str
) -> None:
    env = {"TRAINSCOPE_DATABASE_URL": postgres_url}
    srv = Server(tmp_path, env=env).start()
    try:
        with srv.api() as api:
            r = api.post("/api/runs", json=spec())
            assert r.status_code == 201, r.text
            run_id = r.json()["id"]
            with srv.ws(f"/ws/runs/{run_id}") as ws:
                _, streamed, others = collect_until_end(ws)
            assert others[-1]["status"] == "completed"
            run = wait_status(api, run_id, ("completed",))
            stored = rest_points(api, run_id)
            seqs = [p["seq"] for p in stored]
            assert seqs == list(range(1, run["last_seq"] + 1)), "every point once, in order"
            # 384 training samples in batches of 16 for 5 epochs; validation every 10.
            train = [p for p in stored if "train_loss" in p["values"]]
            assert [p["iteration"] for p in train] == list(range(1, 24 * 5 + 1))
            assert stored == streamed, "the websocket and REST agree"
            assert "confusion_matrix" in api.get(f"/api/runs/{run_id}/artefacts").json()
            small = api.get(f"/api/runs/{run_id}/metrics", params={"max_points": 20}).json()
            assert small["downsampled"] and small["total"] == len(stored)
    finally:
        srv.stop()

    # The points are in PostgreSQL, not in a SQLite file in the data directory.
    assert not (tmp_path / "trainscope.db").exists()
    engine = create_engine(postgres_url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(select(meta.c.value)).scalar() == str(SCHEMA_VERSION)
        stored_count = select(func.sum(point_chunks.c.count)).where(point_chunks.c.run_id == run_id)
        assert conn.execute(stored_count).scalar() == len(stored)
    engine.dispose()

    # A new server on the same database finds the run as it was.
    again = Server(tmp_path, env=env).start(wait_workers=False)
    try:
        with again.api() as api:
            assert api.get(f"/api/runs/{run_id}").json()["status"] == "completed"
            assert rest_points(api, run_id) == stored
    finally:
        again.stop()
