"""The user's own code as runs (DESIGN §8) through a real `trainscope serve` with real workers:
entry points registered from a TOML file, argparse scripts that know nothing of trainscope, a
script that uses the SDK, a pydantic function."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support import console_script
from .conftest import Server, collect_until_end, rest_points, wait_status

pytestmark = pytest.mark.slow
OWN_CODE = Path(__file__).parents[1] / "own_code"


def entrypoints_file(folder: Path) -> Path:
    path = folder / "entrypoints.toml"
    path.write_text(
        f"""
[entrypoints.plain]
target = "{OWN_CODE / "plain_train.py"}"

[entrypoints.sdk]
target = "{OWN_CODE / "sdk_train.py"}"

[entrypoints.crash]
target = "{OWN_CODE / "crash_train.py"}"

[entrypoints.fit]
target = "own_code.fit_model:fit"
cwd = "{OWN_CODE.parent}"

[entrypoints.broken]
target = "{OWN_CODE / "no_such_script.py"}"
"""
    )
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("scripts-server")
    env = {"TRAINSCOPE_ENTRYPOINTS_FILE": str(entrypoints_file(folder))}
    srv = Server(folder, env=env).start()
    yield srv
    srv.stop()


def ended(client: httpx.Client, run_id: int, timeout: float = 120) -> dict[str, Any]:
    run: dict[str, Any] = wait_status(
        client, run_id, ("completed", "stopped", "failed", "interrupted"), timeout=timeout
    )
    return run


def console(client: httpx.Client, run_id: int) -> list[str]:
    body = client.get(f"/api/runs/{run_id}/logs").json()
    return [line["text"] for line in body["lines"]]


def test_registered_entry_points_are_listed_with_their_schema_and_roles(server: Server) -> None:
    with server.api() as client:
        listed = {ep["name"]: ep for ep in client.get("/api/entrypoints").json()}
    # The one that cannot be probed is left out; the server started all the same.
    assert set(listed) == {"plain", "sdk", "crash", "fit"}
    plain = listed["plain"]
    assert plain["kind"] == "script"
    props = plain["schema"]["properties"]
    assert props["lr"]["type"] == "number" and props["lr"]["default"] == 0.1
    assert props["optimizer"]["enum"] == ["sgd", "adam"]
    assert plain["roles"]["learn_rate"] == "lr" and plain["roles"]["seed"] == "seed"
    assert plain["supports"] == {"stop": True, "resume": False, "seed": True}
    fit = listed["fit"]
    assert fit["kind"] == "function"
    assert fit["schema"]["properties"]["learning_rate"]["default"] == 0.05
    assert "target" not in fit and "cwd" not in fit  # no paths over the API
    assert "no_such_script.py" in (server.data_dir / "server.log").read_text()


def test_a_script_run_streams_its_stdout_metrics_and_keeps_its_console(server: Server) -> None:
    with server.api() as client:
        run = client.post(
            "/api/runs", json={"entrypoint": "plain", "args": {"lr": 0.3, "epochs": 2}}
        ).json()
        assert run["spec"]["kind"] == "script"
        assert run["spec"]["args"]["lr"] == 0.3
        assert run["spec"]["args"]["steps_per_epoch"] == 5  # defaults filled in
        launch = run["spec"]["launch"]
        assert launch["argv"][1:] == ["--lr", "0.3", "--epochs", "2"]
        assert len(launch["code"]["sha256"]) == 64
        with server.ws(f"/ws/runs/{run['id']}") as ws:
            _, points, others = collect_until_end(ws)
        final = ended(client, run["id"])
        assert final["status"] == "completed", final
        assert [p["iteration"] for p in points] == list(range(1, 11))
        assert points[0]["values"]["train_loss"] == pytest.approx(0.740818)
        assert points[0]["values"]["learn_rate"] == pytest.approx(0.3)
        assert final["progress"]["max_epochs"] == 2  # through the epochs role
        lines = console(client, run["id"])
        assert lines[0] == "training with a learn rate of 0.3" and lines[-1] == "done"
        live = [line["text"] for m in others if m["type"] == "logs" for line in m["lines"]]
        assert "done" in live  # the console came over the websocket too
        assert rest_points(client, run["id"])[-1]["epoch"] == 2


def test_bad_args_are_refused_at_once_naming_each_option(server: Server) -> None:
    with server.api() as client:
        r = client.post(
            "/api/runs",
            json={"entrypoint": "plain", "args": {"lr": "fast", "epochs": 0.5, "optimiser": 1}},
        )
        assert r.status_code == 422
        locs = {tuple(d["loc"]) for d in r.json()["detail"]}
        assert locs == {
            ("body", "args", "lr"),
            ("body", "args", "epochs"),
            ("body", "args", "optimiser"),
        }
        assert "did you mean 'optimizer'" in r.json()["message"]
        r = client.post("/api/runs", json={"entrypoint": "nope", "args": {}})
        assert r.status_code == 404 and "plain" in r.json()["message"]


def test_restart_with_a_changed_option_reaches_the_script(server: Server) -> None:
    with server.api() as client:
        parent = client.post(
            "/api/runs", json={"entrypoint": "plain", "args": {"epochs": 1}}
        ).json()
        ended(client, parent["id"])
        child = client.post(
            f"/api/runs/{parent['id']}/restart", json={"args": {"optimizer": "adam", "lr": 0.05}}
        )
        assert child.status_code == 201, child.text
        child_run = child.json()
        assert child_run["parent_id"] == parent["id"]
        assert ended(client, child_run["id"])["status"] == "completed"
        assert "training with a learn rate of 0.05" in console(client, child_run["id"])
        assert "seed is 0, optimizer is adam" in console(client, child_run["id"])
        refused = client.post(f"/api/runs/{parent['id']}/restart", json={"options": {"x": 1}})
        assert refused.status_code == 422 and "args" in refused.json()["message"]


def test_repeat_uses_the_seed_option(server: Server) -> None:
    with server.api() as client:
        parent = client.post("/api/runs", json={"entrypoint": "plain", "args": {"epochs": 1}})
        parent_id = parent.json()["id"]
        answer = client.post(f"/api/runs/{parent_id}/repeat", json={"count": 2}).json()
        seeds = sorted(r["spec"]["args"]["seed"] for r in answer["runs"])
        assert seeds == [1, 2]
        for r in answer["runs"]:
            ended(client, r["id"])
            assert f"seed is {r['spec']['args']['seed']}, optimizer is sgd" in console(
                client, r["id"]
            )
        no_seed = client.post("/api/runs", json={"entrypoint": "crash", "args": {}}).json()
        refused = client.post(f"/api/runs/{no_seed['id']}/repeat", json={"count": 2})
        assert refused.status_code == 409 and "no seed option" in refused.json()["message"]


def test_a_two_by_two_sweep_over_a_scripts_options(server: Server) -> None:
    with server.api() as client:
        base = {"entrypoint": "plain", "args": {"epochs": 1}}
        bad = client.post(
            "/api/sweeps", json={"base": base, "space": {"lr": {"values": ["x", 0.1]}}}
        )
        assert bad.status_code == 422 and "lr" in bad.json()["message"]
        sweep = client.post(
            "/api/sweeps",
            json={
                "base": base,
                "space": {"lr": {"values": [0.1, 0.5]}, "optimizer": {"values": ["sgd", "adam"]}},
                "metric": "train_loss",
                "max_parallel": 2,
            },
        )
        assert sweep.status_code == 201, sweep.text
        deadline = time.monotonic() + 240
        body = sweep.json()
        while time.monotonic() < deadline and body["status"] == "running":
            time.sleep(0.5)
            body = client.get(f"/api/sweeps/{body['id']}").json()
        assert body["status"] == "completed", body
        runs = client.get("/api/runs", params={"group": body["group"]}).json()
        combos = {(r["spec"]["args"]["lr"], r["spec"]["args"]["optimizer"]) for r in runs}
        assert combos == {(0.1, "sgd"), (0.1, "adam"), (0.5, "sgd"), (0.5, "adam")}
        assert all(r["status"] == "completed" for r in runs)


def test_stop_reaches_the_scripts_keyboard_interrupt_handler(
    server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "saved.txt"
    with server.api() as client:
        run = client.post(
            "/api/runs",
            json={
                "entrypoint": "plain",
                "args": {"epochs": 100000, "sleep": 0.02, "out": str(out)},
            },
        ).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not rest_points(client, run["id"]):
            time.sleep(0.1)
        client.post(f"/api/runs/{run['id']}/stop")
        final = ended(client, run["id"])
        assert final["status"] == "stopped"
        assert "interrupted: saving and ending cleanly" in console(client, run["id"])
        assert out.read_text().startswith("saved at step")


def test_an_sdk_script_attaches_to_the_run_the_server_started(server: Server) -> None:
    with server.api() as client:
        before = len(client.get("/api/runs").json())
        run = client.post(
            "/api/runs", json={"entrypoint": "sdk", "args": {"lr": 0.2, "steps": 8}}
        ).json()
        final = ended(client, run["id"])
        assert final["status"] == "completed"
        assert len(client.get("/api/runs").json()) == before + 1  # no second run
        points = rest_points(client, run["id"])
        assert [p["iteration"] for p in points] == list(range(1, 9))
        assert points[1]["values"]["train_loss"] == pytest.approx(0.5)  # `loss`, mapped
        assert "config seen by the run: lr=0.2" in console(client, run["id"])


def test_a_function_entry_point_gets_its_model(server: Server) -> None:
    with server.api() as client:
        run = client.post(
            "/api/runs", json={"entrypoint": "fit", "args": {"learning_rate": 0.5, "epochs": 2}}
        ).json()
        assert ended(client, run["id"])["status"] == "completed"
        assert "fitted with learning_rate=0.5" in console(client, run["id"])
        losses = [p["values"]["train_loss"] for p in rest_points(client, run["id"])]
        assert losses == pytest.approx([0.5, 0.25])
        bad = client.post("/api/runs", json={"entrypoint": "fit", "args": {"epochs": 0}})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
            "body",
            "args",
            "epochs",
        ]


def test_a_crash_keeps_its_traceback_in_the_console_and_the_message(server: Server) -> None:
    with server.api() as client:
        run = client.post("/api/runs", json={"entrypoint": "crash", "args": {}}).json()
        final = ended(client, run["id"])
        assert final["status"] == "failed"
        assert final["message"].startswith("exited with code 1")
        assert "ValueError: shapes do not match at lr 0.1" in final["message"]
        logs = client.get(f"/api/runs/{run['id']}/logs").json()["lines"]
        assert any(line["stream"] == "stderr" and "Traceback" in line["text"] for line in logs)
        assert json.dumps(logs)  # plain JSON


def test_submit_runs_an_entry_point_from_a_terminal(server: Server) -> None:
    """`trainscope submit --entrypoint NAME --arg k=v --follow`: the run, followed to its end;
    a value the schema refuses is named, with exit 2 and no traceback."""
    done = subprocess.run(
        [
            console_script(),
            "submit",
            "--entrypoint",
            "plain",
            "--arg",
            "epochs=1",
            "--arg",
            "lr=0.2",
            "--url",
            server.url,
            "--follow",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id = int(done.stdout.split()[1])
    with server.api() as client:
        run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "completed" and run["spec"]["args"]["lr"] == 0.2
    bad = subprocess.run(
        [
            console_script(),
            "submit",
            "--entrypoint",
            "plain",
            "--arg",
            "lr=fast",
            "--url",
            server.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "args.lr: must be a number" in bad.stderr and "Traceback" not in bad.stderr
