"""Faults the server survives (issue 5), each caused for real against a real `trainscope serve`:
the server SIGKILLed mid-run, a worker process SIGKILLed, the database locked by another
process, and 200 websocket clients on one run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect

from trainscope.store.database import DB_FILENAME

from .conftest import Server, rest_points, spec, wait_status

# Kills, locks and 200 clients against a real server.
pytestmark = pytest.mark.slow

FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")

# Every source of randomness and state a resume must restore: dropout (torch's RNG), batch norm
# running statistics, a new shuffle each epoch, a plateau schedule, the best network so far.
RESUMABLE_MODEL: dict[str, Any] = {
    "layers": [
        {"type": "fc", "units": 32},
        {"type": "batchnorm"},
        {"type": "relu"},
        {"type": "dropout", "probability": 0.2},
    ]
}


def resumable_spec(max_epochs: int) -> dict[str, Any]:
    body = spec(
        max_epochs=max_epochs,
        shuffle="every-epoch",
        learn_rate_schedule="plateau",
        learn_rate_drop_period=1,
        output_network="best-validation-loss",
        solver="adam",
        seed=7,
    )
    body["model"] = RESUMABLE_MODEL
    return body


def comparable(points: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What two runs of one spec must share, bit for bit on the CPU: all but wall_time."""
    return [(p["seq"], p["iteration"], p["epoch"], p["values"]) for p in points]


def assert_same_points(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want), (len(got), len(want))
    for g, w in zip(comparable(got), comparable(want), strict=True):
        assert g == w, f"first difference at seq {w[0]}:\n got {g}\nwant {w}"


def wait_points(server: Server, run_id: int, count: int) -> list[dict[str, Any]]:
    """The run's first `count` points or more, as a websocket client saw them."""
    seen: list[dict[str, Any]] = []
    with server.ws(f"/ws/runs/{run_id}") as ws:
        while len(seen) < count:
            msg = json.loads(ws.recv(timeout=60))
            if msg["type"] == "points":
                seen.extend(msg["points"])
            assert msg["type"] != "status" or msg["status"] in ("queued", "running"), msg
    return seen


def test_a_resumed_run_after_sigkill_has_exactly_the_points_of_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    per_epoch, epochs = 24, 12  # 384 training samples, batch 16
    srv = Server(tmp_path).start()
    try:
        with srv.api() as api:
            run = api.post("/api/runs", json=resumable_spec(epochs)).json()
            seen = wait_points(srv, run["id"], 150)  # a few epoch checkpoints in, mid-epoch
            srv.stop(signal.SIGKILL)
    finally:
        srv.stop(signal.SIGKILL)

    srv2 = Server(tmp_path, port=srv.port).start()
    try:
        with srv2.api() as api:
            after = api.get(f"/api/runs/{run['id']}").json()
            assert after["status"] == "interrupted"
            stored = rest_points(api, run["id"])
            assert stored[: len(seen)] == seen, "every point a client saw survived the kill"
            assert len(stored) < per_epoch * epochs, "killed before the end"

            # The same spec and seed, never interrupted, trains beside the resumed run.
            whole = api.post("/api/runs", json=resumable_spec(epochs)).json()
            r = api.post(f"/api/runs/{run['id']}/resume")
            assert r.status_code == 200, r.text
            for run_id in (run["id"], whole["id"]):
                done = wait_status(api, run_id, ("completed",), timeout=120)
                assert done["finish_reason"] == "max-epochs"
            info = api.get(f"/api/runs/{run['id']}").json()["info"]
            resumed = rest_points(api, run["id"])
            reference = rest_points(api, whole["id"])
    finally:
        srv2.stop()

    # From a checkpoint, not from scratch: the points before it were not trained again.
    assert 0 < info["resumed_from_iteration"] <= stored[-1]["iteration"]
    assert resumed[: len(stored)] == stored, "resume rewrote no stored point"
    train = [p["iteration"] for p in resumed if "train_loss" in p["values"]]
    assert train == list(range(1, per_epoch * epochs + 1)), "each iteration recorded once"
    assert "test_accuracy" in resumed[-1]["values"]
    assert_same_points(resumed, reference)


# ---- a worker process killed ------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    # /proc/PID/stat: "pid (comm) state ppid … utime stime …"; comm may hold spaces.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def worker_pids(server: Server) -> list[int]:
    """The server's worker processes: its children that multiprocessing spawned (not its
    resource tracker), found in /proc as an operator would with `ps`."""
    assert server.proc is not None
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == server.proc.pid and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def cpu_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime


def busiest(pids: list[int], window_s: float = 0.2, tries: int = 25) -> int:
    """The one process of `pids` that keeps a CPU busy (the worker training; the others idle):
    the first 0.2 s window in which it used at least three times what all the others did (a
    worker just warmed up may still be tidying up for a moment)."""
    used: dict[int, int] = {}
    for _ in range(tries):
        before = {pid: cpu_ticks(pid) for pid in pids}
        time.sleep(window_s)
        used = {pid: cpu_ticks(pid) - before[pid] for pid in pids}
        pid = max(pids, key=used.__getitem__)
        if used[pid] > 0 and 3 * (sum(used.values()) - used[pid]) <= used[pid]:
            return pid
    raise AssertionError(f"no single busy worker in CPU ticks per {window_s} s: {used}")


def wait_for(what: Callable[[], object], timeout: float, describe: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {describe}"
        time.sleep(0.05)


def test_a_killed_worker_interrupts_its_run_the_other_carries_on_and_resume_finishes_it(
    server: Server,
) -> None:
    # 2,400 iterations: the victim must still be training when its worker is found and killed
    # a second or so after its first checkpoint, on a fast machine too.
    per_epoch, epochs = 24, 100
    with server.api() as api:
        # TRAINSCOPE_MAX_RUNS=2: two workers, both warmed up (a warming one burns CPU too).
        wait_for(lambda: api.get("/api/health").json()["workers"]["ready"] == 2, 60, "workers")
        assert len(worker_pids(server)) == 2
        victim = api.post("/api/runs", json=resumable_spec(epochs)).json()
        checkpoint = server.data_dir / "runs" / str(victim["id"]) / "checkpoint.pt"
        wait_for(checkpoint.exists, 60, "the first epoch's checkpoint")
        pid = busiest(worker_pids(server))  # the other worker is idle: it trains the victim

        other = api.post("/api/runs", json=resumable_spec(epochs)).json()
        wait_points(server, other["id"], 10)  # both train now
        os.kill(pid, signal.SIGKILL)

        killed = wait_status(api, victim["id"], ("interrupted", "failed", "completed"))
        assert killed["status"] == "interrupted", (
            killed,
            api.get(f"/api/runs/{other['id']}").json(),
        )
        assert killed["message"].startswith("worker process died (exit code -9)")
        assert "resume continues from its checkpoint" in killed["message"]
        health = api.get("/api/health", timeout=2)
        assert health.status_code == 200 and health.json()["status"] == "ok"

        # The other run never noticed.
        done = wait_status(api, other["id"], ("completed", "failed", "interrupted"), 120)
        assert done["status"] == "completed", done
        reference = rest_points(api, other["id"])
        assert len([p for p in reference if "train_loss" in p["values"]]) == per_epoch * epochs

        # A new worker took the dead one's place, and resume finishes the run on it.
        wait_for(lambda: len(worker_pids(server)) == 2, 60, "a replacement worker")
        assert pid not in worker_pids(server)
        r = api.post(f"/api/runs/{victim['id']}/resume")
        assert r.status_code == 200, r.text
        resumed = wait_status(api, victim["id"], ("completed", "failed", "interrupted"), 120)
        assert resumed["status"] == "completed", resumed
        assert resumed["info"]["resumed_from_iteration"] > 0  # from the checkpoint
        points = rest_points(api, victim["id"])
    train = [p["iteration"] for p in points if "train_loss" in p["values"]]
    assert train == list(range(1, per_epoch * epochs + 1)), "each iteration recorded once"
    # Same spec, same seed: the run that lost its worker ends with the other's very points.
    assert_same_points(points, reference)


# ---- the database locked by another process -----------------------------------------------------


def test_a_locked_database_fails_the_run_with_the_reason_and_the_server_carries_on(
    server: Server,
) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json=spec(max_epochs=2000)).json()
        with server.ws(f"/ws/runs/{run['id']}") as ws:
            seen: list[dict[str, Any]] = []
            while len(seen) < 20:
                msg = json.loads(ws.recv(timeout=60))
                seen.extend(msg["points"] if msg["type"] == "points" else [])
            # Another process takes SQLite's write lock and keeps it past the server's busy
            # timeout (10 s), as a backup tool or a stuck script would.
            locker = sqlite3.connect(server.data_dir / DB_FILENAME, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                locked_at = time.monotonic()
                # The server answers meanwhile: health, and reads of the run.
                t0 = time.monotonic()
                assert api.get("/api/health", timeout=2).json()["status"] == "ok"
                assert api.get(f"/api/runs/{run['id']}", timeout=2).status_code == 200
                assert time.monotonic() - t0 < 2.0
                # Its watchers are told that the run failed, and why, without waiting for
                # the lock: nothing else about this run can reach the database.
                while True:
                    msg = json.loads(ws.recv(timeout=60))
                    if msg["type"] == "status":
                        break
                told_after = time.monotonic() - locked_at
                assert api.get("/api/health", timeout=2).json()["status"] == "ok"
            finally:
                locker.rollback()
                locker.close()
        assert msg["status"] == "failed", msg
        reason = "could not store points: database is locked (sqlite3.OperationalError)"
        assert msg["message"] == reason
        assert told_after < 30, told_after  # the busy timeout, not a hang

        # Once the lock is gone the record says the same: written when the run's worker,
        # stopped by the server, sent its last word.
        failed = wait_status(api, run["id"], ("failed",), timeout=30)
        assert failed["message"] == reason and failed["ended_at"] is not None
        stored = rest_points(api, run["id"])
        assert stored[: len(seen)] == seen
        assert failed["last_seq"] == stored[-1]["seq"] < 24 * 2000

        # The server carries on: a new run completes, and resume continues the failed one
        # without a gap or a point twice.
        other = api.post("/api/runs", json=spec(max_epochs=1)).json()
        assert wait_status(api, other["id"], ("completed", "failed"))["status"] == "completed"
        r = api.post(f"/api/runs/{run['id']}/resume")
        assert r.status_code == 200, r.text
        wait_for(
            lambda: api.get(f"/api/runs/{run['id']}").json()["last_seq"] > failed["last_seq"] + 50,
            60,
            "the resumed run's new points",
        )
        api.post(f"/api/runs/{run['id']}/stop")
        points = rest_points(api, run["id"])
        assert [p["seq"] for p in points] == list(range(1, len(points) + 1))
        train = [p["iteration"] for p in points if "train_loss" in p["values"]]
        assert train == list(range(1, len(train) + 1))


# ---- 200 websocket clients on one run -----------------------------------------------------------


async def _watch_until_end(url: str, hello: Callable[[], None]) -> tuple[list[int], list[str]]:
    """One client: the seqs of the points it got, and the types of everything else."""
    seqs: list[int] = []
    others: list[str] = []
    async with ws_connect(url, open_timeout=60, max_size=None) as ws:
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "points":
                seqs.extend(p["seq"] for p in msg["points"])
                continue
            others.append(msg["type"])
            if msg["type"] == "hello":
                hello()
            elif msg["type"] == "status" and msg["status"] in FINAL:
                break
    return seqs, others


def watch_with(
    clients: int, url: str, when_all_connected: Callable[[], None]
) -> list[tuple[list[int], list[str]]]:
    """`clients` websockets at once, on an event loop in a thread of its own (the browser tests'
    Playwright may keep one running on the main thread); `when_all_connected` runs here once
    every one of them has had its hello."""
    out: list[tuple[list[int], list[str]]] = []
    errors: list[BaseException] = []
    hellos = threading.Semaphore(0)

    async def everyone() -> None:
        watchers = (_watch_until_end(url, hellos.release) for _ in range(clients))
        out.extend(await asyncio.gather(*watchers))

    def main() -> None:
        try:
            asyncio.run(everyone())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    for _ in range(clients):
        assert hellos.acquire(timeout=60) or errors, "a client could not connect"
    if not errors:
        when_all_connected()
    thread.join(180)
    assert not thread.is_alive(), "the clients never saw the run end"
    if errors:
        raise errors[0]
    return out


def test_two_hundred_clients_on_one_run_each_get_every_point_exactly_once(
    server: Server,
) -> None:
    with server.api() as api:
        # Both slots busy: the watched run waits in the queue until every client is in, so
        # that all of its points are live, none backlog.
        blockers = [api.post("/api/runs", json=spec(max_epochs=100_000)).json() for _ in "ab"]
        for blocker in blockers:
            wait_status(api, blocker["id"], ("running",))
        run = api.post("/api/runs", json=spec(max_epochs=10)).json()

        def start_the_run() -> None:
            assert api.get(f"/api/runs/{run['id']}").json()["status"] == "queued"
            for blocker in blockers:
                assert api.post(f"/api/runs/{blocker['id']}/stop").status_code == 200

        seen = watch_with(200, f"{server.ws_url}/ws/runs/{run['id']}", start_the_run)
        final = api.get(f"/api/runs/{run['id']}").json()
        stored = [p["seq"] for p in rest_points(api, run["id"])]
    assert final["status"] == "completed"
    assert stored == list(range(1, final["last_seq"] + 1)) and len(stored) > 240
    assert len(seen) == 200
    for seqs, others in seen:
        assert "resync" not in others
        assert seqs == stored, "every point, once, in order"
