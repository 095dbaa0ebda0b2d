"""`import trainscope.compat.wandb as wandb`: a wandb-style script (config, commit=False,
define_metric, nested dicts, out-of-order steps, summary, media, finish) runs unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..sdk.conftest import all_points, finish, script
from ..web.conftest import Server

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow


def test_a_wandb_script_runs_unchanged(tmp_path: Path) -> None:
    code = """
        import torch
        import trainscope.compat.wandb as wandb
        model = torch.nn.Linear(3, 1)
        run = wandb.init(project="p", name="wb", config={{"lr": 0.1}}, dir={dir!r},
                         job_type="train", notes="n", magic=True, anonymous="allow")
        wandb.config.update({{"batch_size": 8}})
        wandb.config.lr = 0.2
        wandb.config.update({{"lr": 0.1}}, allow_val_change=True)
        assert wandb.config.batch_size == 8 and wandb.config["lr"] == 0.1
        wandb.watch(model)
        wandb.define_metric("val/acc", step_metric="epoch")
        for step in range(1, 21):
            model.zero_grad()
            model(torch.ones(2, 3)).sum().backward()
            wandb.log({{"train": {{"loss": 1.0 / step}}}}, commit=False)
            wandb.log({{"img": wandb.Image(None), "lr": 0.01}})
            if step % 10 == 0:
                wandb.log({{"val/acc": step / 20, "epoch": step // 10}})
        wandb.log({{"late": 5.0}}, step=3)            # out of order: kept
        wandb.run.summary["best"] = 0.9
        print(run.id, wandb.summary["best"], flush=True)
        wandb.finish()
        wandb.init(mode="disabled").log({{"x": 1}})   # logs nowhere, never fails
        wandb.finish()
    """
    out, err = finish(script(code.format(dir=str(tmp_path))))
    run_id_text, best = out.split()
    assert best == "0.9"
    assert "wandb.init(magic=...) is ignored" in err
    assert err.count("wandb.Image is skipped") == 1
    srv = Server(tmp_path).start(wait_workers=False)
    try:
        with srv.api() as api:
            runs = api.get("/api/runs").json()
            rec = api.get(f"/api/runs/{int(run_id_text)}").json()
            cols = all_points(api, int(run_id_text))
    finally:
        srv.stop()
    assert rec["name"] == "wb" and rec["status"] == "completed"
    # What the script set after init reaches the stored config (lr set to 0.2, then back).
    assert rec["spec"]["config"] == {"lr": 0.1, "batch_size": 8}
    # wandb's summary is the run's: what the script put in it, and each metric's last value.
    assert rec["info"]["summary"]["best"] == 0.9
    assert rec["info"]["summary"]["lr"] == 0.01
    assert len(runs if isinstance(runs, list) else runs["items"]) == 1  # disabled: no run
    values = cols["values"]

    def curve(name: str) -> dict[int, float]:
        return {i: v for i, v in zip(cols["iteration"], values[name], strict=True) if v is not None}

    # commit=False: the loss and the lr of one loop turn land on one step
    assert sorted(curve("train/loss")) == sorted(curve("lr"))
    assert len(curve("train/loss")) == 20
    assert curve("train_loss") == curve("train/loss")  # DESIGN §9's canonical name beside it
    assert curve("val/acc") == {1: 0.5, 2: 1.0}  # define_metric: epoch is its x axis
    assert curve("late") == {3: 5.0}
    assert all(v > 0 for v in curve("grad_norm").values())
