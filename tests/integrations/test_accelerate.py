"""accelerate's tracking API on a real `Accelerator` (CPU) and a tiny torch loop:
`log_with="trainscope"` once `trainscope.integrations.accelerate` is imported, or a
`TrainscopeTracker` instance; a real `trainscope serve` shows what was logged, and its Stop ends
the loop through `should_stop(accelerator)`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from accelerate import Accelerator

import trainscope as trainscope_pkg
from trainscope.integrations.accelerate import TrainscopeTracker, should_stop

from ..sdk.conftest import wait_run
from ..web.conftest import Server, free_port

pytestmark = pytest.mark.slow  # a real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("accelerate-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def the_run(server: Server, tag: str) -> dict[str, Any]:
    with server.api() as api:
        runs = api.get("/api/runs", params={"tag": tag}).json()
        assert len(runs) == 1, runs
        run: dict[str, Any] = runs[0]
        return run


def prepared(accelerator: Any) -> tuple[Any, Any, Any]:
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    data = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    return accelerator.prepare(model, opt, loader)


def train_step(accelerator: Any, model: Any, opt: Any, xb: Any, yb: Any) -> float:
    loss = torch.nn.functional.mse_loss(model(xb).squeeze(-1), yb)
    opt.zero_grad()
    accelerator.backward(loss)
    opt.step()
    return float(loss.item())


def test_log_with_the_registered_name(server: Server) -> None:
    accelerator = Accelerator(log_with="trainscope", cpu=True)
    accelerator.init_trackers(
        "acc-linear",
        config={"lr": 0.05, "batch_size": 8, "epochs": 2},
        init_kwargs={"trainscope": {"url": server.url, "tags": ["acc-name"]}},
    )
    model, opt, loader = prepared(accelerator)
    losses: list[float] = []
    step = 0
    for epoch in range(2):
        for xb, yb in loader:
            step += 1
            losses.append(train_step(accelerator, model, opt, xb, yb))
            # a nested dict is main/sub (accelerate's TensorBoard tracker: add_scalars); text
            # is skipped with one warning, the numbers beside it are kept.
            accelerator.log(
                {"train/loss": losses[-1], "lr": 0.05, "acc": {"epoch": epoch}, "note": "x"},
                step=step,
            )
    accelerator.end_training()

    run = the_run(server, "acc-name")
    assert run["status"] == "completed"
    assert run["name"] == "acc-linear"
    assert run["spec"]["config"] == {"lr": 0.05, "batch_size": 8, "epochs": 2}
    assert run["spec"]["options"]["initial_learn_rate"] == 0.05
    with server.api() as api:
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    assert cols["iteration"] == list(range(1, 17))
    assert cols["values"]["train_loss"] == pytest.approx(losses)  # train/loss, mapped
    assert cols["values"]["learn_rate"] == [0.05] * 16
    assert cols["values"]["acc/epoch"] == [0.0] * 8 + [1.0] * 8
    assert "note" not in cols["values"]


def test_a_tracker_instance_and_stop_from_the_api(server: Server) -> None:
    tracker = TrainscopeTracker("acc-stop", url=server.url, tags=["acc-stop"])
    accelerator = Accelerator(log_with=tracker, cpu=True)
    accelerator.init_trackers("ignored: the instance has its name", config={"lr": 0.05})
    assert accelerator.get_tracker("trainscope") is tracker
    model, opt, loader = prepared(accelerator)
    run_id = accelerator.get_tracker("trainscope", unwrap=True).id
    step, pressed_at = 0, 0
    while step < 100_000:
        for xb, yb in loader:
            step += 1
            accelerator.log({"loss": train_step(accelerator, model, opt, xb, yb)}, step=step)
            if step == 3:
                with server.api() as api:  # the dashboard's Stop
                    assert api.post(f"/api/runs/{run_id}/stop").status_code == 200
                pressed_at = step
            if should_stop(accelerator):
                break
        else:
            continue
        break
    accelerator.end_training()

    assert pressed_at == 3
    assert 3 <= step < 100_000
    with server.api() as api:
        run = wait_run(api, run_id, ("stopped",), timeout=30)
        cols = api.get(f"/api/runs/{run_id}/metrics").json()
    assert run["spec"]["config"] == {"lr": 0.05}
    assert max(cols["iteration"]) == step


def test_should_stop_is_the_same_on_every_rank(server: Server, tmp_path: Path) -> None:
    """2 ranks (torchrun, gloo on CPU): only rank 0 has the run and hears the Stop;
    `should_stop(accelerator)` is True on both at the same step, so neither waits forever in a
    collective the other left."""
    script = Path(__file__).parent / "scripts" / "acc_ddp_train.py"
    backend = Path(trainscope_pkg.__file__).parent.parent
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(backend), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port()), str(script), server.url, "acc-ddp"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ends = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"rank"')]
    assert sorted(e["rank"] for e in ends) == [0, 1]
    assert {e["world"] for e in ends} == {2}
    steps = {e["step"] for e in ends}
    assert len(steps) == 1, ends
    (step,) = steps
    assert 3 <= step < 100_000
    run = the_run(server, "acc-ddp")  # one run, not one per rank
    with server.api() as api:
        run = wait_run(api, run["id"], ("stopped",), timeout=30)
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    assert max(cols["iteration"]) == step
