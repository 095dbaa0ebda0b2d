"""What `TrainscopeLogger` and `TrainscopeStop` do, for `lightning.pytorch` and for the older
`pytorch_lightning` alike: each of trainscope/integrations/lightning.py and pytorch_lightning.py
mixes these into its framework's `Logger` and `Callback`. Imports no framework: the rank comes
from the framework's own `rank_zero_only`, which its Trainer sets.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Mapping
from typing import Any, ClassVar

from trainscope.sdk import run as sdk_run
from trainscope.sdk.run import EndStatus, Run, _ending, init


def _say(text: str) -> None:
    print(f"trainscope: {text}", file=sys.stderr)


class LoggerBody:
    """The `Logger` contract over one trainscope run (see TrainscopeLogger's docstring)."""

    # The framework's `rank_zero_only`: the Trainer sets its `.rank` to the global rank.
    rank_zero: ClassVar[Any]

    def __init__(
        self,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        *,
        keep_open: bool = False,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        self._name = name
        self._config: dict[str, Any] = dict(config or {})
        self._keep_open = keep_open
        self._init_kwargs = init_kwargs
        self._run: Run | None = None
        self._ended = False
        self._told: set[str] = set()

    def _tell_once(self, key: str, text: str) -> None:
        if key not in self._told:
            self._told.add(key)
            _say(text)

    def _rank_zero(self) -> bool:
        return getattr(self.rank_zero, "rank", 0) == 0

    # -- Lightning's Logger contract ------------------------------------------------------------

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def version(self) -> int | str | None:
        # Read by checkpoint paths and the progress bar at any time: never starts the run.
        return None if self._run is None else self._run.id

    @property
    def run(self) -> Run | None:
        """The trainscope run (started on first use, on global rank 0 only; None elsewhere)."""
        if self._run is None and self._rank_zero():
            self._run = init(self._name, self._config, **self._init_kwargs)
        return self._run

    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        if not self._rank_zero():
            return
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        if self._run is None:
            self._config.update(values)
            return
        changed = {k: v for k, v in values.items() if k not in self._config or self._config[k] != v}
        if changed:
            # The run exists: merged into its stored config (Run.update_config).
            self._config.update(changed)
            self._run.update_config(changed)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        run = self._run
        if run is None or self._ended:
            run = self._start_for_metrics()
            if run is None:
                return
        # Lightning adds `epoch` (0-based) to every dict: the axis, not a metric; trainscope's
        # epochs count from 1. (A C-level copy and a pop: this runs at every logged step.)
        values = dict(metrics)
        epoch = values.pop("epoch", None)
        run.log(values, step, epoch=None if epoch is None else int(epoch) + 1)

    def _start_for_metrics(self) -> Run | None:
        """The run for log_metrics when there is none yet (None: not rank 0, or it ended)."""
        if not self._rank_zero():
            return None
        if self._ended:
            self._tell_once(
                "after-end",
                "metrics logged after the run ended are not stored: the run ends when "
                "trainer.fit (or validate/test) returns; to log a trainer.test after fit into "
                "the same run, use TrainscopeLogger(keep_open=True) and call logger.finish()",
            )
            return None
        return self.run

    def __getstate__(self) -> dict[str, Any]:
        # ddp_spawn pickles the Trainer with its loggers into each process: a run (a thread, a
        # connection) does not travel; rank 0 there starts its own when it first logs.
        return {**self.__dict__, "_run": None}

    def save(self) -> None:
        pass  # points stream as they are logged; nothing is buffered on disk

    def finalize(self, status: str) -> None:
        """Lightning's end of fit/validate/test: `success` ends the run `completed` (`stopped`
        after the dashboard's Stop), `failed` ends it `failed` with the exception being
        handled (a Ctrl-C: `stopped`), SLURM's requeue (`finished`) ends it `interrupted`."""
        if not self._rank_zero() or self._run is None or self._ended:
            return
        if status == "success":
            if self._keep_open:
                self._run.flush()
                return
            self.finish()
        elif status == "failed":
            # Lightning calls this inside its `except`: the exception is the one being handled.
            end, message = _ending(sys.exc_info()[1])
            self.finish(end or "failed", message or "the Trainer reported a failure")
        else:
            self.finish("interrupted", f"Lightning ended the run with status {status!r}")

    def finish(self, status: EndStatus | None = None, message: str | None = None) -> None:
        """End the run now (needed only with `keep_open=True`): `completed`, or `stopped`
        after a stop request, unless `status` says otherwise."""
        if self._run is not None and not self._ended:
            self._ended = True
            self._run.finish(status, message)


class StopBody:
    """The dashboard's Stop as `trainer.should_stop` (see TrainscopeStop's docstring)."""

    def __init__(self, every_n_batches: int = 1, run: Run | None = None) -> None:
        super().__init__()
        if every_n_batches < 1:
            raise ValueError(f"every_n_batches must be at least 1, not {every_n_batches}")
        self._every = every_n_batches
        self._explicit_run = run
        self._said = False

    def _run_of(self, trainer: Any) -> Run | None:
        for logger in trainer.loggers:
            if isinstance(logger, LoggerBody):
                return logger._run
        if self._explicit_run is not None:
            return self._explicit_run
        # A script that called trainscope.init itself (on global rank 0) and logs by hand.
        return sdk_run.latest if trainer.is_global_zero else None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # After Trainer.fit logged the hyperparameters: the run appears now, with its config,
        # not at the first logged metric (log_every_n_steps may be far off).
        for logger in trainer.loggers:
            if isinstance(logger, LoggerBody) and not logger._ended:
                _ = logger.run

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx % self._every:
            return
        run = self._run_of(trainer)
        local = run is not None and run.should_stop
        # Only global rank 0 holds the run: every rank must take the same decision at the same
        # batch, or the others would wait forever in their next collective (DDP). One small
        # all-reduce per check under DDP; a plain bool on one device.
        if trainer.strategy.reduce_boolean_decision(local, all=False):
            trainer.should_stop = True
            if local and not self._said:
                self._said = True
                _say("stop requested from the dashboard: trainer.should_stop is set")
