"""One server per data directory, and a database that cannot be used told plainly: real
`trainscope serve` processes on real files (a live server's lock, bytes overwritten in the
SQLite file, a schema stamped by a newer trainscope)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from ..support import console_script, write_finished_run
from .conftest import Server, free_port, spec, wait_status

# Starts real `trainscope serve` processes (the slow tier).
pytestmark = pytest.mark.slow

# One worker to warm, not two: these tests need one run at a time.
ONE_WORKER = {"TRAINSCOPE_MAX_RUNS": "1"}


def serve(data_dir: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """`trainscope serve` that is expected to refuse to start: its exit status and output."""
    return subprocess.run(
        [console_script(), "serve", "--port", str(free_port()), "--data-dir", str(data_dir)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_second_server_on_the_data_directory_is_refused_and_the_first_runs_run_on(
    tmp_path: Path,
) -> None:
    first = Server(tmp_path, env=ONE_WORKER).start()
    try:
        with first.api() as api:
            run = api.post("/api/runs", json=spec(max_epochs=400)).json()
            wait_status(api, run["id"], ("running",))
            before = api.get(f"/api/runs/{run['id']}").json()["last_seq"]

            second = serve(tmp_path)

            assert second.returncode == 2, second.stderr
            assert "Traceback" not in second.stderr
            message = second.stderr
            assert f"pid {first.proc.pid}" in message  # type: ignore[union-attr]
            assert f":{first.port}" in message
            assert os.uname().nodename in message
            assert "--data-dir" in message
            # The first server's run was not touched: still running, and still gaining points.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                now = api.get(f"/api/runs/{run['id']}").json()
                assert now["status"] == "running", now
                if now["last_seq"] > before + 20:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"the run stopped gaining points: {now}")
            assert api.get("/api/health").json()["status"] == "ok"
            api.post(f"/api/runs/{run['id']}/stop")
            assert wait_status(api, run["id"], ("stopped",))["message"] == "stopped on request"
    finally:
        first.stop()
    # Once the first has stopped, the directory is free again.
    again = Server(tmp_path, env=ONE_WORKER).start(wait_workers=False)
    again.stop()


def damage(db: Path, offset: int, data: bytes) -> None:
    with db.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def test_a_damaged_database_is_named_with_what_sqlite_said_and_what_to_do(
    tmp_path: Path,
) -> None:
    write_finished_run(tmp_path, 20_000)
    db = tmp_path / "trainscope.db"
    # Garbage over a few pages in the middle of the file (its chunk blobs and b-tree pages).
    size = db.stat().st_size
    damage(db, size // 2, os.urandom(16_384))

    started = serve(tmp_path)

    assert started.returncode == 2, started.stderr
    err = started.stderr
    assert "Traceback" not in err and "startup failed" not in err
    assert str(db) in err
    assert "damaged" in err or "malformed" in err
    assert "trainscope db check" in err and ".recover" in err and "trainscope restore" in err
    assert len(err.splitlines()) < 12

    check = subprocess.run(
        [console_script(), "db", "check", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert "DAMAGED" in check.stdout and ".recover" in check.stdout


def test_a_file_that_is_not_a_database_is_named_with_what_sqlite_said(tmp_path: Path) -> None:
    write_finished_run(tmp_path, 1_000)
    db = tmp_path / "trainscope.db"
    damage(db, 0, b"\x00" * 100)  # the header: SQLite no longer knows it

    started = serve(tmp_path)

    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr
    assert str(db) in started.stderr
    assert "file is not a database" in started.stderr
    assert ".recover" in started.stderr


def test_a_database_of_a_newer_trainscope_is_refused_with_both_versions(tmp_path: Path) -> None:
    from trainscope.store import SCHEMA_VERSION

    write_finished_run(tmp_path, 1_000)
    db = tmp_path / "trainscope.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 3),)
        )

    started = serve(tmp_path)

    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr
    assert f"schema version {SCHEMA_VERSION + 3}" in started.stderr
    assert f"({SCHEMA_VERSION})" in started.stderr
    assert "never migrated down" in started.stderr
    # Refused, not touched: the stamp is still the newer one.
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert value == str(SCHEMA_VERSION + 3)


def test_db_check_on_a_sound_database_counts_what_it_holds(tmp_path: Path) -> None:
    write_finished_run(tmp_path, 3_000)
    check = subprocess.run(
        [console_script(), "db", "check", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "integrity_check: ok" in check.stdout
    assert "1 runs, 3000 points" in check.stdout
