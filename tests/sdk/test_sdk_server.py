"""A training script logging through the SDK to a real `trainscope serve`: what its user sees
in the dashboard (REST and the run's websocket)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from ..web.conftest import Server, collect_until_end
from .conftest import all_points, finish, first_line, script, wait_run

# People's scripts logging to a real server.
pytestmark = pytest.mark.slow

LOG_1000 = """
    import time, trainscope
    run = trainscope.init(name="script", url="{url}",
                          config={{"lr": 0.05, "batch_size": 64, "epochs": 4, "optimizer": "Adam",
                                   "model": {{"depth": 3, "act": "gelu"}}}})
    print(run.id, flush=True)
    for i in range(1, 1001):
        values = {{"train_loss": 2.0 / i, "train_accuracy": i / 1000}}
        if i % 100 == 0:
            values["val_loss"] = 2.5 / i
        run.log(values, epoch=(i - 1) // 250 + 1)
        time.sleep(0.002)  # a training loop: the points arrive while the dashboard watches
    run.finish()
"""


def test_a_script_logs_1000_points_each_arriving_once_in_order_live_and_over_rest(
    server: Server,
) -> None:
    proc = script(LOG_1000.format(url=server.url))
    run_id = int(first_line(proc))
    with server.api() as api, server.ws(f"/ws/runs/{run_id}") as ws:
        hello, points, others = collect_until_end(ws)
        finish(proc)
        run = api.get(f"/api/runs/{run_id}").json()
        cols = all_points(api, run_id)
    assert hello["run"]["spec"]["kind"] == "external"
    assert [p["seq"] for p in points] == list(range(1, 1001)), "each point once, in order"
    assert [p["iteration"] for p in points] == list(range(1, 1001))
    assert points[399]["epoch"] == 2 and points[-1]["epoch"] == 4
    assert points[99]["values"] == {"train_loss": 0.02, "train_accuracy": 0.1, "val_loss": 0.025}
    assert others[-1]["type"] == "status" and others[-1]["status"] == "completed"
    assert cols["seq"] == list(range(1, 1001))
    assert cols["values"]["train_loss"][:2] == [2.0, 1.0]
    assert cols["values"]["val_loss"][98:100] == [None, 0.025]
    assert run["status"] == "completed" and run["last_seq"] == 1000
    # The config is stored as given; the options it names are mirrored for the doctor.
    spec = run["spec"]
    assert spec["config"] == {
        "lr": 0.05,
        "batch_size": 64,
        "epochs": 4,
        "optimizer": "Adam",
        "model": {"depth": 3, "act": "gelu"},
    }
    assert spec["dataset"] is None and spec["model"] is None
    opts = spec["options"]
    assert opts["initial_learn_rate"] == 0.05
    assert (opts["mini_batch_size"], opts["max_epochs"]) == (64, 4)
    assert opts["solver"] == "adam"
    assert run["progress"]["epoch"] == 4 and run["progress"]["max_epochs"] == 4
    assert run["info"]["client"]["pid"] == proc.pid


def test_a_server_restarted_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    srv = Server(tmp_path).start(wait_workers=False)
    code = """
        import time, trainscope
        run = trainscope.init(name="restart", url="{url}", finish_timeout_s=120)
        print(run.id, flush=True)
        for i in range(1, 1501):
            run.log({{"train_loss": 1.0 / i}})
            time.sleep(0.002)
        assert run.finish(), "finish delivered everything"
    """
    proc = script(code.format(url=srv.url))
    try:
        run_id = int(first_line(proc))
        with srv.api() as api:
            deadline = time.monotonic() + 30
            while api.get(f"/api/runs/{run_id}").json()["last_seq"] < 100:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        srv.stop(signal.SIGTERM)  # the run becomes interrupted; the script keeps logging
        time.sleep(1.0)
        srv.start(wait_workers=False)
        finish(proc)
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}").json()
            cols = all_points(api, run_id)
    finally:
        srv.stop()
    assert cols["seq"] == list(range(1, 1501)), "every point once, none missing"
    assert cols["values"]["train_loss"][-1] == 1.0 / 1500
    assert run["status"] == "completed"


def test_points_logged_before_the_server_is_up_arrive_once_it_is(tmp_path: Path) -> None:
    srv = Server(tmp_path)
    code = """
        import trainscope
        run = trainscope.init(name="early", url="{url}", init_timeout_s=0.1,
                              finish_timeout_s=120)
        for i in range(1, 301):
            run.log({{"train_loss": 1.0 / i}})
        assert run.finish()
        print(run.id, flush=True)
    """
    proc = script(code.format(url=srv.url))
    time.sleep(1.0)  # the script's first attempts are refused: nothing listens yet
    srv.start(wait_workers=False)
    try:
        out, err = finish(proc)
        run_id = int(out.strip())
        assert "has not answered yet" in err
        with srv.api() as api:
            runs = api.get("/api/runs").json()
            cols = all_points(api, run_id)
    finally:
        srv.stop()
    assert [r["id"] for r in runs] == [run_id], "one run, however many attempts it took"
    assert cols["seq"] == list(range(1, 301))
    assert runs[0]["status"] == "completed"


def test_a_script_that_ends_without_finish_still_delivers_every_point(server: Server) -> None:
    code = """
        import trainscope
        run = trainscope.init(name="no-finish", url="{url}")
        print(run.id, flush=True)
        for i in range(1, 201):
            run.log({{"train_loss": 1.0 / i}}, step=i * 10)
    """
    proc = script(code.format(url=server.url))
    run_id = int(first_line(proc))
    finish(proc)
    with server.api() as api:
        run = api.get(f"/api/runs/{run_id}").json()
        cols = all_points(api, run_id)
    assert run["status"] == "completed"
    assert cols["seq"] == list(range(1, 201))
    assert cols["iteration"] == [i * 10 for i in range(1, 201)]


def test_an_exception_ends_the_run_failed_with_its_message(server: Server) -> None:
    in_with = """
        import trainscope
        with trainscope.init(name="boom", url="{url}") as run:
            print(run.id, flush=True)
            run.log({{"train_loss": 1.0}})
            raise ValueError("shapes do not match")
    """
    uncaught = """
        import trainscope
        run = trainscope.init(name="boom-uncaught", url="{url}")
        print(run.id, flush=True)
        run.log({{"train_loss": 1.0}})
        raise RuntimeError("CUDA out of memory")
    """
    with server.api() as api:
        for code, message in [
            (in_with, "ValueError: shapes do not match"),
            (uncaught, "RuntimeError: CUDA out of memory"),
        ]:
            proc = script(code.format(url=server.url))
            run_id = int(first_line(proc))
            proc.communicate(timeout=60)
            assert proc.returncode == 1
            run = wait_run(api, run_id, ("failed",), timeout=10)
            assert run["message"] == message
            assert run["last_seq"] == 1


def test_a_stop_from_rest_reaches_the_script_within_a_second(server: Server) -> None:
    code = """
        import time, trainscope
        run = trainscope.init(name="stoppable", url="{url}")
        print(run.id, flush=True)
        i = 0
        while not run.should_stop:
            i += 1
            run.log({{"train_loss": 1.0 / i}})
            time.sleep(0.005)
        print(time.time(), flush=True)
        run.finish()
    """
    proc = script(code.format(url=server.url))
    run_id = int(first_line(proc))
    with server.api() as api:
        wait_for_points(api, run_id, 20)
        asked = time.time()
        r = api.post(f"/api/runs/{run_id}/stop")
        answered = time.time()
        assert r.status_code == 200, r.text
        # Answered at once: the script ends the run itself.
        assert r.json()["info"]["stop_requested"] is True
        assert answered - asked < 0.5
        seen = float(first_line(proc))
        finish(proc)
        run = wait_run(api, run_id, ("stopped",), timeout=10)
    assert seen - asked < 1.0
    assert run["status"] == "stopped"


def wait_for_points(api: Any, run_id: int, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/api/runs/{run_id}").json()["last_seq"] < n:
        assert time.monotonic() < deadline, f"run {run_id} has fewer than {n} points"
        time.sleep(0.02)


def test_local_mode_writes_a_store_that_a_server_then_shows(tmp_path: Path) -> None:
    code = """
        import trainscope
        with trainscope.init(name="offline", dir={dir!r}, config={{"lr": 0.1}}) as run:
            for i in range(1, 501):
                run.log({{"train_loss": 1.0 / i, "val_accuracy": i / 500}})
            print(run.id, flush=True)
    """
    proc = script(code.format(dir=str(tmp_path)))
    out, _ = finish(proc)
    run_id = int(out.strip())
    srv = Server(tmp_path).start(wait_workers=False)
    try:
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}").json()
            cols = all_points(api, run_id)
    finally:
        srv.stop()
    assert run["name"] == "offline" and run["status"] == "completed"
    assert run["spec"]["kind"] == "external" and run["spec"]["config"] == {"lr": 0.1}
    assert cols["seq"] == list(range(1, 501))
    assert cols["values"]["val_accuracy"][-1] == 1.0


def test_the_doctor_reads_an_external_run_that_diverges(server: Server) -> None:
    code = """
        import trainscope
        with trainscope.init(name="diverging", url="{url}", config={{"lr": 3.0}}) as run:
            print(run.id, flush=True)
            for i in range(1, 121):
                run.log({{"train_loss": 2.3 - 0.001 * i, "train_accuracy": 0.1}})
            run.log({{"train_loss": float("nan"), "train_accuracy": 0.1}})
    """
    proc = script(code.format(url=server.url))
    run_id = int(first_line(proc))
    finish(proc)
    with server.api() as api:
        deadline = time.monotonic() + 15
        findings: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            findings = api.get(f"/api/runs/{run_id}/findings").json()
            if any(f["code"] == "diverged" for f in findings):
                break
            time.sleep(0.1)
        cols = all_points(api, run_id)
    assert any(f["code"] == "diverged" for f in findings), findings
    assert cols["values"]["train_loss"][-1] == "NaN"


def test_the_api_token_is_sent_from_the_environment(tmp_path: Path) -> None:
    srv = Server(tmp_path, env={"TRAINSCOPE_API_TOKEN": "s3cret"}).start(wait_workers=False)
    code = """
        import trainscope
        with trainscope.init(name="guarded", url="{url}") as run:
            run.log({{"train_loss": 1.0}})
        print(run.id, flush=True)
    """
    try:
        out, _ = finish(script(code.format(url=srv.url), env={"TRAINSCOPE_API_TOKEN": "s3cret"}))
        run_id = int(out.strip())
        refused = script(code.format(url=srv.url), env={"TRAINSCOPE_API_TOKEN": "wrong"})
        _, err = refused.communicate(timeout=60)
        headers = {"Authorization": "Bearer s3cret"}
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}", headers=headers).json()
            runs = api.get("/api/runs", headers=headers).json()
    finally:
        srv.stop()
    assert run["status"] == "completed" and run["last_seq"] == 1
    assert len(runs) == 1, "the refused script created nothing"
    assert "401" in err and "API token" in err


def test_the_plain_pytorch_example_runs_against_a_server(server: Server) -> None:
    example = Path(__file__).parents[2] / "examples" / "sdk_plain_pytorch.py"
    proc = script(
        example.read_text(encoding="utf-8"),
        env={"TRAINSCOPE_URL": server.url, "EXAMPLE_EPOCHS": "2"},
    )
    out, _ = finish(proc, timeout=300)
    run_id = json.loads(out.strip().splitlines()[-1])["run"]
    with server.api() as api:
        run = api.get(f"/api/runs/{run_id}").json()
        cols = all_points(api, run_id)
    assert run["status"] == "completed"
    assert run["spec"]["config"]["epochs"] == 2
    assert {"train_loss", "train_accuracy", "learn_rate", "val_loss", "val_accuracy"} <= set(
        cols["values"]
    )
    assert cols["seq"] == list(range(1, len(cols["seq"]) + 1))
