"""A real Hugging Face `Trainer` (a 2-layer BERT built from a config: random weights, nothing
downloaded) on a tiny in-memory data set, logging through `TrainscopeCallback` to a real
`trainscope serve`; what it logged is read back over the REST API, as the dashboard reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trainscope as trainscope_pkg

from ..sdk.conftest import wait_run
from ..web.conftest import Server, free_port

pytestmark = pytest.mark.slow  # a real server and real training

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may come from the Hub: the model is built here

import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from trainscope.integrations.transformers import TrainscopeCallback  # noqa: E402

VOCAB, LENGTH = 64, 8


class Tokens(torch.utils.data.Dataset):
    """`n` random token sequences; the label is whether the first token is in the upper half
    (learnable, so the loss moves)."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, VOCAB, (n, LENGTH), generator=g)
        self.y = (self.x[:, 0] >= VOCAB // 2).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {
            "input_ids": self.x[i],
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": self.y[i],
        }


def tiny_bert() -> Any:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=LENGTH,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def arguments(out: Path, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "output_dir": str(out),
        "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 16,
        "num_train_epochs": 2,
        "learning_rate": 1e-3,
        "logging_steps": 2,
        "eval_strategy": "epoch",
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
    return TrainingArguments(**{**base, **overrides})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("hf-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def the_run(server: Server, tag: str) -> dict[str, Any]:
    with server.api() as api:
        runs = api.get("/api/runs", params={"tag": tag}).json()
        assert len(runs) == 1, runs
        run: dict[str, Any] = runs[0]
        return run


def test_trainer_curves_config_and_summary_as_the_dashboard_shows_them(
    server: Server, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    args = arguments(tmp_path)
    trainer = Trainer(
        model=tiny_bert(),
        args=args,
        train_dataset=Tokens(32, seed=1),  # 4 steps an epoch, 8 in all
        eval_dataset=Tokens(16, seed=2),
        callbacks=[TrainscopeCallback(name="bert-tiny", url=server.url, tags=["hf-curves"])],
    )
    out = trainer.train()
    history = trainer.state.log_history
    train_logs = [h for h in history if "loss" in h]
    eval_logs = [h for h in history if "eval_loss" in h]
    assert [h["step"] for h in train_logs] == [2, 4, 6, 8]

    run = the_run(server, "hf-curves")
    assert run["status"] == "completed"
    assert run["name"] == "bert-tiny"
    # The training arguments are the config; learn rate, epochs and batch size play their roles.
    config = run["spec"]["config"]
    assert config["learning_rate"] == 1e-3
    assert config["num_train_epochs"] == 2
    assert config["per_device_train_batch_size"] == 8
    assert config["lr_scheduler_type"] == "linear"
    options = run["spec"]["options"]
    assert options["initial_learn_rate"] == 1e-3
    assert options["max_epochs"] == 2
    assert options["mini_batch_size"] == 8
    assert run["info"]["max_epochs"] == 2  # the run's progress knows its end
    # The end-of-training averages are the run's summary, not points.
    summary = run["info"]["summary"]
    assert summary["train_loss"] == pytest.approx(out.training_loss)
    assert summary["train_runtime"] == out.metrics["train_runtime"]
    assert summary["train_samples_per_second"] == out.metrics["train_samples_per_second"]
    assert summary["train_steps_per_second"] == out.metrics["train_steps_per_second"]
    assert summary["eval_runtime"] == eval_logs[-1]["eval_runtime"]

    with server.api() as api:
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    values = cols["values"]
    names = set(values)
    assert not names & {"train_runtime", "total_flos", "eval_runtime", "epoch"}, names
    # `loss` → train_loss, `learning_rate` → learn_rate, `eval_loss` → val_loss (DESIGN §9),
    # the raw names kept beside them.
    assert {"loss", "train_loss", "learning_rate", "learn_rate", "eval_loss", "val_loss"} <= names
    at = {it: i for i, it in enumerate(cols["iteration"]) if values["train_loss"][i] is not None}
    assert sorted(at) == [2, 4, 6, 8]
    for h in train_logs:
        i = at[h["step"]]
        assert values["train_loss"][i] == pytest.approx(h["loss"])
        assert values["learn_rate"][i] == pytest.approx(h["learning_rate"])
        assert values["grad_norm"][i] == pytest.approx(h["grad_norm"])
    # Epochs 1-based: 0.25 and 0.5 … 1.0 are the first, 1.25 … 2.0 the second.
    assert [cols["epoch"][at[s]] for s in (2, 4, 6, 8)] == [1, 1, 2, 2]
    val = {
        cols["iteration"][i]: (v, cols["epoch"][i])
        for i, v in enumerate(values["val_loss"])
        if v is not None
    }
    assert val == {
        4: (pytest.approx(eval_logs[0]["eval_loss"]), 1),
        8: (pytest.approx(eval_logs[1]["eval_loss"]), 2),
    }
    # The train_loss curve holds the per-interval losses only: no point for the run's average.
    assert len([v for v in values["train_loss"] if v is not None]) == 4


class StopFromTheApi(TrainerCallback):
    """Presses Stop (POST /api/runs/{id}/stop) once the run has points, as a person would."""

    def __init__(self, server: Server, tracker: TrainscopeCallback) -> None:
        self.server = server
        self.tracker = tracker
        self.pressed_at: int | None = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run = self.tracker.run
        if self.pressed_at is None and run is not None and state.global_step == 3:
            with self.server.api() as api:
                r = api.post(f"/api/runs/{run.id}/stop")
                assert r.status_code == 200, r.text
            self.pressed_at = state.global_step


def test_stop_from_the_api_ends_the_trainer_early(server: Server, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    max_steps = 2_000
    tracker = TrainscopeCallback(name="bert-stop", url=server.url, tags=["hf-stop"])
    stopper = StopFromTheApi(server, tracker)
    trainer = Trainer(
        model=tiny_bert(),
        args=arguments(tmp_path, max_steps=max_steps, logging_steps=1, eval_strategy="no"),
        train_dataset=Tokens(32, seed=1),
        callbacks=[tracker, stopper],
    )
    trainer.train()
    assert stopper.pressed_at == 3
    # The Trainer ended by itself, soon after the press (the SDK hears it with its next batch
    # or heartbeat, about a second at most), not at max_steps.
    assert 3 < trainer.state.global_step < max_steps
    with server.api() as api:
        run = wait_run(api, the_run(server, "hf-stop")["id"], ("stopped",), timeout=30)
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    assert run["status"] == "stopped"
    assert run["info"]["summary"]["train_runtime"] > 0
    assert max(cols["iteration"]) == trainer.state.global_step  # every step it ran is there
    assert run["spec"]["config"]["max_steps"] == max_steps


def test_only_the_main_process_starts_a_run(tmp_path: Path) -> None:
    """On every other rank the callback logs nothing and creates no run (it would be a second
    run of the same training): the Trainer's `is_world_process_zero` decides."""
    from transformers import TrainerControl, TrainerState

    args = arguments(tmp_path)
    state = TrainerState(is_world_process_zero=False, is_local_process_zero=True)
    callback = TrainscopeCallback(dir=str(tmp_path / "store"))
    callback.on_train_begin(args, state, TrainerControl())
    callback.on_log(args, state, TrainerControl(), logs={"loss": 1.0, "epoch": 0.5})
    callback.on_train_end(args, state, TrainerControl())
    assert callback.run is None
    assert not (tmp_path / "store").exists()  # no local store was even opened


def test_stop_ends_every_rank_at_the_same_step(server: Server, tmp_path: Path) -> None:
    """2 ranks (torchrun, gloo on CPU): only rank 0 has the run and hears the Stop; the other
    rank must stop at the very same step, or it would wait forever in its next collective."""
    script = Path(__file__).parent / "scripts" / "hf_ddp_train.py"
    backend = Path(trainscope_pkg.__file__).parent.parent
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(backend), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port()), str(script), server.url, str(tmp_path), "hf-ddp"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ends = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"rank"')]
    assert sorted(e["rank"] for e in ends) == [0, 1]
    assert {e["world"] for e in ends} == {2}
    steps = {e["step"] for e in ends}
    assert len(steps) == 1, ends  # the same step on both ranks
    (step,) = steps
    assert 3 < step < 100_000
    assert step % 2 == 0  # at a logging step: where the ranks agree (logging_steps=2)
    run = the_run(server, "hf-ddp")  # one run, not one per rank
    with server.api() as api:
        run = wait_run(api, run["id"], ("stopped",), timeout=30)
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    assert max(cols["iteration"]) == step


def test_local_mode_without_a_server(tmp_path: Path) -> None:
    """No TRAINSCOPE_URL: the run goes into the local store, which `trainscope serve` on that
    directory then shows like any other run, summary included."""
    torch.set_num_threads(1)
    store = tmp_path / "store"
    trainer = Trainer(
        model=tiny_bert(),
        args=arguments(tmp_path / "out", max_steps=4, logging_steps=2, eval_strategy="no"),
        train_dataset=Tokens(32, seed=1),
        callbacks=[TrainscopeCallback(name="bert-local", dir=str(store), tags=["hf-local"])],
    )
    out = trainer.train()
    srv = Server(store).start(wait_workers=False)
    try:
        run = the_run(srv, "hf-local")
        with srv.api() as api:
            cols = api.get(f"/api/runs/{run['id']}/metrics").json()
    finally:
        srv.stop()
    assert run["status"] == "completed"
    assert run["spec"]["config"]["max_steps"] == 4
    assert run["info"]["summary"]["train_loss"] == pytest.approx(out.training_loss)
    assert cols["iteration"] == [2, 4]
    assert cols["values"]["train_loss"] == pytest.approx(
        [h["loss"] for h in trainer.state.log_history if "loss" in h]
    )
