"""`trainscope submit` against a real server, as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ..support import console_script
from .conftest import Server, spec

# `trainscope submit` against a real server.
pytestmark = pytest.mark.slow


def submit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), "submit", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ},
    )


def test_submit_and_follow_until_completed(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(max_epochs=2)))
    res = submit(str(path), "--url", server.url, "--follow")
    assert res.returncode == 0, res.stderr
    run_id = int(res.stdout.split()[1])
    assert f"{server.url}/runs/{run_id}" in res.stdout
    assert "completed (max-epochs)" in res.stderr
    assert "iter 48/48" in res.stderr
    with server.api() as api:
        assert api.get(f"/api/runs/{run_id}").json()["status"] == "completed"


def test_submit_without_follow_returns_at_once(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(max_epochs=1)))
    res = submit(str(path), "--url", server.url)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("run ") and "queued" in res.stdout


def test_submit_a_bad_spec_gets_the_servers_message(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"dataset": {"name": "spirals"}, "options": {"momentum": 3}}))
    res = submit(str(path), "--url", server.url)
    assert res.returncode == 2
    assert "options.momentum: must be less than 1 (got 3)" in res.stderr
    assert "Traceback" not in res.stderr


def test_submit_to_no_server_says_so(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec()))
    res = submit(str(path), "--url", "http://127.0.0.1:9")
    assert res.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in res.stderr
    assert "Traceback" not in res.stderr
