"""`trainscope backup` while a real server trains a run, and `trainscope restore` of it: the
restored data directory, served, holds every point that was stored before the backup began."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from ..support import console_script
from .conftest import Server, rest_points, spec, wait_status

# Starts real `trainscope serve` processes (the slow tier).
pytestmark = pytest.mark.slow

# One worker to warm, not two: these tests need one run at a time.
ONE_WORKER = {"TRAINSCOPE_MAX_RUNS": "1"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([console_script(), *args], capture_output=True, text=True, timeout=120)


def test_a_backup_taken_mid_run_restores_every_point_stored_before_it(tmp_path: Path) -> None:
    data, backup, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    data.mkdir()
    srv = Server(data, env=ONE_WORKER).start()
    try:
        with srv.api() as api:
            run = api.post("/api/runs", json=spec(max_epochs=400)).json()
            wait_status(api, run["id"], ("running",))
            # Past the first epoch's checkpoint, and points still coming in.
            deadline = time.monotonic() + 60
            while api.get(f"/api/runs/{run['id']}").json()["progress"]["epoch"] < 3:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            before = rest_points(api, run["id"])

            made = cli("backup", str(backup), "--data-dir", str(data))

            assert made.returncode == 0, made.stderr
            after = api.get(f"/api/runs/{run['id']}").json()
            assert after["status"] == "running"  # the run went on during the backup
            api.post(f"/api/runs/{run['id']}/stop")
            wait_status(api, run["id"], ("stopped",))
    finally:
        srv.stop()
    assert (backup / "runs" / str(run["id"]) / "checkpoint.pt").is_file()
    assert not list(backup.rglob("*.tmp"))

    # Never into a directory that holds something: refused, and nothing there is changed.
    refused = cli("restore", str(backup), "--data-dir", str(data))
    assert refused.returncode == 2
    assert "not empty" in refused.stderr and "Traceback" not in refused.stderr

    put_back = cli("restore", str(backup), "--data-dir", str(restored))
    assert put_back.returncode == 0, put_back.stderr

    again = Server(restored, env=ONE_WORKER).start(wait_workers=False)
    try:
        with again.api() as api:
            got = api.get(f"/api/runs/{run['id']}").json()
            # It was running when the copy was taken; its server is not this one.
            assert got["status"] == "interrupted"
            points = rest_points(api, run["id"])
            assert len(points) >= len(before) > 0
            assert points[: len(before)] == before
            assert got["last_seq"] <= after["last_seq"]
    finally:
        again.stop()
    assert (restored / "runs" / str(run["id"]) / "checkpoint.pt").is_file()
