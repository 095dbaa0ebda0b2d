"""Log any training script to trainscope: `run = trainscope.init(...)`, `run.log({...})`,
`run.finish()` (docs/sdk.md). Imports only the standard library until `init` is called."""

from __future__ import annotations

from typing import Any

from trainscope.sdk.run import Run, init

__all__ = ["Run", "finish", "init", "log"]


def log(values: dict[str, Any], step: int | None = None, *, epoch: int | None = None) -> None:
    """`Run.log` on the run the last `trainscope.init` started (the shape of `wandb.log`)."""
    current().log(values, step, epoch=epoch)


def finish(status: Any = None, message: str | None = None) -> bool:
    """`Run.finish` on the run the last `trainscope.init` started."""
    return current().finish(status, message)


def current() -> Run:
    from trainscope.sdk import run

    if run.latest is None:
        raise RuntimeError("no run: call trainscope.init(...) first")
    return run.latest
