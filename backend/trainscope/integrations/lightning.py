"""Lightning (`lightning.pytorch`): `Trainer(logger=TrainscopeLogger(),
callbacks=[TrainscopeStop()])` streams `self.log(...)` to trainscope and gives the fit the
dashboard's Stop (docs/integrations.md).

For the older `pytorch_lightning` package: trainscope.integrations.pytorch_lightning.
"""

from __future__ import annotations

from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger

from trainscope.integrations._lightning_body import LoggerBody, StopBody

__all__ = ["TrainscopeLogger", "TrainscopeStop"]


class TrainscopeLogger(LoggerBody, Logger):
    """A Lightning `Logger` that is one trainscope run.

    `name`, `config` (merged under the hyperparameters Lightning logs from
    `save_hyperparameters`) and the other keyword arguments (`url`, `dir`, `tags`, `group`, ...)
    go to `trainscope.init`. Only global rank 0 logs (and holds the run). `version` is the
    run's id once it started. The run ends when `trainer.fit` (or validate, test) ends, with
    its status; `keep_open=True` keeps it open for a `trainer.test` after the fit, and
    `logger.finish()` (or the script's exit) ends it.
    """

    rank_zero = rank_zero_only


class TrainscopeStop(StopBody, Callback):
    """Sets `trainer.should_stop` once the run was asked to stop (the dashboard's Stop, or
    POST /api/runs/{id}/stop), checked every `every_n_batches` training batches, the same
    decision on every rank. The run: the Trainer's TrainscopeLogger, else `run`, else the one
    the script's own `trainscope.init` started. Lightning still runs `min_epochs`/`min_steps`."""
