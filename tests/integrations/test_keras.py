"""Keras 3 on the torch backend with `TrainscopeCallback`: a real `model.fit` is one run (per
batch and per epoch points, the optimizer in the config, status), in local mode shown by a
real server; the API's Stop on a real server ends the fit early, the run `stopped`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..sdk.conftest import all_points, finish, first_line, script, wait_run
from ..web.conftest import Server

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow

# A tiny classifier on random numbers: 64 samples, batches of 8 (8 steps an epoch).
MODEL = """
import os
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
from trainscope.integrations.keras import TrainscopeCallback
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2)])
model.compile(optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.001),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])

class SayRunId(keras.callbacks.Callback):
    # After TrainscopeCallback in the list: its run exists. The id on stdout, for Stop.
    def __init__(self, cb):
        super().__init__()
        self.cb = cb
    def on_train_batch_end(self, batch, logs=None):
        if batch == 0 and self.cb._step == 1:
            print(self.cb.run.id, flush=True)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("keras-server")).start(wait_workers=False)
    yield srv
    srv.stop()


def curve(cols: dict[str, Any], name: str) -> dict[int, float]:
    return {
        i: v for i, v in zip(cols["iteration"], cols["values"][name], strict=True) if v is not None
    }


def test_a_keras_fit_is_one_run(tmp_path: Path) -> None:
    code = (
        MODEL
        + f"""
cb = TrainscopeCallback(name="keras fit", config={{"data": "random"}}, dir={str(tmp_path)!r})
history = model.fit(x, y, batch_size=8, epochs=2, validation_data=(x, y), verbose=0,
                    callbacks=[cb, SayRunId(cb)])
print(history.history["val_accuracy"][-1], flush=True)
"""
    )
    out, _ = finish(script(code, env={"PYTHONWARNINGS": "ignore"}), timeout=180)
    run_id, last_val_acc = int(out.split()[0]), float(out.split()[1])
    srv = Server(tmp_path).start(wait_workers=False)
    try:
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}").json()
            cols = all_points(api, run_id)
    finally:
        srv.stop()
    assert run["name"] == "keras fit" and run["status"] == "completed"
    assert run["spec"]["config"] == {
        "data": "random",
        "optimizer": "AdamW",
        "learning_rate": 0.01,
        "weight_decay": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epochs": 2,
        "steps_per_epoch": 8,
    }
    # per batch: steps counted over the whole fit; per epoch: val_* at the epoch's last step
    assert sorted(curve(cols, "loss")) == list(range(1, 17))
    assert sorted(curve(cols, "val_accuracy")) == [8, 16]
    assert curve(cols, "val_accuracy")[16] == pytest.approx(last_val_acc)
    assert curve(cols, "learning_rate") == {8: 0.01, 16: 0.01}
    epoch_at = dict(zip(cols["iteration"], cols["epoch"], strict=True))
    assert epoch_at[1] == 1 and epoch_at[9] == 2 and epoch_at[16] == 2
    # DESIGN §9: Keras's names reach the charts' names, the raw ones kept
    assert curve(cols, "train_loss") == curve(cols, "loss")
    assert curve(cols, "train_accuracy") == curve(cols, "accuracy")
    assert curve(cols, "learn_rate") == curve(cols, "learning_rate")
    assert curve(cols, "val_loss")[16] > 0


def test_stop_from_the_api_ends_the_fit(server: Server) -> None:
    code = (
        MODEL
        + f"""
cb = TrainscopeCallback(name="keras stop", url={server.url!r})
history = model.fit(x, y, batch_size=8, epochs=100_000, verbose=0, callbacks=[cb, SayRunId(cb)])
print(len(history.history["loss"]), cb._step, flush=True)
"""
    )
    proc = script(code, env={"PYTHONWARNINGS": "ignore"})
    run_id = int(first_line(proc))
    with server.api() as api:
        assert api.post(f"/api/runs/{run_id}/stop").status_code == 200
        out, err = finish(proc, timeout=120)
        run = wait_run(api, run_id, ("stopped",), timeout=10)
        cols = all_points(api, run_id)
    epochs, steps = map(int, out.split())
    assert 0 < epochs < 100_000
    assert run["status"] == "stopped"
    assert max(curve(cols, "loss")) == steps  # every batch up to the stop
    assert "stop requested from the dashboard" in err
