"""The seeds' tuning walk (issue 18), followed by the doctor: a small LSTM on a sequence task
started at a learn rate far too high; each run's top finding's patch is applied as a restart
would apply it (`merge_overrides`), and the run trained again, in-process on the CPU.

The walk it takes (docs/doctor.md, "A worked example"): unstable → learn rate ÷ 10 → still
improving when it ended → twice the epochs; and the validation loss ends far better than it
started. Each step (options, findings, best validation loss) is printed: `pytest -s` shows it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from tests.doctor.real_corpus import diagnose_run
from trainscope.schemas.overrides import merge_overrides

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from doctor_corpus import train_one  # the corpus's own recorder of a real run

START: dict[str, Any] = {
    "dataset": {"name": "sequence-classes", "num_samples": 400, "sequence_length": 12},
    "model": {"layers": [{"type": "lstm", "hidden_units": 32}]},
    "options": {
        "execution_environment": "cpu",
        "solver": "adam",
        "initial_learn_rate": 1.0,  # adam's default is 1e-3
        "max_epochs": 8,
        "mini_batch_size": 32,
        "validation_frequency": 4,
        "seed": 1,
    },
}
STEPS = 3  # runs: the start and two fixes (about 12 s of CPU)


def best_val_loss(run: dict[str, Any]) -> float:
    vals = [v for v in run["values"].get("val_loss", []) if v is not None and math.isfinite(v)]
    return min(vals) if vals else math.inf


def test_following_the_doctor_walks_an_lstm_from_unstable_to_a_better_validation_loss() -> None:
    spec = START
    walk: list[tuple[dict[str, Any], list[str], float, str | None]] = []
    for step in range(STEPS):
        run = train_one(f"walk-{step}", spec["dataset"], spec["model"], spec["options"])
        findings = [f for f in diagnose_run(run) if f.severity != "ok"]
        top = next((f for f in findings if f.patch is not None), None)
        walk.append(
            (spec["options"], [f.code for f in findings], best_val_loss(run), top and top.fix)
        )
        print(
            f"step {step}: learn rate {spec['options']['initial_learn_rate']:g}, "
            f"{spec['options']['max_epochs']} epochs → {[f.code for f in findings]}, "
            f"best val loss {walk[-1][2]:.4f}; fix: {walk[-1][3]}"
        )
        if top is None:
            break
        assert top.patch is not None
        spec = merge_overrides(spec, top.patch)

    (opts0, codes0, val0, fix0), (opts1, codes1, _, fix1) = walk[0], walk[1]
    # Step 0: unstable, and the cure is a lower learn rate.
    assert codes0 == ["loss-spikes"], codes0
    assert opts1["initial_learn_rate"] == opts0["initial_learn_rate"] / 10, fix0
    # Step 1: stable at ÷10; it ended while still improving: more epochs, same learn rate.
    assert "loss-spikes" not in codes1 and "diverged" not in codes1, codes1
    assert codes1 == ["still-improving"], codes1
    assert walk[2][0]["max_epochs"] == 2 * opts1["max_epochs"], fix1
    # The end: a validation loss far below the start's (chance for 3 classes is ln 3 = 1.10).
    assert walk[-1][2] < 0.5 * val0, walk
