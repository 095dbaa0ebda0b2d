"""A real server (no workers needed: external runs have none) and scripts run as real
subprocesses, logging through the SDK as a user's training script does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..web.conftest import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sdk-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def script(code: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `code` (dedented) as a Python script; stdout is a pipe, read line by line."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")}
    full_env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"script failed ({proc.returncode}):\n{out}\n{err}"
    return out, err


def first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"script ended early: {proc.communicate(timeout=30)}"
    return line.strip()


def all_points(api: httpx.Client, run_id: int) -> dict[str, Any]:
    cols: dict[str, Any] = api.get(f"/api/runs/{run_id}/metrics").json()
    return cols


def wait_run(
    api: httpx.Client, run_id: int, statuses: tuple[str, ...], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}")
