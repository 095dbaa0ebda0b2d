"""Two real `trainscope serve` on one PostgreSQL database (each with its own data directory):
the second is refused while the first lives, and the first's run is untouched; once the first
is killed, a new server starts at once and marks only the dead server's run interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import console_script
from tests.web.conftest import Server, free_port, spec, wait_status

from .postgres import fresh_database

# Starts real `trainscope serve` processes (the slow tier).
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_a_second_server_on_one_postgresql_database_is_refused_then_takes_over(
    tmp_path: Path,
) -> None:
    with fresh_database("trainscope_h20_owners") as url:
        env = {"TRAINSCOPE_DATABASE_URL": url, "TRAINSCOPE_MAX_RUNS": "1"}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        b_dir = str(tmp_path / "b")
        first = Server(tmp_path / "a", env=env).start()
        try:
            with first.api() as api:
                run = api.post("/api/runs", json=spec(max_epochs=400)).json()
                wait_status(api, run["id"], ("running",))
                before = api.get(f"/api/runs/{run['id']}").json()["last_seq"]

                second = subprocess.run(
                    [console_script(), "serve", "--port", str(free_port()), "--data-dir", b_dir],
                    env={**os.environ, **env},
                    capture_output=True,
                    text=True,
                    timeout=60,
                )

                assert second.returncode == 2, second.stderr
                assert "Traceback" not in second.stderr
                assert f"pid {first.proc.pid}" in second.stderr  # type: ignore[union-attr]
                assert f"port {first.port}" in second.stderr
                assert "not supported" in second.stderr
                time.sleep(1)
                now = api.get(f"/api/runs/{run['id']}").json()
                assert now["status"] == "running" and now["last_seq"] > before
        finally:
            first.stop(signal.SIGKILL)  # a crash: no clean goodbye in the owners table

        # The dead server's pid is gone on this host: no wait for its heartbeat to go stale.
        t0 = time.monotonic()
        replacement = Server(tmp_path / "b", env=env).start(wait_workers=False)
        try:
            assert time.monotonic() - t0 < 60
            with replacement.api() as api:
                got = api.get(f"/api/runs/{run['id']}").json()
                assert got["status"] == "interrupted"
                assert got["message"] == "the server stopped while this run was running"
        finally:
            replacement.stop()
