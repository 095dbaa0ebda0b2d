"""A Trainer script started by trainscope (an entry point's run, a real `trainscope serve` with
real workers): `TrainscopeCallback` attaches to that run instead of making a second one, its
points are the run's, and the dashboard's Stop reaches the Trainer through it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..web.conftest import Server, rest_points, wait_status

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "scripts" / "hf_attached_train.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hf-attached-server")
    (folder / "entrypoints.toml").write_text(f'[entrypoints.hf]\ntarget = "{SCRIPT}"\n')
    env = {"TRAINSCOPE_ENTRYPOINTS_FILE": str(folder / "entrypoints.toml")}
    srv = Server(folder, env=env).start()
    yield srv
    srv.stop()


def test_a_server_started_trainer_logs_to_its_run_and_stops_from_the_dashboard(
    server: Server, tmp_path: Path
) -> None:
    max_steps = 100_000
    with server.api() as api:
        args = {"max_steps": max_steps, "learning_rate": 0.002, "out": str(tmp_path)}
        run = api.post("/api/runs", json={"entrypoint": "hf", "args": args}).json()
        run_id = run["id"]
        deadline = time.monotonic() + 180  # a worker importing transformers on a busy machine
        while not rest_points(api, run_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rest_points(api, run_id), api.get(f"/api/runs/{run_id}").json()
        assert api.post(f"/api/runs/{run_id}/stop").status_code == 200
        ended = wait_status(api, run_id, ("stopped", "completed", "failed"), timeout=120)
        points = rest_points(api, run_id)
        lines = [x["text"] for x in api.get(f"/api/runs/{run_id}/logs").json()["lines"]]
        runs = api.get("/api/runs").json()
    assert ended["status"] == "stopped"
    assert [r["id"] for r in runs] == [run_id]  # no second run made by the callback
    # The Trainer ended by itself (the callback heard the stop), not by a signal.
    said = [x for x in lines if x.startswith("trainer ended by itself at step ")]
    assert said, lines[-20:]
    step = int(said[0].rsplit(" ", 1)[1])
    assert 0 < step < max_steps
    assert [p["iteration"] for p in points] == list(range(1, step + 1))
    assert all({"train_loss", "learn_rate", "loss"} <= p["values"].keys() for p in points)
    assert points[0]["values"]["learn_rate"] == pytest.approx(0.002, rel=0.01)
    assert all(p["epoch"] >= 1 for p in points)
