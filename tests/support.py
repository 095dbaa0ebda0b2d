"""Small helpers shared by the test packages."""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from trainscope.schemas.events import Event, Point, Started, Status
from trainscope.schemas.spec import RunSpec
from trainscope.store import Store, sqlite_url


def console_script() -> str:
    """The installed `trainscope` script: beside this interpreter (a venv), else on PATH."""
    beside = Path(sys.executable).parent / "trainscope"
    exe = str(beside) if beside.exists() else shutil.which("trainscope")
    assert exe, "the trainscope console script is not installed"
    return exe


# ---- synthetic runs written straight into a store (browser tests and benchmarks) ----


def spec_json(name: str, max_epochs: int, **options: Any) -> dict[str, Any]:
    spec = RunSpec.model_validate(
        {
            "name": name,
            "dataset": {"name": "spirals", "num_samples": 600},
            "model": {"preset": "mlp"},
            "options": {
                "max_epochs": max_epochs,
                "mini_batch_size": 16,
                "validation_frequency": 50,
                "execution_environment": "cpu",
                **options,
            },
        }
    )
    dumped: dict[str, Any] = spec.model_dump(mode="json")
    return dumped


def point(seq: int, per_epoch: int, wall_time: float) -> Point:
    """Engine-shaped values: four metrics each iteration, validation every 50."""
    values = {
        "train_loss": 2.0 / math.sqrt(seq) + 0.05 * ((seq * 7919) % 13) / 13,
        "train_accuracy": min(1.0, 0.1 + seq / 200_000 + 0.02 * ((seq * 31) % 7) / 7),
        "learn_rate": 0.01,
        "grad_norm": 1.0 + ((seq * 104729) % 17) / 10,
    }
    if seq % 50 == 0:
        values["val_loss"] = 2.2 / math.sqrt(seq)
        values["val_accuracy"] = min(1.0, 0.1 + seq / 220_000)
    return Point(seq, seq, 1 + (seq - 1) // per_epoch, wall_time, values)


def started(per_epoch: int, max_iterations: int) -> Started:
    return Started(
        device="cpu (synthetic)",
        task="classification",
        n_train=per_epoch * 16,
        n_val=120,
        n_test=120,
        iterations_per_epoch=per_epoch,
        max_iterations=max_iterations,
        num_parameters=1000,
        class_names=["0", "1"],
    )


def write_finished_run(data_dir: Path, n: int, per_epoch: int = 1000) -> tuple[int, float]:
    """A finished run with `n` engine-shaped points, written into the data directory's
    database through `Store.ingest` before a server starts there. (run id, seconds taken)."""
    began = time.perf_counter()
    store = Store.open(sqlite_url(data_dir))
    try:
        name = f"{n:,} points"
        spec = spec_json(name, max_epochs=max(1, n // per_epoch))
        run = store.create_run(spec, name=name, parent_id=None, group=None, tags=[])
        store.ingest([(run.id, started(per_epoch, n))])
        t0 = time.time() - n / 150
        for first in range(1, n + 1, 1000):
            batch: list[tuple[int, Event]] = [
                (run.id, point(s, per_epoch, t0 + s / 150))
                for s in range(first, min(n, first + 999) + 1)
            ]
            store.ingest(batch)
        store.ingest([(run.id, Status("completed", "max-epochs", iteration=n))])
        assert store.last_seq(run.id) == n
    finally:
        store.close()
    return run.id, time.perf_counter() - began
