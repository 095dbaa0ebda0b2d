"""`trainscope import tensorboard | csv` against a real `trainscope serve`: logs written by the
real writers (torch.utils.tensorboard, tensorboard's own tensor summaries, Lightning's
CSVLogger), imported by the real console script, read back as a user checks them: the run
list, names, steps, values, wall times and config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support import console_script
from ..web.conftest import Server

# A real server (and torch, lightning) in the test process: the slow tier.
pytestmark = pytest.mark.slow

T0 = 1_700_000_000.0  # the wall times the writers are given, so the import can be checked


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("import-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def trainscope(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")}
    return subprocess.run(
        [console_script(), *args], env=env, capture_output=True, text=True, timeout=300
    )


def runs_named(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in api.get("/api/runs", params={"tag": "imported"}).json()}


def curve(api: httpx.Client, run_id: int, name: str) -> dict[int, float]:
    cols = api.get(f"/api/runs/{run_id}/metrics").json()
    return {
        i: v for i, v in zip(cols["iteration"], cols["values"][name], strict=True) if v is not None
    }


def wall_times(api: httpx.Client, run_id: int) -> dict[int, float]:
    cols = api.get(f"/api/runs/{run_id}/metrics").json()
    return dict(zip(cols["iteration"], cols["wall_time"], strict=True))


def write_torch_logs(logdir: Path) -> None:
    """What a PyTorch script with torch.utils.tensorboard leaves behind: two runs, one with
    add_scalars (sibling directories), a new-style (tensor) scalar, add_hparams (a child
    directory) and a histogram the import skips."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(logdir / "exp1")) as w:
        for s in range(1, 21):
            t = T0 + s
            w.add_scalar("train/loss", 1.0 / s, s, walltime=t)
            w.add_scalar("lr", 0.1 * 0.9**s, s, walltime=t, new_style=True)
            w.add_scalars("loss", {"train": 1.0 / s, "val": 2.0 / s}, s, walltime=t)
            if s % 5 == 0:
                w.add_scalar("val_acc", s / 20, s, walltime=t)
                w.add_histogram("weights", torch.randn(100), s, walltime=t)
        w.add_hparams(
            {"lr": 0.1, "batch_size": 32, "optimizer": "adam"}, {"hparam/accuracy": 0.875}
        )
    with SummaryWriter(str(logdir / "exp2")) as w:
        for s in range(0, 30, 10):
            w.add_scalar("Loss/train", 3.0 - s / 10, s, walltime=T0 + 100 + s)


def test_torch_summary_writer_logs_become_one_run_per_run_directory(
    server: Server, tmp_path: Path
) -> None:
    logdir = tmp_path / "runs"
    write_torch_logs(logdir)
    done = trainscope("import", "tensorboard", str(logdir), "--url", server.url)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 of 2 runs imported" in done.stderr
    assert "were skipped" in done.stderr  # the histogram, said once
    with server.api() as api:
        runs = runs_named(api)
        # add_scalars' and add_hparams' child directories are part of exp1, not runs of their own
        assert set(runs) == {"exp1", "exp2"}
        exp1 = runs["exp1"]
        assert exp1["status"] == "completed"
        assert set(exp1["tags"]) == {"imported", "tensorboard"}
        assert exp1["spec"]["config"] == {"lr": 0.1, "batch_size": 32, "optimizer": "adam"}
        # the config's names are mirrored into the training options the doctor reads
        assert exp1["spec"]["options"]["initial_learn_rate"] == 0.1
        assert exp1["spec"]["options"]["mini_batch_size"] == 32
        run_id = exp1["id"]

        train_loss = curve(api, run_id, "train/loss")
        assert sorted(train_loss) == list(range(1, 21))
        assert train_loss[2] == 0.5 and train_loss[3] == pytest.approx(1 / 3, rel=1e-6)
        # add_scalars' sub-tags come back as main/tag, the names trainscope.SummaryWriter uses
        assert curve(api, run_id, "loss/val")[4] == 0.5
        assert curve(api, run_id, "loss/train") == train_loss
        # the tensor-stored (new_style) scalar is there, every step of it
        lr = curve(api, run_id, "lr")
        assert sorted(lr) == list(range(1, 21))
        assert lr[20] == pytest.approx(0.1 * 0.9**20, rel=1e-6)
        # DESIGN §9: the dashboard's names beside the raw ones
        assert curve(api, run_id, "train_loss") == train_loss
        assert curve(api, run_id, "learn_rate") == lr
        assert curve(api, run_id, "val_loss") == curve(api, run_id, "loss/val")
        assert curve(api, run_id, "val_accuracy") == {5: 0.25, 10: 0.5, 15: 0.75, 20: 1.0}
        # add_hparams' metric dict: a point at the step it was written (0)
        assert curve(api, run_id, "hparam/accuracy") == {0: 0.875}
        # wall times as the writer stamped them, not the time of the import
        walls = wall_times(api, run_id)
        assert walls[7] == T0 + 7 and walls[20] == T0 + 20

        exp2 = runs["exp2"]
        assert exp2["spec"]["config"] == {}
        assert curve(api, exp2["id"], "train_loss") == {0: 3.0, 10: 2.0, 20: 1.0}

    # The same logdir again: nothing is duplicated, and it says so.
    again = trainscope("import", "tensorboard", str(logdir), "--url", server.url)
    assert again.returncode == 0, again.stderr
    assert f"skipped exp1: already imported as run {run_id}" in again.stderr
    assert "0 of 2 runs imported" in again.stderr
    with server.api() as api:
        names = [r["name"] for r in api.get("/api/runs", params={"tag": "imported"}).json()]
    assert sorted(names) == ["exp1", "exp2"]


def test_tensor_summaries_written_without_tensorflow_are_imported(
    server: Server, tmp_path: Path
) -> None:
    """tensorboard's own TF-free writers store scalars as tensors (float32 and float64), which
    an accumulator's plain Scalars() never returns."""
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata
    from tensorboard.summary import Writer
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    logdir = tmp_path / "tf_free" / "run-a"
    writer = Writer(str(logdir))
    for step in range(100):
        writer.add_scalar("eval/accuracy", step / 100, step, wall_time=T0 + step)
        writer.add_scalar("valid loss", 1.0 - step / 200, step, wall_time=T0 + step)
    writer.close()
    # float64 tensors, as tf.summary.scalar writes a double (scalar_pb would cast it to
    # float32): the values must stay exact
    events = EventFileWriter(str(logdir))
    for step in range(0, 100, 10):
        summary = summary_pb2.Summary()
        summary.value.add(
            tag="grad_norm",
            metadata=metadata.create_summary_metadata(display_name=None, description=None),
            tensor=tensor_util.make_tensor_proto(np.float64(1 / 3 + step)),
        )
        events.add_event(event_pb2.Event(wall_time=T0 + step, step=step, summary=summary))
    events.close()

    done = trainscope("import", "tensorboard", str(tmp_path / "tf_free"), "--url", server.url)
    assert done.returncode == 0, done.stderr
    with server.api() as api:
        run = runs_named(api)["run-a"]
        acc = curve(api, run["id"], "eval/accuracy")
        assert sorted(acc) == list(range(100))
        assert acc[37] == 0.37  # float32 values shown as written, not 0.3700000047683716
        assert curve(api, run["id"], "val_accuracy") == acc
        assert curve(api, run["id"], "val_loss")[50] == 0.75
        assert curve(api, run["id"], "grad_norm")[30] == 1 / 3 + 30  # float64 kept exactly
        assert wall_times(api, run["id"])[42] == T0 + 42


def test_lightning_csv_logger_metrics_become_a_run(server: Server, tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(tmp_path / "logs"), name="mnist")
    logger.log_hyperparams({"lr": 0.01, "batch_size": 64})
    for step in range(50):
        logger.log_metrics({"train_loss": 2.0 - step / 50, "epoch": step // 10}, step=step)
        if step % 10 == 9:
            logger.log_metrics({"val_loss": 1.5 - step / 100, "val_acc": step / 50}, step=step)
    logger.save()
    logger.finalize("success")
    metrics = Path(logger.log_dir) / "metrics.csv"
    assert metrics.is_file()

    done = trainscope("import", "csv", str(metrics), "--url", server.url)
    assert done.returncode == 0, done.stderr
    with server.api() as api:
        run = runs_named(api)["version_0"]
        assert run["spec"]["config"] == {"lr": 0.01, "batch_size": 64}
        assert set(run["tags"]) == {"imported", "csv"}
        loss = curve(api, run["id"], "train_loss")
        assert sorted(loss) == list(range(50)) and loss[25] == 1.5
        val_steps = (9, 19, 29, 39, 49)
        assert curve(api, run["id"], "val_loss") == {s: 1.5 - s / 100 for s in val_steps}
        assert curve(api, run["id"], "val_accuracy")[49] == 0.98
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
        # Lightning wrote the validation rows apart from the training ones: one point per step
        assert cols["iteration"] == list(range(50))
        epochs = dict(zip(cols["iteration"], cols["epoch"], strict=True))
        assert epochs[9] == 0 and epochs[10] == 1 and epochs[49] == 4


def test_lightning_tensorboard_logger_hyperparameters_in_the_run_directory(
    server: Server, tmp_path: Path
) -> None:
    """Lightning's TensorBoardLogger writes its hyperparameters into the run's own directory
    (not a child): as an hparams summary with its default hp_metric, and as hparams.yaml
    always. Either way they become the run's config; `epoch` gives the points' epochs."""
    from lightning.pytorch.loggers import TensorBoardLogger

    hparams = {"lr": 0.003, "max_epochs": 3, "optimizer": "adamw"}
    for hp_metric in (True, False):
        logger = TensorBoardLogger(
            str(tmp_path / "tb_logs"), name="lit", default_hp_metric=hp_metric
        )
        logger.log_hyperparams(hparams)
        for step in range(30):
            logger.log_metrics({"train_loss": 1.0 - step / 60, "epoch": step // 10}, step=step)
        logger.finalize("success")

    done = trainscope("import", "tensorboard", str(tmp_path / "tb_logs"), "--url", server.url)
    assert done.returncode == 0, done.stderr
    with server.api() as api:
        runs = runs_named(api)
        for name in ("lit/version_0", "lit/version_1"):
            run = runs[name]
            assert run["spec"]["config"] == hparams, name
            assert run["spec"]["options"]["solver"] == "adamw"
            assert run["spec"]["options"]["max_epochs"] == 3
            assert curve(api, run["id"], "train_loss")[15] == 0.75
            cols = api.get(f"/api/runs/{run['id']}/metrics").json()
            epochs = dict(zip(cols["iteration"], cols["epoch"], strict=True))
            assert epochs[9] == 0 and epochs[10] == 1 and epochs[29] == 2
        assert curve(api, runs["lit/version_0"]["id"], "hp_metric") == {0: -1.0}


def test_more_metrics_than_a_server_takes_is_refused_before_any_run_is_made(
    server: Server, tmp_path: Path
) -> None:
    from tensorboard.summary import Writer

    writer = Writer(str(tmp_path / "wide" / "layers"))
    for i in range(501):
        writer.add_scalar(f"layer{i}/grad", 0.5, 1)
    writer.close()
    done = trainscope("import", "tensorboard", str(tmp_path / "wide"), "--url", server.url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "501 metric names" in done.stderr and "local store" in done.stderr
    with server.api() as api:
        assert "layers" not in runs_named(api)
