"""`trainscope.init(...)` → `Run`: log a training script's metrics to trainscope.

`Run.log` is the hot path, called once per iteration of someone's training loop: it takes the
time, copies the dict (so the caller may reuse theirs) and appends one tuple to a deque, about
0.3 µs. Everything else — converting values, encoding, sending, retrying — happens on the
shipper's thread (shipper.py).
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
from collections import deque
from pathlib import Path
from time import time
from types import TracebackType
from typing import Any, Literal

from trainscope.sdk.attached import AttachedSink, attached_env, run_args
from trainscope.sdk.columns import Problems, Row, to_float
from trainscope.sdk.shipper import Shipper
from trainscope.sdk.sinks import LocalSink, ServerSink, Sink, client_info

EndStatus = Literal["completed", "stopped", "failed", "interrupted"]

FLUSH_EVERY_S = 0.2
HEARTBEAT_S = 1.0
MAX_BUFFERED = 1_000_000
FINISH_TIMEOUT_S = 60.0
INIT_TIMEOUT_S = 10.0


class Run:
    """One run of a training script. Made by `trainscope.init`; see docs/sdk.md."""

    def __init__(
        self,
        sink: Sink,
        *,
        name: str | None,
        config: dict[str, Any],
        dashboard: str | None,
        flush_every_s: float,
        max_buffered: int,
        finish_timeout_s: float,
    ) -> None:
        self.name = name
        self.config = config
        # One value per name for the whole run (final averages, best scores): stored with the
        # run when it finishes (`info.summary`), never drawn as a curve.
        self.summary: dict[str, Any] = {}
        self._dashboard = dashboard
        self._rows: deque[Row] = deque()
        # Bound once: log() then costs one attribute load less.
        self._append = self._rows.append
        self._step = 0
        self._epoch = 0
        self._finished = False
        self._finish_lock = threading.Lock()
        self._finish_timeout_s = finish_timeout_s
        self._shipper = Shipper(
            sink,
            self._rows,
            flush_every_s=flush_every_s,
            heartbeat_s=HEARTBEAT_S,
            max_buffered=max_buffered,
        )
        self._shipper.start()
        # A script that ends without finish() still delivers its points (not after SIGKILL or
        # os._exit: the server then marks the run interrupted when it stops hearing from it).
        _open_runs.add(self)

    # -- the hot path ---------------------------------------------------------------------------

    def log(
        self, values: dict[str, Any], step: int | None = None, *, epoch: int | None = None
    ) -> None:
        """Record metric values at `step` (default: the previous step + 1, from 1).

        Values: floats, ints, or anything with `.item()` (numpy scalars, one-element tensors),
        converted on the background thread. A CUDA tensor is fine, but converting it waits for
        the GPU there; pass `loss.item()` when you want the wait where you can see it.
        `epoch`: kept for later calls until changed. Names: any string; train_loss,
        train_accuracy, val_loss, val_accuracy, learn_rate, grad_norm are the ones the
        dashboard's charts and the doctor know (DESIGN §5).
        """
        if step is None:
            step = self._step = self._step + 1
        else:
            self._step = step
        if epoch is not None:
            self._epoch = epoch
        self._append((step, self._epoch, time(), values.copy()))

    # -- the rest -------------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The step of the last `log()` (0 before the first)."""
        return self._step

    def update_config(self, values: dict[str, Any]) -> None:
        """Add `values` to the run's config after it started (hyperparameters known only
        later, TensorBoard's `add_hparams` at the end of training): merged key by key into
        the stored config, the training options they name mirrored again. Sent in the
        background after the points logged before; `flush()`/`finish()` deliver it. Not for a
        run trainscope started (its config is the args it was started with: said once)."""
        import json

        self.config.update(values)
        self._shipper.add_config(
            _json_safe(json.loads(json.dumps(values, default=str, allow_nan=True)))
        )

    @property
    def should_stop(self) -> bool:
        """True once someone asked the run to stop (the dashboard's Stop button, or
        POST /api/runs/{id}/stop): end the loop and finish; the run then ends `stopped`."""
        return self._shipper.stop_requested

    @property
    def checkpoint_dir(self) -> Path | None:
        """A folder kept with the run for its checkpoints, when trainscope started the script
        ($TRAINSCOPE_CHECKPOINT_DIR); a resume or a branch finds them there."""
        path = os.environ.get("TRAINSCOPE_CHECKPOINT_DIR")
        return Path(path) if path else None

    @property
    def resume_from(self) -> Path | None:
        """Set when this run continues an earlier one ($TRAINSCOPE_RESUME_FROM): the folder (or
        file) to load the checkpoint from before training; None for a fresh start."""
        path = os.environ.get("TRAINSCOPE_RESUME_FROM")
        return Path(path) if path else None

    @property
    def id(self) -> int | None:
        """The run's id on the server (or in the local store); None while not yet created."""
        return self._shipper.run_id

    @property
    def url(self) -> str | None:
        """The run's page in the dashboard, when logging to a server."""
        if self._dashboard is None or self.id is None:
            return None
        return f"{self._dashboard}/runs/{self.id}"

    @property
    def dropped(self) -> int:
        """Points dropped because the server was away too long (the buffer was full)."""
        return self._shipper.dropped

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every point logged so far is stored; False when `timeout` ran out."""
        return self._shipper.flush(timeout)

    def finish(
        self,
        status: EndStatus | None = None,
        message: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Deliver every point, then end the run: `completed`, or `stopped` after a stop
        request; `run.summary` is stored with it (the run's `info.summary`). Waits at most
        `timeout` (default `finish_timeout_s` of init, 60 s) for an unreachable server; True
        when everything was delivered. Calling it again does nothing.
        """
        with self._finish_lock:
            if self._finished:
                return True
            self._finished = True
        _open_runs.discard(self)
        if status is None:
            status = "stopped" if self.should_stop else "completed"
        wait = self._finish_timeout_s if timeout is None else timeout
        summary = {str(k): _summary_value(v) for k, v in self.summary.items()}
        return self._shipper.finish(status, message, wait, summary)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status, message = _ending(exc)
        self.finish(status, message)

    def __repr__(self) -> str:
        return f"<trainscope.Run id={self.id} name={self.name!r}>"


def _ending(exc: BaseException | None) -> tuple[EndStatus | None, str | None]:
    """How an exception that ended the script ends its run."""
    if exc is None:
        return None, None
    if isinstance(exc, KeyboardInterrupt):
        return "stopped", "KeyboardInterrupt (Ctrl-C)"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return None, None
    text = f"{type(exc).__name__}: {exc}"
    return "failed", text[:10_000]


# Strong references: a run the script dropped on the floor is still finished at exit.
_open_runs: set[Run] = set()
# The run the last init() started: what trainscope.log() and trainscope.finish() act on.
latest: Run | None = None


@atexit.register
def _finish_open_runs() -> None:
    # An uncaught exception that ended the script is in sys.last_value (3.12: sys.last_exc)
    # by the time atexit runs.
    exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    status, message = _ending(exc if isinstance(exc, BaseException) else None)
    for run in list(_open_runs):
        run.finish(status, message)


def init(
    name: str | None = None,
    config: dict[str, Any] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    tags: list[str] | None = None,
    group: str | None = None,
    flush_every_s: float = FLUSH_EVERY_S,
    max_buffered: int = MAX_BUFFERED,
    init_timeout_s: float = INIT_TIMEOUT_S,
    finish_timeout_s: float = FINISH_TIMEOUT_S,
) -> Run:
    """Start a run that this script trains and logs; see docs/sdk.md.

    `url`: a trainscope server (default `$TRAINSCOPE_URL`); without one the run goes into the
    local store of `dir` (default `$TRAINSCOPE_DATA_DIR`, else ~/.trainscope), which
    `trainscope serve` on that directory shows. `token`: the server's API token (default
    `$TRAINSCOPE_API_TOKEN`). `config`: the script's options (JSON-able), shown and compared
    in the dashboard. Waits up to `init_timeout_s` for the run to be created; a server that
    is not up yet is retried in the background while `log()` buffers.
    """
    import json

    config = dict(config or {})
    # What the dashboard stores is JSON: anything else (a Path, a torch.device) as its str.
    config_json = json.loads(json.dumps(config, default=str, allow_nan=True))
    url = url if url is not None else os.environ.get("TRAINSCOPE_URL") or None
    problems = Problems()
    sink: Sink
    dashboard: str | None
    attach = attached_env()
    if attach is not None:
        # Started by trainscope (an entry point's run): this *is* that run, and its config is
        # the args it was started with (what the dashboard shows, restarts and compares).
        config = {**run_args(), **config}
        sink = AttachedSink(attach, problems)
        dashboard = None
    elif url is not None:
        token = token if token is not None else os.environ.get("TRAINSCOPE_API_TOKEN") or None
        body = {
            "name": name,
            "config": _json_safe(config_json),
            "tags": list(tags or []),
            "group": group,
            "client": client_info(),
        }
        sink = ServerSink(url, token, body, problems)
        dashboard = url.rstrip("/")
    else:
        spec, info = _local_spec(name, config_json, tags, group)
        sink = LocalSink(_data_dir(dir), spec, info, problems)
        dashboard = None
    global latest
    run = latest = Run(
        sink,
        name=name,
        config=config,
        dashboard=dashboard,
        flush_every_s=flush_every_s,
        max_buffered=max_buffered,
        finish_timeout_s=finish_timeout_s,
    )
    if not run._shipper.created.wait(init_timeout_s) and run._shipper.fatal is None:
        print(
            f"trainscope: {sink.description} has not answered yet; logging goes on and the "
            "points are sent when it does",
            file=sys.stderr,
        )
    if run._shipper.fatal is not None:
        print(f"trainscope: could not create the run: {run._shipper.fatal}", file=sys.stderr)
    return run


def _data_dir(dir: str | os.PathLike[str] | None) -> Path:
    if dir is not None:
        return Path(dir).expanduser()
    env = os.environ.get("TRAINSCOPE_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".trainscope"


def _local_spec(
    name: str | None, config: dict[str, Any], tags: list[str] | None, group: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored spec and info, as the server would make them (web/external.py)."""
    from trainscope.schemas.external import ExternalRunCreate, external_info, external_spec

    body = ExternalRunCreate(
        name=name, config=config, tags=list(tags or []), group=group, client=client_info()
    )
    spec: dict[str, Any] = external_spec(body).model_dump(mode="json")
    return spec, external_info(body)


def _summary_value(value: Any) -> float | int | str | bool | None:
    """A summary value as JSON holds it: numbers (tensors, numpy scalars too) as numbers,
    non-finite ones as "NaN"/"Infinity" (the REST API's spelling), anything else as its str."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        number = to_float(value)
    except (TypeError, ValueError, RuntimeError):
        return str(value)[:1000]
    safe: float | str = _json_safe(number)
    return safe


def _json_safe(value: Any) -> Any:
    """Config values JSON cannot hold (NaN, ±inf) as the strings the REST API uses."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
