"""A full disk under a real server, on a small tmpfs this test mounts (as root): the run whose
points or checkpoint cannot be written fails with the reason, the server answers and says the
disk is full, nothing stored is lost, no half-written checkpoint is left, and once space is
back the failed run resumes and new runs complete."""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server, collect_until_end, rest_points, spec, wait_status

# Starts real `trainscope serve` processes (the slow tier).
pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Write until the file system says there is no space left."""
    block = b"\xff" * (1 << 20)
    with path.open("wb", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        while True:  # and the last partial block's worth
            try:
                f.write(b"\xff" * 4096)
            except OSError:
                return


# A server, a run, a resume and a second run: longer than the suite's 300 s on a loaded machine.
@pytest.mark.timeout(600)
def test_a_full_disk_fails_the_run_with_the_reason_and_nothing_stored_is_lost(
    small_disk: Path,
) -> None:
    env = {"TRAINSCOPE_MAX_RUNS": "1", "TRAINSCOPE_MIN_FREE_BYTES": "4000000"}
    srv = Server(small_disk, env=env).start()
    filler = small_disk / "filler"
    try:
        with srv.api() as api:
            health = api.get("/api/health").json()
            assert health["storage"]["full"] is False
            run = api.post("/api/runs", json=spec(max_epochs=20)).json()
            run_id = run["id"]
            wait_status(api, run_id, ("running",))
            deadline = time.monotonic() + 60
            while api.get(f"/api/runs/{run_id}").json()["progress"]["epoch"] < 2:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            before = rest_points(api, run_id)

            with srv.ws(f"/ws/runs/{run_id}?after_seq={before[-1]['seq']}") as ws:
                fill(filler)
                _, _, others = collect_until_end(ws, timeout=120)
            final = others[-1]
            assert final["status"] == "failed", final
            assert "full" in final["message"] or "No space left" in final["message"], final

            # The server answers, and says why.
            health = api.get("/api/health").json()
            assert health["status"] == "ok"
            assert health["storage"]["full"] is True
            assert "full" in health["storage"]["message"]
            assert rest_points(api, run_id)[: len(before)] == before
            # No half-written checkpoint left behind once the worker has let go of the run (it
            # may be checkpointing for the stop the server asked when the failure came first).
            run_dir = small_disk / "runs" / str(run_id)
            deadline = time.monotonic() + 30
            while list(run_dir.glob("**/*.tmp")) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not list(run_dir.glob("**/*.tmp"))

            filler.unlink()
            assert api.get("/api/health").json()["storage"]["full"] is False
            # Recorded once the store takes writes again (retried every second; slow on a busy box).
            failed = wait_status(api, run_id, ("failed",), timeout=120)
            assert failed["message"] == final["message"]
            # Resume trusts only whole checkpoints: it finishes with every point exactly once.
            assert api.post(f"/api/runs/{run_id}/resume").status_code == 200
            done = wait_status(api, run_id, ("completed",), timeout=300)
            points = rest_points(api, run_id)
            assert [p["seq"] for p in points] == list(range(1, done["last_seq"] + 1))
            assert points[: len(before)] == before
            # And a new run works.
            fresh = api.post("/api/runs", json=spec(max_epochs=1)).json()
            assert wait_status(api, fresh["id"], ("completed",), timeout=120)["last_seq"] > 0
    finally:
        srv.stop()
