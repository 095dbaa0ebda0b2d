"""`TrainscopeCallback`: a Hugging Face `Trainer` streams its curves to trainscope.

`Trainer(..., callbacks=[TrainscopeCallback()])`. The run starts on `on_train_begin` on the
main process only (`state.is_world_process_zero`); each `on_log` is one point at
`state.global_step`; the end-of-training averages go into the run's summary; the dashboard's
Stop ends training on every rank together. transformers (and torch) are imported here, never
at `import trainscope`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from trainscope.sdk.run import Run, init

# What the Trainer logs once, at the end of `train()` (and HF's own WandbCallback keeps out of
# the curves too): a run-average `train_loss` drawn at the last step would be a false point of
# the train_loss curve (which comes from the per-interval `loss`).
END_OF_TRAINING = frozenset(
    {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos"}
)
# Throughput of a pass (eval_runtime, eval_samples_per_second, …): a fact about the run, not a
# training metric; the latest one is kept in the summary.
_SUMMARY_SUFFIXES = ("_runtime", "_per_second")
_NUMBERS = frozenset({float, int})


class TrainscopeCallback(TrainerCallback):
    """Streams a `Trainer`'s logs to a trainscope run; the dashboard's Stop ends training.

    `name`: the run's name (default: `args.run_name`). `config`: merged over the training
    arguments. `url`, `dir`, `tags`, `group`, … go to `trainscope.init` (a server at
    `$TRAINSCOPE_URL`, else the local store; inside a run trainscope started it attaches).
    """

    def __init__(
        self, name: str | None = None, config: dict[str, Any] | None = None, **init_kwargs: Any
    ) -> None:
        self._name = name
        self._config = dict(config or {})
        self._init_kwargs = init_kwargs
        self.run: Run | None = None
        """The SDK's run while training, on the main process (None on the others)."""
        self._splits: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    # -- the run's life -------------------------------------------------------------------------

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        if self.run is not None:  # a second train() with the same callback: a new run
            self.run.finish()
        config = {**training_config(args, state), **self._config}
        self.run = init(self._name or args.run_name or None, config, **self._init_kwargs)

    def on_train_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.run is not None:
            run, self.run = self.run, None
            run.finish()  # completed, or stopped after the dashboard's Stop

    # -- the points -----------------------------------------------------------------------------

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        run = self.run
        if run is None or not logs:
            return
        # Which keys are curves and which the summary depends on the keys alone, and a
        # Trainer logs the same few sets of keys over and over: worked out once per set.
        keys = tuple(logs)
        split = self._splits.get(keys)
        if split is None:
            split = self._splits[keys] = _split(keys)
        curves, summary = split
        for key in summary:
            run.summary[key] = logs[key]
        if curves:
            epoch: Any = logs.get("epoch")
            run.log(
                {key: logs[key] for key in curves},
                state.global_step,
                # 0.25 → 1, 1.0 → 1 (the first epoch's last step), 1.5 → 2: 1-based, as the SDK
                epoch=max(1, math.ceil(epoch))
                if type(epoch) in _NUMBERS and 0 <= epoch < math.inf
                else None,
            )

    # -- the dashboard's Stop -------------------------------------------------------------------

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> TrainerControl:
        if args.world_size <= 1:
            # One process: look every step (an attribute read; the SDK hears the request in
            # the background).
            if self.run is not None and self.run.should_stop:
                control.should_training_stop = True
            return control
        # Several ranks: only the main one hears the request, and every rank must stop at the
        # same step or the others wait forever in their next collective. So the main rank's
        # answer is broadcast at the logging steps: `control.should_log` is set there by the
        # Trainer's own flow callback (which runs before this one) from `global_step` alone,
        # so every rank takes part in the same broadcasts. The Trainer gathers the loss at
        # those same steps anyway.
        if control.should_log and _broadcast_stop(args, self.run):
            control.should_training_stop = True
        return control


def training_config(args: TrainingArguments, state: TrainerState) -> dict[str, Any]:
    """The training arguments as the run's config (what HF's own trackers store), the epochs
    being those the Trainer will really run: with `max_steps` set it works them out from the
    steps (HF ignores `num_train_epochs` then), and integral epochs are ints. learning_rate,
    num_train_epochs and per_device_train_batch_size then name the run's learn rate, epochs and
    batch size (schemas/external.py's CONFIG_ALIASES), as `lr`, `epochs`, `batch_size` do."""
    config: dict[str, Any] = dict(args.to_sanitized_dict())
    epochs: Any = args.num_train_epochs
    planned = getattr(state, "num_train_epochs", 0)
    if args.max_steps > 0 and isinstance(planned, int) and 0 < planned < sys.maxsize:
        epochs = planned  # sys.maxsize: a dataset without a length, epochs unknown
    if isinstance(epochs, float) and epochs.is_integer():
        epochs = int(epochs)
    config["num_train_epochs"] = epochs
    return config


def _split(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the keys drawn as curves, the keys kept in the summary) of one `on_log`'s logs. The
    epoch is neither: it is the point's epoch."""
    end = "train_runtime" in keys  # the Trainer's last log: its train_loss is the average
    summary = tuple(
        k
        for k in keys
        if k in END_OF_TRAINING or k.endswith(_SUMMARY_SUFFIXES) or (end and k == "train_loss")
    )
    curves = tuple(k for k in keys if k != "epoch" and k not in summary)
    return curves, summary


def _broadcast_stop(args: TrainingArguments, run: Run | None) -> bool:
    """Rank 0's stop request, the same on every rank (one 1-element broadcast)."""
    import torch
    import torch.distributed as dist

    wanted = run is not None and run.should_stop
    if not (dist.is_available() and dist.is_initialized()):
        return wanted
    # On the rank's own device: NCCL broadcasts only CUDA tensors, gloo takes CPU ones.
    flag = torch.tensor([1 if wanted else 0], dtype=torch.int32, device=args.device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())
