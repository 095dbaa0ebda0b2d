"""Keras 3: `model.fit(..., callbacks=[TrainscopeCallback()])` streams the fit to trainscope and
gives it the dashboard's Stop (docs/integrations.md). Written for the torch backend
(`KERAS_BACKEND=torch`); nothing in it is backend-specific.
"""

from __future__ import annotations

import sys
from typing import Any

import keras

from trainscope.sdk.run import Run, init

__all__ = ["TrainscopeCallback"]

# Optimizer settings worth a place in the run's config (spec.options mirrors the known ones).
_OPTIMIZER_KEYS = ("weight_decay", "momentum", "beta_1", "beta_2", "clipnorm", "global_clipnorm")


class TrainscopeCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """One trainscope run per `model.fit`.

    Each training batch's logs at step = the batch's number counted over the whole fit (from
    1); Keras's batch logs are the epoch's running means. At each epoch's end, what the batches
    did not log (`val_*`, `learning_rate`) at the epoch's last step. The run's config: the
    optimizer's name, learning rate and settings, `epochs` and `steps_per_epoch`, under
    `config`. `name`, `config` and the other keyword arguments (`url`, `dir`, `tags`, `group`,
    ...) go to `trainscope.init`. The dashboard's Stop sets `model.stop_training` (Keras ends
    the fit after that batch); the run then ends `stopped`, else `completed` when the fit
    ends. A fit that raises leaves the run to the script's exit (Keras has no exception hook):
    `failed` when the exception ends the script.
    """

    def __init__(
        self, name: str | None = None, config: dict[str, Any] | None = None, **init_kwargs: Any
    ) -> None:
        super().__init__()
        self._name = name
        self._config = dict(config or {})
        self._init_kwargs = init_kwargs
        self.run: Run | None = None
        self._step = 0
        self._epoch = 0
        self._batch_keys: set[str] = set()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._step = 0
        self._batch_keys = set()
        self.run = init(self._name, {**self._fit_config(), **self._config}, **self._init_kwargs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1  # Keras counts from 0, trainscope from 1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        run = self.run
        if run is None:
            return
        self._step += 1
        if logs:
            if len(logs) != len(self._batch_keys):
                self._batch_keys.update(logs)
            # Values may be tensors: converted on the shipper's thread, not here.
            run.log(logs, self._step, epoch=self._epoch)
        if run.should_stop and not self.model.stop_training:
            self.model.stop_training = True
            print("trainscope: stop requested from the dashboard: fit ends", file=sys.stderr)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        # The batches already logged the training metrics' epoch means at this very step.
        values = {k: v for k, v in (logs or {}).items() if k not in self._batch_keys}
        if "learning_rate" not in values and "learning_rate" not in self._batch_keys:
            lr = self._learning_rate()
            if lr is not None:
                values["learning_rate"] = lr
        if values:
            self.run.log(values, self._step, epoch=epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.run is not None:
            self.run.finish()

    def _learning_rate(self) -> float | None:
        optimizer: Any = getattr(self.model, "optimizer", None)
        try:
            value = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return None  # no optimizer (not compiled for training), or a learning rate of its own
        # A float32 variable: 0.01 reads back as 0.009999999776; 7 digits give back what was set.
        return float(f"{value:.7g}")

    def _fit_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config["optimizer"] = type(optimizer).__name__
            lr = self._learning_rate()
            if lr is not None:
                config["learning_rate"] = lr
            settings = optimizer.get_config()
            for key in _OPTIMIZER_KEYS:
                value = settings.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    config[key] = value
        params = self.params or {}
        if params.get("epochs") is not None:
            config["epochs"] = params["epochs"]
        if params.get("steps") is not None:
            config["steps_per_epoch"] = params["steps"]
        return config
