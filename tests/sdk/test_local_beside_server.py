"""The SDK's local mode writing the SQLite file of a data directory while a real server starts
and runs on it: the server's start-up recovery leaves the script's live run alone (the script
is recorded as its owner), both write the one file, and every point arrives once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.web.conftest import Server

from .conftest import all_points, finish, first_line, script

# Starts real `trainscope serve` processes (the slow tier).
pytestmark = pytest.mark.slow


def test_a_local_mode_run_goes_on_while_a_server_starts_on_its_directory(tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = f"""
        import pathlib, time
        import trainscope
        with trainscope.init(name="beside", dir={str(tmp_path)!r}) as run:
            for i in range(1, 301):
                run.log({{"train_loss": 1.0 / i}})
            run.flush()
            print(run.id, flush=True)
            while not pathlib.Path({str(go)!r}).exists():  # until the server is up
                time.sleep(0.05)
            for i in range(301, 601):
                run.log({{"train_loss": 1.0 / i}})
    """
    proc = script(code)
    run_id = int(first_line(proc))
    srv = Server(tmp_path, env={"TRAINSCOPE_MAX_RUNS": "1"}).start(wait_workers=False)
    try:
        with srv.api() as api:
            during = api.get(f"/api/runs/{run_id}").json()
            # The server started with the script's run in the database: it is the script's.
            assert during["status"] == "running", during
            assert "server stopped" not in (during["message"] or "")
            go.touch()
            finish(proc)
            deadline = time.monotonic() + 30
            while (run := api.get(f"/api/runs/{run_id}").json())["status"] == "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            cols = all_points(api, run_id)
            assert api.get("/api/health").json()["status"] == "ok"
    finally:
        srv.stop()
    assert run["status"] == "completed"
    assert cols["seq"] == list(range(1, 601))
