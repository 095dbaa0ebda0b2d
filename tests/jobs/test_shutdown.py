"""Two slots at once, then shutdown: runs stop gracefully, workers end, nothing is left over."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.jobs.conftest import LONG, MakeJob, spec_json, started_executor, wait_ready

# Real spawned workers that train.
pytestmark = pytest.mark.slow


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_shutdown_stops_running_runs_gracefully_and_ends_the_workers(
    tmp_path: Path, make_job: MakeJob
) -> None:
    executor, collector = started_executor(tmp_path / "data", slots=2)
    try:
        wait_ready(executor, 2)
        snap = executor.snapshot()
        # The two workers share the CPU cores rather than each taking them all.
        threads = max(1, len(os.sched_getaffinity(0)) // 2)
        assert snap["slots"] == 2 and snap["devices"] == [f"cpu ({threads} threads)"] * 2
        pids = [w["pid"] for w in snap["workers"]]

        # Both slots train at once; a third run waits for one of them.
        a, b, queued = (make_job(spec_json(**LONG)) for _ in range(3))
        for job in (a, b, queued):
            executor.submit(job)
        collector.wait_point(a.run_id)
        collector.wait_point(b.run_id)
        snap = executor.snapshot()
        assert sorted(snap["busy"]) == [a.run_id, b.run_id] and snap["queued"] == [queued.run_id]

        began = time.monotonic()
        executor.shutdown(grace_s=10.0)
        took = time.monotonic() - began
    finally:
        executor.shutdown(grace_s=0.0)  # a no-op unless something above failed

    for job in (a, b):
        status = collector.wait_status(job.run_id, timeout=0)
        assert status.status == "stopped" and status.message == "stopped on request"
        assert (Path(job.run_dir) / "checkpoint.pt").exists()
    # The queued run stays queued: whoever restarts the server decides what becomes of it.
    assert collector.events(queued.run_id) == []
    assert took < 5.0, f"shutdown took {took:.1f} s"
    assert all(pid is not None and gone(pid) for pid in pids)
    assert executor.snapshot()["workers_ready"] == 0
    with pytest.raises(RuntimeError):
        executor.submit(make_job())


def test_shutdown_before_any_worker_is_ready_returns_promptly(tmp_path: Path) -> None:
    executor, _ = started_executor(tmp_path / "data", slots=1)
    began = time.monotonic()
    executor.shutdown(grace_s=10.0)
    assert time.monotonic() - began < 5.0
    assert all(w["pid"] is None for w in executor.snapshot()["workers"])
