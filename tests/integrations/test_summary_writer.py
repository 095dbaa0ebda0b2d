"""`trainscope.SummaryWriter`: a script written for torch.utils.tensorboard, run unchanged but
for the import, lands in trainscope as one run (local mode, then shown by a real server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..sdk.conftest import all_points, finish, script
from ..web.conftest import Server

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow


def test_a_tensorboard_script_becomes_one_run(tmp_path: Path) -> None:
    code = """
        import torch
        from trainscope import SummaryWriter
        with SummaryWriter(comment="tb script", dir={dir!r}) as writer:
            writer.add_hparams({{"lr": 0.1, "batch_size": 32}}, {{}})
            for step in range(1, 51):
                writer.add_scalar("Loss/train", torch.tensor(1.0 / step), step)
                writer.add_scalars("acc", {{"train": step / 50, "val": step / 100}}, step)
                writer.add_histogram("w", torch.randn(10), step)
                writer.add_image("x", torch.zeros(3, 4, 4), step)
            print(writer.run.id, flush=True)
    """
    out, err = finish(script(code.format(dir=str(tmp_path))))
    run_id = int(out.strip())
    # one warning per skipped call, however often it was made
    assert err.count("SummaryWriter.add_histogram is skipped") == 1
    assert err.count("SummaryWriter.add_image is skipped") == 1
    srv = Server(tmp_path).start(wait_workers=False)
    try:
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}").json()
            cols = all_points(api, run_id)
    finally:
        srv.stop()
    assert run["name"] == "tb script" and run["status"] == "completed"
    assert run["spec"]["config"] == {"lr": 0.1, "batch_size": 32}
    values = cols["values"]

    def curve(name: str) -> dict[int, float]:
        return {i: v for i, v in zip(cols["iteration"], values[name], strict=True) if v is not None}

    assert sorted(curve("acc/train")) == list(range(1, 51))
    assert curve("acc/train")[50] == 1.0 and curve("acc/val")[50] == 0.5
    assert abs(curve("Loss/train")[2] - 0.5) < 1e-6
    # DESIGN §9: the raw names are kept, and the canonical ones reach the charts and doctor
    assert curve("train_loss") == curve("Loss/train")
    assert curve("train_accuracy") == curve("acc/train")
    assert curve("val_accuracy") == curve("acc/val")


def test_add_hparams_at_the_end_of_training_reaches_the_config(tmp_path: Path) -> None:
    """The usual place of add_hparams is after training, with the final metrics: the
    hyperparameters are merged into the running run's config, on a server and locally."""
    code = """
        from trainscope import SummaryWriter
        writer = SummaryWriter(comment="late hparams", config={{"seed": 1}}, {where})
        for step in range(1, 11):
            writer.add_scalar("train/loss", 1.0 / step, step)
        writer.add_hparams({{"lr": 0.05, "batch_size": 16}}, {{"hparam/val_acc": 0.75}})
        writer.close()
        print(writer.run.id, flush=True)
    """
    local = tmp_path / "local"
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    srv = Server(server_dir).start(wait_workers=False)
    try:
        ids = {}
        for label, where in (("local", f"dir={str(local)!r}"), ("server", f"url={srv.url!r}")):
            out, err = finish(script(code.format(where=where)))
            assert "add_hparams" not in err  # no warning: nothing was left out
            ids[label] = int(out.strip())
        with srv.api() as api:
            served = api.get(f"/api/runs/{ids['server']}").json()
            served_cols = all_points(api, ids["server"])
    finally:
        srv.stop()
    srv = Server(local).start(wait_workers=False)
    try:
        with srv.api() as api:
            stored = api.get(f"/api/runs/{ids['local']}").json()
            local_cols = all_points(api, ids["local"])
    finally:
        srv.stop()
    for run, cols in ((served, served_cols), (stored, local_cols)):
        assert run["status"] == "completed"
        assert run["spec"]["config"] == {"seed": 1, "lr": 0.05, "batch_size": 16}
        assert run["spec"]["options"]["initial_learn_rate"] == 0.05
        assert run["spec"]["options"]["mini_batch_size"] == 16
        # the metric dict: a point at the last step, beside the last loss
        at = {
            i: v
            for i, v in zip(cols["iteration"], cols["values"]["hparam/val_acc"], strict=True)
            if v is not None
        }
        assert at == {10: 0.75}
        assert cols["iteration"] == [*range(1, 11), 10]  # its own point, at step 10
