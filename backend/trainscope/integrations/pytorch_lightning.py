"""The same as trainscope.integrations.lightning, for the older `pytorch_lightning` package
(its Trainer takes only its own `Logger` and `Callback` classes). Not installed where trainscope
is tested: this module is the two class statements over the shared body, nothing more.
"""

from __future__ import annotations

from lightning_fabric.utilities.rank_zero import rank_zero_only
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import Logger

from trainscope.integrations._lightning_body import LoggerBody, StopBody

__all__ = ["TrainscopeLogger", "TrainscopeStop"]


class TrainscopeLogger(LoggerBody, Logger):
    """trainscope.integrations.lightning.TrainscopeLogger, for `pytorch_lightning`."""

    rank_zero = rank_zero_only


class TrainscopeStop(StopBody, Callback):
    """trainscope.integrations.lightning.TrainscopeStop, for `pytorch_lightning`."""
