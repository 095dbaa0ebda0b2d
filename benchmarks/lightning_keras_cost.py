"""What Lightning's and Keras's trainscope adapters cost per logged scalar in the training
process, beside Lightning's own TensorBoardLogger and CSVLogger and the SDK's `run.log`.

Each logger is called the way its framework calls it, on the same fresh dicts: Lightning hands
every logger `log_metrics(metrics, step)` (the metrics plus its `epoch`) and then `save()`;
Keras calls `on_train_batch_end(batch, logs)`. trainscope runs in local mode (a temporary
store), its shipper's thread running as usual. Two figures per scalar, the best of `--rounds`
(the cases interleaved): *loop*, the wall time of the calls (what the loop waits), and *CPU*,
the process's CPU time over all its threads from the first call until everything logged is
written (trainscope's shipper, TensorBoard's writer thread included): the whole cost, and far
less disturbed than wall time by other processes on a busy machine.
`python benchmarks/lightning_keras_cost.py [--seconds S] [--scalars K] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

# A case: given a fresh directory, yields (one call, then: wait until everything is written).
Case = Callable[[str, dict[str, float]], Any]


def measure(
    call: Callable[[int], None], done: Callable[[], None], seconds: float, scalars: int
) -> tuple[float, float]:
    """(loop µs, CPU µs) per scalar. Calls for `seconds` at least, so that the loggers'
    threads (the shipper sends every 0.2 s) run inside the loop, as they do in training."""
    calls = 0
    cpu0, start = time.process_time(), time.perf_counter()
    while True:
        for i in range(calls, calls + 1000):
            call(i)
        calls += 1000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    done()
    cpu = time.process_time() - cpu0
    n = calls * scalars
    return elapsed / n * 1e6, cpu / n * 1e6


def metrics_of(scalars: int) -> dict[str, float]:
    names = ["train_loss", "train_acc", "lr-Adam", "grad_norm", "val_loss", "val_acc"]
    names += [f"m{i}" for i in range(max(0, scalars - len(names)))]
    return {n: 0.5 + i for i, n in enumerate(names[:scalars])}


def as_lightning_does(logger: Any, values: dict[str, float]) -> Callable[[int], None]:
    def call(i: int) -> None:
        # Lightning builds a fresh dict per call (tensors → floats) and adds the epoch.
        metrics: dict[str, Any] = {**values, "epoch": i // 1000}
        logger.log_metrics(metrics, i)
        logger.save()

    return call


@contextmanager
def sdk(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    import trainscope

    run = trainscope.init("sdk", dir=tmp)
    # A fresh dict each call, as the frameworks hand their loggers.
    yield (lambda i: run.log(dict(values), i)), run.flush
    run.finish()


@contextmanager
def lightning_noop(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    from lightning.pytorch.loggers import Logger

    class NoOp(Logger):  # the loop's own cost: each row minus this is what the logger adds
        name = version = None

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            pass

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

    yield as_lightning_does(NoOp(), values), lambda: None


@contextmanager
def trainscope_logger(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    from trainscope.integrations.lightning import TrainscopeLogger

    logger = TrainscopeLogger(name="bench", dir=tmp)
    yield as_lightning_does(logger, values), lambda: logger.run and logger.run.flush()
    logger.finalize("success")


@contextmanager
def tensorboard_logger(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp, name="tb")
    yield as_lightning_does(logger, values), logger.experiment.flush
    logger.finalize("success")


@contextmanager
def csv_logger(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(tmp, name="csv")
    yield as_lightning_does(logger, values), logger.experiment.save
    logger.finalize("success")


@contextmanager
def keras_noop(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    import keras

    noop = keras.callbacks.Callback()
    yield (lambda i: noop.on_train_batch_end(i, dict(values))), lambda: None


@contextmanager
def keras_callback(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    import keras

    from trainscope.integrations.keras import TrainscopeCallback

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    cb = TrainscopeCallback(name="bench", dir=tmp)
    cb.set_model(model)
    cb.set_params({"epochs": 1, "steps": None, "verbose": 0})
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    assert cb.run is not None
    # Keras hands each batch's logs as a fresh dict.
    yield (lambda i: cb.on_train_batch_end(i, dict(values))), cb.run.flush
    cb.on_train_end()


@contextmanager
def torch_writer(tmp: str, values: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    # Keras's own TensorBoard callback needs TensorFlow; what a torch-backend user writes by
    # hand instead: torch's SummaryWriter, one add_scalar per value.
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=os.path.join(tmp, "tb"))

    def call(i: int) -> None:
        for k, v in dict(values).items():
            writer.add_scalar(k, v, i)

    yield call, writer.flush
    writer.close()


CASES: dict[str, Any] = {
    "SDK run.log(dict, step)": sdk,
    "Lightning: a no-op Logger (the loop)": lightning_noop,
    "Lightning: TrainscopeLogger": trainscope_logger,
    "Lightning: TensorBoardLogger": tensorboard_logger,
    "Lightning: CSVLogger": csv_logger,
    "Keras: a no-op Callback (the loop)": keras_noop,
    "Keras: TrainscopeCallback": keras_callback,
    "torch SummaryWriter, a scalar each": torch_writer,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    parser.add_argument("--scalars", type=int, default=4, help="scalars per call")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    values = metrics_of(args.scalars)
    best: dict[str, tuple[float, float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for label, case in CASES.items():
            with tempfile.TemporaryDirectory() as tmp, case(tmp, values) as (call, done):
                loop, cpu = measure(call, done, args.seconds, args.scalars)
            old = best.get(label, (float("inf"), float("inf")))
            best[label] = (min(loop, old[0]), min(cpu, old[1]))
        load.append(os.getloadavg()[0])
    print(
        f"{args.scalars} scalars a call, {args.seconds:g} s a case, best of {args.rounds}; "
        f"load average (1 min) {min(load):.1f}-{max(load):.1f} on {os.cpu_count()} cores"
    )
    print(f"{'':38s} {'loop µs':>8s} {'CPU µs':>8s}  per scalar")
    for label, (loop, cpu) in best.items():
        print(f"{label:38s} {loop:8.2f} {cpu:8.2f}")


if __name__ == "__main__":
    main()
