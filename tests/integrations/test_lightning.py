"""A real Lightning `Trainer` (lightning.pytorch) with `TrainscopeLogger` and `TrainscopeStop`
against a real server: the fit is one run with its points, config and status; the API's Stop
ends `trainer.fit` early, also under DDP on two CPU processes (gloo), where only rank 0 holds
the run; an exception in `training_step` ends the run `failed` with its message; a
`trainer.test` after the fit lands in the run with `keep_open=True`, and is said to be lost
without it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..sdk.conftest import all_points, first_line, wait_run
from ..web.conftest import Server

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow

# A tiny classifier on random tensors (4 features, 2 classes): 8 batches of 8 an epoch.
MODULE = """
import os, sys, torch
import lightning.pytorch as pl
from torch.utils.data import DataLoader, TensorDataset
from trainscope.integrations.lightning import TrainscopeLogger, TrainscopeStop

class Tiny(pl.LightningModule):
    def __init__(self, lr=0.05, hidden=8, fail_at=-1):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

    def training_step(self, batch, i):
        if self.global_step == self.hparams.fail_at:
            raise RuntimeError("boom at step %d" % self.global_step)
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, i):
        x, y = batch
        out = self.net(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(out, y))
        self.log("val_acc", (out.argmax(1) == y).float().mean())

    def test_step(self, batch, i):
        x, y = batch
        self.log("test_loss", torch.nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

class SayRunId(pl.Callback):
    # The run's id on stdout at the first batch, for the test to press Stop on.
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == 1 and trainer.is_global_zero:
            print(trainer.logger.version, flush=True)

def loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)

def trainer(name, keep_open=False, **kwargs):
    logger = TrainscopeLogger(name=name, url=os.environ["URL"], config={"data": "random"},
                              keep_open=keep_open)
    callbacks = [TrainscopeStop(), SayRunId(), pl.callbacks.LearningRateMonitor()]
    return pl.Trainer(logger=logger, callbacks=callbacks, enable_progress_bar=False,
                      enable_checkpointing=False, enable_model_summary=False,
                      log_every_n_steps=1, **kwargs)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("lightning-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def start(tmp_path: Path, server: Server, main: str) -> subprocess.Popen[str]:
    """The script as a file (Lightning's DDP launcher starts it again for rank 1)."""
    path = tmp_path / "train.py"
    path.write_text(MODULE + "\nif __name__ == '__main__':\n" + main)
    env = {"URL": server.url, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**_inherited(), **env},
        cwd=tmp_path,
    )


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")}


def ended(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"script failed ({proc.returncode}):\n{out}\n{err}"
    return out


def curve(cols: dict[str, Any], name: str) -> dict[int, float]:
    return {
        i: v for i, v in zip(cols["iteration"], cols["values"][name], strict=True) if v is not None
    }


def runs_named(api: Any, name: str) -> list[dict[str, Any]]:
    body = api.get("/api/runs").json()
    items = body if isinstance(body, list) else body["items"]
    return [r for r in items if r["name"] == name]


def test_a_fit_is_one_run_with_its_points_config_and_status(tmp_path: Path, server: Server) -> None:
    proc = start(
        tmp_path,
        server,
        "    class Late(pl.Callback):  # hyperparameters known once training runs\n"
        "        def on_train_epoch_end(self, trainer, module):\n"
        "            trainer.logger.log_hyperparams({'found_after': 3})\n"
        "    t = trainer('pl fit', max_epochs=3)\n"
        "    t.callbacks.append(Late())\n"
        "    t.fit(Tiny(), loader(), loader())\n"
        "    print(t.global_step, flush=True)\n",
    )
    run_id = int(first_line(proc))
    steps = int(ended(proc).split()[-1])
    assert steps == 24  # 3 epochs of 8 batches
    with server.api() as api:
        run = wait_run(api, run_id, ("completed",), timeout=10)
        cols = all_points(api, run_id)
        assert len(runs_named(api, "pl fit")) == 1
    # save_hyperparameters() → the run's config, beside the logger's own
    assert run["spec"]["config"] == {
        "data": "random",
        "lr": 0.05,
        "hidden": 8,
        "fail_at": -1,
        "found_after": 3,  # logged once the run had started: merged in
    }
    train = curve(cols, "train_loss")
    assert sorted(train) == list(range(24))  # one point per batch, at Lightning's step
    # validation once an epoch, at the step the epoch ended; the epoch counted from 1
    assert sorted(curve(cols, "val_acc")) == [7, 15, 23]
    assert all(0.0 <= v <= 1.0 for v in curve(cols, "val_acc").values())
    epoch_at = dict(zip(cols["iteration"], cols["epoch"], strict=True))
    assert epoch_at[7] == 1 and epoch_at[23] == 3
    # DESIGN §9: LearningRateMonitor's lr-Adam and val_acc reach the charts' names, raw kept
    assert curve(cols, "learn_rate") == curve(cols, "lr-Adam")
    assert set(curve(cols, "learn_rate").values()) == {0.05}
    assert curve(cols, "val_accuracy") == curve(cols, "val_acc")
    assert "epoch" not in cols["values"]  # Lightning's epoch is the axis, not a metric


def test_stop_from_the_api_ends_fit_early(tmp_path: Path, server: Server) -> None:
    proc = start(
        tmp_path,
        server,
        "    t = trainer('pl stop', max_epochs=100_000)\n"
        "    t.fit(Tiny(), loader())\n"
        "    print(t.global_step, t.current_epoch, flush=True)\n",
    )
    run_id = int(first_line(proc))
    with server.api() as api:
        assert api.post(f"/api/runs/{run_id}/stop").status_code == 200
        step, epoch = map(int, ended(proc, timeout=120).split()[-2:])
        run = wait_run(api, run_id, ("stopped",), timeout=10)
        cols = all_points(api, run_id)
    assert run["status"] == "stopped"
    assert 0 < epoch < 100_000
    assert max(curve(cols, "train_loss")) == step - 1  # every logged step up to the end


def test_stop_under_ddp_ends_every_rank(tmp_path: Path, server: Server) -> None:
    # Two processes on the CPU (gloo). If rank 1 did not stop at the same batch as rank 0, it
    # would wait in its next all-reduce and the script would never end.
    proc = start(
        tmp_path,
        server,
        "    t = trainer('pl ddp', max_epochs=100_000, accelerator='cpu', devices=2,\n"
        "                strategy='ddp')\n"
        "    t.fit(Tiny(), loader())\n"
        "    print('rank', t.global_rank, t.global_step, flush=True)\n",
    )
    run_id = int(first_line(proc))
    with server.api() as api:
        assert api.post(f"/api/runs/{run_id}/stop").status_code == 200
        out = ended(proc, timeout=180)
        run = wait_run(api, run_id, ("stopped",), timeout=10)
        assert len(runs_named(api, "pl ddp")) == 1  # rank 1 logs nothing, starts no run
    ranks = {
        int(w[1]): int(w[2]) for w in (line.split() for line in out.splitlines()) if w[0] == "rank"
    }
    assert set(ranks) == {0, 1} and ranks[0] == ranks[1]  # both stopped at the same step
    assert run["status"] == "stopped"


def test_an_exception_in_training_ends_the_run_failed(tmp_path: Path, server: Server) -> None:
    proc = start(
        tmp_path,
        server,
        "    t = trainer('pl fail', max_epochs=3)\n"
        "    try:\n"
        "        t.fit(Tiny(fail_at=5), loader())\n"
        "    except RuntimeError as exc:\n"
        "        print('raised', exc, flush=True)\n",
    )
    run_id = int(first_line(proc))
    assert "raised boom at step 5" in ended(proc)
    with server.api() as api:
        run = wait_run(api, run_id, ("failed",), timeout=10)
        cols = all_points(api, run_id)
    assert run["status"] == "failed"
    assert "RuntimeError: boom at step 5" in run["message"]
    assert sorted(curve(cols, "train_loss")) == [0, 1, 2, 3, 4]


def test_a_test_after_the_fit_needs_keep_open(tmp_path: Path, server: Server) -> None:
    proc = start(
        tmp_path,
        server,
        "    t = trainer('pl fit+test', max_epochs=1, keep_open=True)\n"
        "    m = Tiny()\n"
        "    t.fit(m, loader())\n"
        "    t.test(m, dataloaders=loader(), verbose=False)\n"
        "    t.logger.finish()\n"
        "    t = trainer('pl fit, test lost', max_epochs=1)\n"
        "    m = Tiny()\n"
        "    t.fit(m, loader())\n"
        "    t.test(m, dataloaders=loader(), verbose=False)\n"
        "    print(t.logger.version, flush=True)\n",
    )
    run_id = int(first_line(proc))
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    lost_id = int(out.split()[-1])
    with server.api() as api:
        kept = wait_run(api, run_id, ("completed",), timeout=10)
        cols = all_points(api, run_id)
        lost = wait_run(api, lost_id, ("completed",), timeout=10)
        lost_cols = all_points(api, lost_id)
    assert kept["status"] == "completed" and lost["status"] == "completed"
    assert len(curve(cols, "test_loss")) == 1 and len(curve(cols, "train_loss")) == 8
    assert "test_loss" not in lost_cols["values"] and len(curve(lost_cols, "train_loss")) == 8
    # said once, with the way out
    assert err.count("metrics logged after the run ended are not stored") == 1
    assert "keep_open=True" in err
