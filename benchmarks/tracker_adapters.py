"""The experiment trackers compared in tracker_overhead.py, tracker_slowdown.py and
tracker_latency.py, each configured fully offline, behind one small interface.

Not a benchmark itself. Every tracker is opened in its own subprocess by the benchmarks
(`offline_env` must be applied before the tracker is imported), with its own temporary
directory:

- trainscope: `trainscope.init(url=...)` to a real `trainscope serve` on 127.0.0.1, or
  `url=None` (the SDK's local store, under TRAINSCOPE_DATA_DIR).
- TensorBoard: `torch.utils.tensorboard.SummaryWriter` on a temporary logdir.
- trackio: local mode (TRACKIO_DIR, no Space, no server URL).
- W&B: `mode="offline"`, system metrics, git, code saving and console capture off.
- Aim: a local repo in a temporary directory, system tracking off.
- MLflow: a local SQLite tracking store; synchronous and asynchronous logging.

A guard in each child refuses (and records) any Python-level connection to an address that is
not loopback, so a tracker that tries to phone home fails loudly rather than quietly.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Peers in the order the tables show them. "trainscope-local" is the SDK with url=None.
TRACKERS = [
    "trainscope",
    "trainscope-local",
    "tensorboard",
    "trackio",
    "wandb-offline",
    "aim",
    "mlflow-sync",
    "mlflow-async",
]
# The Python distribution each tracker is installed as (for versions and "not installable").
DISTRIBUTION = {
    "trainscope": "trainscope",
    "trainscope-local": "trainscope",
    "trainscope-flush20ms": "trainscope",
    "tensorboard": "tensorboard",
    "trackio": "trackio",
    "wandb-offline": "wandb",
    "aim": "aim",
    "mlflow-sync": "mlflow",
    "mlflow-async": "mlflow",
}
METRICS3 = ("train_loss", "train_accuracy", "learn_rate")

blocked_connections: list[str] = []


def offline_env(tmp: Path) -> dict[str, str]:
    """Environment that keeps every tracker local and quiet: no telemetry, no sync, no updates."""
    return {
        # W&B: offline run files only, nothing sent, no error reporting, no system sampling.
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB__DISABLE_STATS": "true",
        "WANDB__DISABLE_META": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_DIR": str(tmp / "wandb"),
        "WANDB_CACHE_DIR": str(tmp / "wandb-cache"),
        "WANDB_CONFIG_DIR": str(tmp / "wandb-config"),
        "WANDB_DATA_DIR": str(tmp / "wandb-data"),
        # MLflow: a local SQLite store, telemetry off.
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # trackio (Gradio / Hugging Face Hub underneath): local directory, no Hub, no analytics.
        "TRACKIO_DIR": str(tmp / "trackio"),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        # Aim's UI reports telemetry only when asked; the SDK has none in 3.29.
        "AIM_UI_TELEMETRY_ENABLED": "0",
        # The convention several of them honour.
        "DO_NOT_TRACK": "1",
        # trainscope's local mode keeps its store here.
        "TRAINSCOPE_DATA_DIR": str(tmp / "trainscope"),
    }


def install_network_guard() -> None:
    """Refuse Python-level connections to anything but loopback or a Unix socket; record them."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                blocked_connections.append(f"{host}:{address[1]}")
                raise OSError(f"benchmark network guard: {host} is not loopback")
        return original(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]


def version(tracker: str) -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION[tracker])
    except importlib.metadata.PackageNotFoundError:
        return None


def sdk_available() -> bool:
    try:
        import trainscope
    except ImportError:
        return False
    return hasattr(trainscope, "init")


class Tracker:
    """One open run of one tracker.

    `log1(step, v)` logs one scalar, `log3(step, a, b, c)` logs train_loss, train_accuracy and
    learn_rate in one call where the tracker has such a call (TensorBoard has none: three
    `add_scalar`). `close()` is the tracker's own flush/finish: when it returns, the data is
    where the tracker's reader will find it.
    """

    log1: Callable[[int, float], None]
    log3: Callable[[int, float, float, float], None]
    close: Callable[[], None]

    def __init__(self, name: str, tmp: Path, run_name: str, url: str | None = None) -> None:
        self.name = name
        self.tmp = tmp
        self.info: dict[str, Any] = {}
        getattr(self, "_open_" + name.replace("-", "_"))(run_name, url)

    # -- trainscope -----------------------------------------------------------------------
    def _open_trainscope(self, run_name: str, url: str | None, **options: Any) -> None:
        import trainscope

        run = trainscope.init(name=run_name, config={"benchmark": "trackers"}, url=url, **options)
        log = run.log
        self.handle = run
        self.info["run_id"] = getattr(run, "id", None)

        def log1(step: int, v: float) -> None:
            log({"train_loss": v}, step=step)

        def log3(step: int, a: float, b: float, c: float) -> None:
            log({"train_loss": a, "train_accuracy": b, "learn_rate": c}, step=step)

        self.log1, self.log3, self.close = log1, log3, run.finish

    def _open_trainscope_local(self, run_name: str, url: str | None) -> None:
        self._open_trainscope(run_name, None)

    def _open_trainscope_flush20ms(self, run_name: str, url: str | None) -> None:
        # Not the default: the SDK's shipper woken every 20 ms instead of 200 ms (tracker_latency
        # shows what the interval costs in time to drawable).
        self._open_trainscope(run_name, url, flush_every_s=0.02)

    # -- TensorBoard ----------------------------------------------------------------------
    def _open_tensorboard(self, run_name: str, url: str | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        logdir = self.tmp / "tb" / run_name
        writer = SummaryWriter(log_dir=str(logdir))
        add = writer.add_scalar
        self.info["logdir"] = str(logdir)

        def log1(step: int, v: float) -> None:
            add("train_loss", v, step)

        def log3(step: int, a: float, b: float, c: float) -> None:
            add("train_loss", a, step)
            add("train_accuracy", b, step)
            add("learn_rate", c, step)

        def close() -> None:
            writer.flush()
            writer.close()

        self.log1, self.log3, self.close = log1, log3, close

    # -- trackio --------------------------------------------------------------------------
    def _open_trackio(self, run_name: str, url: str | None) -> None:
        import trackio

        # System metrics off, as for the other trackers (trackio samples the CPU every 10 s
        # by default when psutil is installed).
        trackio.init(
            project="bench",
            name=run_name,
            config={"benchmark": "trackers"},
            auto_log_cpu=False,
            auto_log_gpu=False,
        )
        log = trackio.log
        self.info["project"] = "bench"

        def log1(step: int, v: float) -> None:
            log({"train_loss": v}, step=step)

        def log3(step: int, a: float, b: float, c: float) -> None:
            log({"train_loss": a, "train_accuracy": b, "learn_rate": c}, step=step)

        self.log1, self.log3, self.close = log1, log3, trackio.finish

    # -- W&B ------------------------------------------------------------------------------
    def _open_wandb_offline(self, run_name: str, url: str | None) -> None:
        import wandb

        (self.tmp / "wandb").mkdir(parents=True, exist_ok=True)
        run = wandb.init(
            project="bench",
            name=run_name,
            dir=str(self.tmp / "wandb"),
            mode="offline",
            config={"benchmark": "trackers"},
            settings=wandb.Settings(
                x_disable_stats=True,
                x_disable_meta=True,
                console="off",
                disable_git=True,
                save_code=False,
                silent=True,
            ),
        )
        log = run.log
        self.info["run_dir"] = str(run.dir)
        self.info["run_id"] = run.id

        def log1(step: int, v: float) -> None:
            log({"train_loss": v}, step=step)

        def log3(step: int, a: float, b: float, c: float) -> None:
            log({"train_loss": a, "train_accuracy": b, "learn_rate": c}, step=step)

        self.log1, self.log3, self.close = log1, log3, run.finish

    # -- Aim ------------------------------------------------------------------------------
    def _open_aim(self, run_name: str, url: str | None) -> None:
        from aim import Repo, Run

        repo_dir = self.tmp / "aim"
        repo_dir.mkdir(parents=True, exist_ok=True)
        Repo.from_path(str(repo_dir), init=True)
        run = Run(
            repo=str(repo_dir),
            experiment=run_name,
            system_tracking_interval=None,
            log_system_params=False,
            capture_terminal_logs=False,
        )
        run["hparams"] = {"benchmark": "trackers"}
        track = run.track
        self.info["repo"] = str(repo_dir)
        self.info["run_hash"] = run.hash

        def log1(step: int, v: float) -> None:
            track(v, name="train_loss", step=step)

        def log3(step: int, a: float, b: float, c: float) -> None:
            track({"train_loss": a, "train_accuracy": b, "learn_rate": c}, step=step)

        self.log1, self.log3, self.close = log1, log3, run.close

    # -- MLflow ---------------------------------------------------------------------------
    def _open_mlflow(self, run_name: str, synchronous: bool) -> None:
        import mlflow

        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        active = mlflow.start_run(run_name=run_name)
        mlflow.log_params({"benchmark": "trackers"})
        log_metric, log_metrics = mlflow.log_metric, mlflow.log_metrics
        self.info["run_id"] = active.info.run_id

        def log1(step: int, v: float) -> None:
            log_metric("train_loss", v, step=step, synchronous=synchronous)

        def log3(step: int, a: float, b: float, c: float) -> None:
            log_metrics(
                {"train_loss": a, "train_accuracy": b, "learn_rate": c},
                step=step,
                synchronous=synchronous,
            )

        def close() -> None:
            if not synchronous:
                mlflow.flush_async_logging()
            mlflow.end_run()

        self.log1, self.log3, self.close = log1, log3, close

    def _open_mlflow_sync(self, run_name: str, url: str | None) -> None:
        self._open_mlflow(run_name, synchronous=True)

    def _open_mlflow_async(self, run_name: str, url: str | None) -> None:
        self._open_mlflow(run_name, synchronous=False)


def warm_import(name: str) -> float:
    """Import the tracker's package (outside any timed region); seconds it took."""
    t0 = time.perf_counter()
    if name.startswith("trainscope"):
        import trainscope

        trainscope.init  # noqa: B018 (the SDK is imported on first use)
    elif name == "tensorboard":
        import torch.utils.tensorboard  # noqa: F401
    elif name == "trackio":
        import trackio  # noqa: F401
    elif name == "wandb-offline":
        import wandb  # noqa: F401
    elif name == "aim":
        import aim  # noqa: F401
    elif name.startswith("mlflow"):
        import mlflow  # noqa: F401
    return time.perf_counter() - t0
