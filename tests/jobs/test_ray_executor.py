"""The Ray executor (TRAINSCOPE_EXECUTOR=ray) on a real Ray, as its users see it.

One `trainscope serve` with TRAINSCOPE_EXECUTOR=ray and no TRAINSCOPE_RAY_ADDRESS starts a
local Ray of its own and is driven through REST and websockets; the executor-level test joins
that same cluster with address "auto", as the server in docker-compose joins the head started
beside it. Starting Ray takes seconds, so the module shares that one cluster.

These tests fail (never skip) without Ray: `pip install ".[ray]"`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.jobs.conftest import LONG, Collector, MakeJob, spec_json
from tests.web.conftest import Server, collect_until_end, rest_points, spec, wait_status
from trainscope.jobs import Job
from trainscope.schemas.events import CheckpointSaved, Point, Started

# A local Ray cluster with real trials.
pytestmark = [pytest.mark.ray, pytest.mark.slow]

NEEDS_RAY = 'the Ray executor and these tests need Ray: pip install ".[ray]"'
FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")
OWN_CODE = Path(__file__).parents[1] / "own_code"
GRACE_S = 2  # TRAINSCOPE_STOP_GRACE_S of the server: a frozen run is killed after it


def require_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.fail(NEEDS_RAY, pytrace=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_ray()
    srv = Server(
        tmp_path_factory.mktemp("ray-server"),
        env={
            "TRAINSCOPE_EXECUTOR": "ray",
            "TRAINSCOPE_RAY_ADDRESS": "",  # unset: the server starts a local Ray
            "TRAINSCOPE_STOP_GRACE_S": str(GRACE_S),
            # A user's own script as a run, on a Ray task (DESIGN §8).
            "TRAINSCOPE_ENTRYPOINTS": json.dumps([f"plain={OWN_CODE / 'plain_train.py'}"]),
            # Server sets TRAINSCOPE_MAX_RUNS=2: two runs at once, however many cores.
        },
    ).start()
    yield srv
    srv.stop()


def task_pids(run_id: int) -> list[int]:
    """The Ray worker processes training `run_id`, found as an operator would with `ps`: Ray
    titles a worker after its task, `ray::trainscope-run-<id>`."""
    title = f"ray::trainscope-run-{run_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue  # gone meanwhile
        if argv[:1] == [title]:
            pids.append(int(entry.name))
    return pids


def wait_for(what: Any, timeout: float, describe: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := what()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {describe}"
        time.sleep(0.05)
    return value


def first_points(server: Server, run_id: int, count: int) -> None:
    with server.ws(f"/ws/runs/{run_id}") as ws:
        seen = 0
        while seen < count:
            msg = json.loads(ws.recv(timeout=60))
            if msg["type"] == "points":
                seen += len(msg["points"])


def train_iterations(points: list[dict[str, Any]]) -> list[int]:
    return [p["iteration"] for p in points if "train_loss" in p["values"]]


def healthy(api: httpx.Client) -> None:
    health = api.get("/api/health", timeout=2)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text


# ---- through the server ------------------------------------------------------------------------


def test_health_and_catalog_describe_the_ray_cluster(server: Server) -> None:
    with server.api() as api:
        workers = api.get("/api/health").json()["workers"]
        catalog = api.get("/api/catalog").json()
    assert workers == {"slots": 2, "ready": 2}
    assert catalog["executor"] == "ray"
    # One entry per node of the local cluster: its address and what it offers.
    assert len(catalog["devices"]) == 1 and catalog["devices"][0].endswith("CPUs")


def test_a_run_streams_every_point_exactly_once_and_completes(server: Server) -> None:
    with server.api() as api:
        r = api.post("/api/runs", json=spec())
        assert r.status_code == 201, r.text
        run = r.json()
        with server.ws(f"/ws/runs/{run['id']}") as ws:
            hello, points, others = collect_until_end(ws)
        assert hello["run"]["id"] == run["id"]
        assert others[-1]["status"] == "completed", others
        assert others[-1]["run"]["finish_reason"] == "max-epochs"
        seqs = [p["seq"] for p in points]
        assert seqs == list(range(1, len(seqs) + 1)), "each point once, in order, no gaps"
        assert train_iterations(points) == list(range(1, 24 * 5 + 1))
        assert rest_points(api, run["id"]) == points
        final = api.get(f"/api/runs/{run['id']}").json()
        assert final["status"] == "completed" and final["last_seq"] == seqs[-1]
        assert "test_accuracy" in final["latest"]
        assert "confusion_matrix" in api.get(f"/api/runs/{run['id']}/artefacts").json()
    assert (server.data_dir / "runs" / str(run["id"]) / "model.pt").exists()


def test_stop_mid_run_is_stopped_within_two_seconds_and_resume_completes(server: Server) -> None:
    epochs = 40
    with server.api() as api:
        run = api.post("/api/runs", json=spec(max_epochs=epochs)).json()
        first_points(server, run["id"], 30)
        asked = time.monotonic()
        r = api.post(f"/api/runs/{run['id']}/stop")
        took = time.monotonic() - asked
        assert r.status_code == 200, r.text
        stopped = r.json()
        assert stopped["status"] == "stopped" and stopped["message"] == "stopped on request"
        assert took < 2.0, f"stop took {took:.2f} s"
        assert (server.data_dir / "runs" / str(run["id"]) / "checkpoint.pt").exists()

        r = api.post(f"/api/runs/{run['id']}/resume")
        assert r.status_code == 200, r.text
        done = wait_status(api, run["id"], FINAL, timeout=120)
        assert done["status"] == "completed", done
        assert done["info"]["resumed_from_iteration"] > 0
        points = rest_points(api, run["id"])
    assert train_iterations(points) == list(range(1, 24 * epochs + 1)), "each iteration once"
    assert [p["seq"] for p in points] == list(range(1, len(points) + 1))


def test_a_queued_run_stopped_before_it_starts_never_trains(server: Server) -> None:
    with server.api() as api:
        # Two slots (TRAINSCOPE_MAX_RUNS=2): the third run waits for one of them.
        busy = [api.post("/api/runs", json=spec(max_epochs=1000)).json() for _ in range(2)]
        queued = api.post("/api/runs", json=spec()).json()
        for run in busy:
            wait_status(api, run["id"], ("running",))
        assert api.get(f"/api/runs/{queued['id']}").json()["status"] == "queued"

        r = api.post(f"/api/runs/{queued['id']}/stop")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stopped"
        assert r.json()["message"] == "stopped before it started"
        for run in busy:
            assert api.post(f"/api/runs/{run['id']}/stop").json()["status"] == "stopped"
        time.sleep(0.5)  # had it been handed to Ray after all, it would have started by now
        assert api.get(f"/api/runs/{queued['id']}").json()["last_seq"] == 0
        assert task_pids(queued["id"]) == []


def test_a_killed_ray_worker_interrupts_its_run_the_server_carries_on_and_resume_finishes_it(
    server: Server,
) -> None:
    epochs = 60
    with server.api() as api:
        victim = api.post("/api/runs", json=spec(max_epochs=epochs)).json()
        checkpoint = server.data_dir / "runs" / str(victim["id"]) / "checkpoint.pt"
        wait_for(checkpoint.exists, 60, "the first epoch's checkpoint")
        (pid,) = wait_for(lambda: task_pids(victim["id"]), 10, "the run's Ray worker")
        os.kill(pid, signal.SIGKILL)

        killed = wait_status(api, victim["id"], FINAL, timeout=10)
        assert killed["status"] == "interrupted", killed
        assert killed["message"].startswith("the run's Ray worker was lost (WorkerCrashedError")
        assert killed["message"].endswith("resume continues from its checkpoint")
        healthy(api)

        # The server carries on: a new run trains to the end on a new Ray worker.
        fresh = api.post("/api/runs", json=spec()).json()
        done = wait_status(api, fresh["id"], FINAL, timeout=120)
        assert done["status"] == "completed", done

        r = api.post(f"/api/runs/{victim['id']}/resume")
        assert r.status_code == 200, r.text
        resumed = wait_status(api, victim["id"], FINAL, timeout=120)
        assert resumed["status"] == "completed", resumed
        assert resumed["info"]["resumed_from_iteration"] > 0  # from the checkpoint
        points = rest_points(api, victim["id"])
    assert train_iterations(points) == list(range(1, 24 * epochs + 1)), "each iteration once"
    assert pid not in task_pids(victim["id"])


def test_a_run_that_ignores_stop_is_killed_after_the_grace_period(server: Server) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json=spec(max_epochs=1000)).json()
        first_points(server, run["id"], 10)
        (pid,) = task_pids(run["id"])
        os.kill(pid, signal.SIGSTOP)  # frozen: it can no longer see the stop flag
        try:
            api.post(f"/api/runs/{run['id']}/stop")
            stopped = wait_status(api, run["id"], FINAL, timeout=GRACE_S + 20)
        finally:
            if task_pids(run["id"]) == [pid]:
                os.kill(pid, signal.SIGKILL)
        assert stopped["status"] == "stopped", stopped
        assert stopped["message"] == f"killed after {GRACE_S} s grace period"
        healthy(api)
    wait_for(lambda: not task_pids(run["id"]), 10, "the frozen worker to be gone")


# ---- the executor itself -----------------------------------------------------------------------


def test_the_executor_joins_a_cluster_by_address_reports_its_workers_and_shuts_down(
    server: Server, make_job: MakeJob
) -> None:
    import ray

    from trainscope.jobs.ray_executor import RayExecutor

    assert not ray.is_initialized()
    # "auto": the cluster running on this machine, the server's (as in docker-compose).
    executor = RayExecutor("auto", server.data_dir, grace_s=10.0, max_runs=1)
    collector = Collector()
    executor.start(collector)
    try:
        wait_for(lambda: executor.snapshot()["workers_ready"], 60, "the cluster")
        snap = executor.snapshot()
        assert snap["kind"] == "ray" and snap["slots"] == 1 and snap["error"] is None

        running, queued = make_job(spec_json(**LONG)), make_job()
        executor.submit(running)
        executor.submit(queued)
        collector.wait_point(running.run_id)
        snap = executor.snapshot()
        assert snap["busy"] == [running.run_id] and snap["queued"] == [queued.run_id]
        (worker,) = snap["workers"]
        assert worker["run_id"] == running.run_id and worker["ready"]
        assert worker["pid"] in task_pids(running.run_id)
        assert worker["device"] is not None and worker["device"].startswith("cpu")
        with pytest.raises(ValueError):
            executor.submit(Job(running.run_id, running.spec_json, running.run_dir, "."))

        began = time.monotonic()
        executor.shutdown(grace_s=10.0)
        took = time.monotonic() - began
    finally:
        executor.shutdown(grace_s=0.0)  # a no-op unless something above failed

    status = collector.wait_status(running.run_id, timeout=0)
    assert status.status == "stopped" and status.message == "stopped on request"
    events = collector.events(running.run_id)
    assert isinstance(events[0], Started) and events[-1] == status
    assert any(isinstance(e, CheckpointSaved) for e in events)
    seqs = [e.seq for e in events if isinstance(e, Point)]
    assert seqs == list(range(1, len(seqs) + 1))
    # The queued run stays queued: whoever restarts the server decides what becomes of it.
    assert collector.events(queued.run_id) == []
    assert took < 5.0, f"shutdown took {took:.1f} s"
    assert not ray.is_initialized(), "it left the cluster (the cluster itself runs on)"
    assert executor.snapshot()["workers_ready"] == 0
    with pytest.raises(RuntimeError):
        executor.submit(make_job())
    with server.api() as api:
        healthy(api)  # the server's cluster outlived this other driver


def test_the_server_imports_ray_only_for_the_ray_executor_and_never_torch() -> None:
    require_ray()
    code = (
        "import sys\n"
        "from trainscope.config import Settings\n"
        "from trainscope.web.app import create_app, make_executor\n"
        "import trainscope.jobs.ray_executor\n"
        "assert 'ray' not in sys.modules, 'ray imported without the Ray executor'\n"
        "make_executor(Settings(executor='local'))\n"
        "assert 'ray' not in sys.modules, 'the local executor imported ray'\n"
        "executor = make_executor(Settings(executor='ray'))\n"
        "assert type(executor).__name__ == 'RayExecutor' and 'ray' in sys.modules\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the Ray executor pulled in: {out.stdout.strip()}"


def test_a_script_entry_point_runs_and_stops_on_a_ray_task(server: Server, tmp_path: Path) -> None:
    """The user's own script through the Ray executor: its stdout curves and console, a
    restart with a changed option it receives, and Stop reaching its KeyboardInterrupt handler."""
    with server.api() as client:
        run = client.post("/api/runs", json={"entrypoint": "plain", "args": {"epochs": 2}})
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
        final = wait_status(client, run_id, FINAL, timeout=120)
        assert final["status"] == "completed", final
        assert [p["iteration"] for p in rest_points(client, run_id)] == list(range(1, 11))
        lines = [x["text"] for x in client.get(f"/api/runs/{run_id}/logs").json()["lines"]]
        assert lines[0] == "training with a learn rate of 0.1" and lines[-1] == "done"

        out = tmp_path / "saved.txt"
        long = client.post(
            f"/api/runs/{run_id}/restart",
            json={"args": {"epochs": 100000, "sleep": 0.02, "lr": 0.2, "out": str(out)}},
        ).json()
        wait_for(lambda: rest_points(client, long["id"]), 120, "the restarted run's points")
        client.post(f"/api/runs/{long['id']}/stop")
        final = wait_status(client, long["id"], FINAL, timeout=120)
        assert final["status"] == "stopped", final
        logs = [x["text"] for x in client.get(f"/api/runs/{long['id']}/logs").json()["lines"]]
        assert "training with a learn rate of 0.2" in logs
        assert "interrupted: saving and ending cleanly" in logs, (final["message"], logs[-3:])
        assert out.read_text().startswith("saved at step")
