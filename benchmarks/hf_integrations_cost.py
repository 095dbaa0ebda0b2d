"""What the Hugging Face integrations add per logged scalar in the training process, side by
side with the frameworks' own TensorBoard loggers on the same calls.

- transformers: `TrainscopeCallback.on_log` vs transformers' `TensorBoardCallback.on_log`, each
  called as the Trainer calls it, with what the Trainer logs at a logging step (`loss`,
  `grad_norm`, `learning_rate` and `epoch`: 3 scalars, and the epoch that is the point's axis).
- accelerate: `accelerator.log(...)` with `log_with="trainscope"` vs `log_with="tensorboard"`
  (3 scalars a call), and with a tracker that does nothing: what `accelerator.log` costs by
  itself (it makes a `PartialState()` per call to check for the main process).
- the SDK's own `run.log` with the same 3 scalars, for reference.

trainscope in local mode (a temporary store); the time in the loop only, the shipper's thread
running as usual. All loggers are open together and take turns, round after round, so a busy
machine slows them alike; each row gives the fastest round (the least disturbed) and the
median. `python benchmarks/hf_integrations_cost.py [N] [--json PATH]`: N calls a round.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SCALARS = 3
ROUNDS = 15

Log = Callable[[int], None]


def trainer_logs(step: int) -> dict[str, float]:
    # A fresh dict each time, as Trainer.log builds one per logging step.
    return {"loss": 0.5, "grad_norm": 1.25, "learning_rate": 1e-3, "epoch": step / 100.0}


def sdk(tmp: str, stack: ExitStack) -> Log:
    import trainscope

    run = trainscope.init("sdk", dir=tmp)
    stack.callback(run.finish)
    return lambda step: run.log({"loss": 0.5, "grad_norm": 1.25, "learning_rate": 1e-3}, step)


def hf_callback(kind: str, tmp: str, stack: ExitStack) -> Log:
    from transformers import TrainerControl, TrainerState, TrainingArguments
    from transformers.integrations import TensorBoardCallback

    from trainscope.integrations.transformers import TrainscopeCallback

    # TensorBoardCallback writes under output_dir/runs/… (transformers 5 has no logging_dir).
    args = TrainingArguments(output_dir=f"{tmp}/hf-{kind}", report_to="none", use_cpu=True)
    state = TrainerState(is_world_process_zero=True, is_local_process_zero=True)
    control = TrainerControl()
    callback: Any = TensorBoardCallback()
    if kind == "trainscope":
        callback = TrainscopeCallback(name="hf-cost", dir=tmp)
    callback.on_train_begin(args, state, control)
    stack.callback(callback.on_train_end, args, state, control)

    def log(step: int) -> None:
        state.global_step = step
        callback.on_log(args, state, control, logs=trainer_logs(step))

    return log


def accelerate_tracker(kind: str, tmp: str, stack: ExitStack) -> Log:
    from accelerate import Accelerator

    import trainscope.integrations.accelerate  # noqa: F401  (registers "trainscope")

    log_with: Any = kind
    if kind == "no-op":  # what accelerator.log costs itself, whatever the tracker
        from accelerate.tracking import GeneralTracker

        class NoOp(GeneralTracker):  # type: ignore[misc]
            name = "no-op"
            requires_logging_directory = False
            tracker = None

            def log(self, values: dict[str, Any], step: int | None = None, **kw: Any) -> None:
                pass

        log_with = NoOp()
    accelerator = Accelerator(log_with=log_with, project_dir=f"{tmp}/acc", cpu=True)
    accelerator.init_trackers(
        f"acc-{kind}", config={"lr": 1e-3}, init_kwargs={"trainscope": {"dir": tmp}}
    )
    stack.callback(lambda: [t.finish() for t in accelerator.trackers])
    return lambda step: accelerator.log({"loss": 0.5, "grad_norm": 1.25, "lr": 1e-3}, step=step)


def main(n: int, json_path: str | None) -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        loggers: dict[str, Log] = {
            "sdk: run.log(3 scalars, step)": sdk(tmp, stack),
            "transformers: TrainscopeCallback.on_log": hf_callback("trainscope", tmp, stack),
            "transformers: TensorBoardCallback.on_log": hf_callback("tensorboard", tmp, stack),
            "accelerate: log_with='trainscope'": accelerate_tracker("trainscope", tmp, stack),
            "accelerate: log_with='tensorboard'": accelerate_tracker("tensorboard", tmp, stack),
            "accelerate: log_with=a tracker that does nothing": accelerate_tracker(
                "no-op", tmp, stack
            ),
        }
        rounds: dict[str, list[float]] = {label: [] for label in loggers}
        steps = dict.fromkeys(loggers, 0)
        for _ in range(ROUNDS):
            for label, log in loggers.items():
                first = steps[label] + 1
                start = time.perf_counter()
                for step in range(first, first + n):
                    log(step)
                rounds[label].append((time.perf_counter() - start) / n / SCALARS * 1e6)
                steps[label] += n
        for label, us in rounds.items():
            results[label] = {"best": min(us), "median": statistics.median(us)}
    print(f"{'µs per scalar':50s} {'best':>8s} {'median':>8s}")
    for label, r in results.items():
        print(f"{label:50s} {r['best']:8.2f} {r['median']:8.2f}")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    if json_path:
        doc = {"calls_per_round": n, "rounds": ROUNDS, "us_per_scalar": results, "load": load}
        Path(json_path).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    argv = sys.argv[1:]
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        del argv[i : i + 2]
    main(int(argv[0]) if argv else 2_000, out)
