"""Worker side: what runs inside a worker process (local) or a task (Ray).

This module is imported by the server too (it names `worker_main` as the spawn target), so it
imports nothing heavy at module level: torch, numpy and the engine are imported inside the
functions, which only ever run in the worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from trainscope.jobs.job import Job
from trainscope.jobs.messages import JobDone, Message, WorkerBroken, WorkerReady, encode
from trainscope.jobs.outbox import Outbox
from trainscope.schemas.events import Event, Status

if TYPE_CHECKING:
    from ctypes import c_int64

    from trainscope.jobs.dataset_cache import DatasetCache

# The value of a stop cell that stops no run (run ids are positive).
NO_RUN = -1

# A run small enough to train in well under a second, big enough to touch every code path a
# real run takes: spec validation, data generation, model, optimizer, validation, test metrics.
WARMUP_SPEC = {
    "dataset": {"name": "spirals", "num_samples": 200},
    "options": {"max_epochs": 1, "mini_batch_size": 20, "validation_frequency": 3},
}


WORKER_NICENESS = 10

# This worker's device, for the script runs it starts (set once it is ready): the name shown on
# the run, and the environment that gives a script the slot's GPU and nothing else.
_device_name = "cpu"
_device_env: dict[str, str] = {}


def run_job(
    job: Job,
    emit: Callable[[Event], None],
    should_stop: Callable[[], bool],
    cache: DatasetCache,
) -> None:
    """Worker side: train one job, reporting through `emit` (a final Status always comes last,
    unless this raises, which only an engine bug or a device failure makes it do)."""
    from pydantic import ValidationError

    from trainscope.engine.loop import train
    from trainscope.schemas.datasets import DATASET_NAMES
    from trainscope.schemas.errors import format_validation_error
    from trainscope.schemas.model import LAYER_TYPES
    from trainscope.schemas.spec import RunSpec

    if job.script is not None:
        from trainscope.jobs.script_runner import run_script

        run_script(job, emit, should_stop, device=_device_name, extra_env=_device_env)
        return
    try:
        spec = RunSpec.model_validate_json(job.spec_json)
    except ValidationError as exc:
        problems = format_validation_error(exc, RunSpec, tags=(*DATASET_NAMES, *LAYER_TYPES))
        emit(Status("failed", message="invalid run spec: " + "; ".join(problems)))
        return
    data_dir = Path(job.data_dir)
    if spec.dataset is None:  # an external run: its own script trains it, never a worker
        emit(Status("failed", message=f"a {spec.kind} run has no dataset to train on"))
        return
    try:
        data = cache.get(spec.dataset, data_dir)
    except (ValueError, FileNotFoundError) as exc:  # DatasetError is a ValueError
        # The message train() would give had it loaded the data itself.
        emit(Status("failed", message=str(exc)))
        return
    train(
        spec,
        emit,
        should_stop,
        data_dir=data_dir,
        run_dir=Path(job.run_dir),
        resume=job.resume,
        data=data,
        persisted_seq=job.persisted_seq,
        branch_from=Path(job.branch_from) if job.branch_from else None,
        checkpoint_budget=job.checkpoint_budget,
    )


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset and container CPU sets
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _prepare(slot: int, slots: int, data_dir: Path) -> WorkerReady:
    """Worker side: pick threads and device, then warm up, so that the first real run pays
    neither for imports (seconds) nor for lazy initialisation (CUDA context, kernels)."""
    started = time.monotonic()
    import torch

    from trainscope.engine.device import describe_device
    from trainscope.engine.loop import train
    from trainscope.schemas.spec import RunSpec

    # The slots share the CPU: without this each worker would start a thread per core.
    torch.set_num_threads(max(1, _usable_cpus() // max(1, slots)))
    gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpu_count:
        torch.cuda.set_device(slot % gpu_count)  # the engine's "cuda" means this device now
    device = torch.device("cuda" if gpu_count else "cpu")
    global _device_name, _device_env
    _device_name = describe_device(device)
    if gpu_count:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(gpu_count)]
        _device_env = {"CUDA_VISIBLE_DEVICES": ids[slot % gpu_count]}

    def discard(event: Event) -> None:
        if isinstance(event, Status) and event.status != "completed":
            raise RuntimeError(f"warm-up run ended {event.status}: {event.message}")

    train(RunSpec.model_validate(WARMUP_SPEC), discard, data_dir=data_dir)
    return WorkerReady(
        slot=slot,
        pid=os.getpid(),
        device=describe_device(device),
        gpu_count=gpu_count,
        warmup_s=time.monotonic() - started,
    )


def _release_device_memory() -> None:
    import torch

    if torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        torch.cuda.empty_cache()  # the next run may need the memory this one cached


def print_traceback() -> None:
    """The exception being handled, to stderr: the server's log. A log on a full disk (or a
    closed one) raises OSError; losing the traceback is better than losing the worker."""
    with contextlib.suppress(OSError):
        traceback.print_exc()


def _serve(tasks: Connection, outbox: Outbox, stop_cell: c_int64) -> None:
    """Worker side: run jobs one after the other until the sentinel (None) or the server's end
    of the pipe closes."""
    from trainscope.jobs.dataset_cache import DatasetCache

    cache = DatasetCache()
    while True:
        try:
            job: Job | None = tasks.recv()
        except (EOFError, OSError):
            return  # the server went away
        if job is None:
            return
        run_id = job.run_id
        ended = False

        def emit(event: Event, run_id: int = run_id) -> None:
            nonlocal ended
            ended = ended or isinstance(event, Status)
            outbox.put((run_id, event))

        def should_stop(run_id: int = run_id) -> bool:
            # The executor writes the id of the run to stop into the cell: a stop meant for
            # an earlier run can never stop this one, so nothing needs clearing in between.
            if outbox.broken:
                # The server is gone, and with it every point still in flight. A checkpoint
                # written now would be ahead of what was stored; end without one (resume
                # then continues from a checkpoint whose points all reached the database).
                raise SystemExit("the server went away")
            return stop_cell.value == run_id

        try:
            run_job(job, emit, should_stop, cache)
        except Exception as exc:
            # The run's end first: the traceback goes to stderr, which may be a file on the
            # very disk that just filled up (and then raises).
            if not ended:
                emit(Status("failed", message=f"{type(exc).__name__}: {exc}"))
            print_traceback()  # a bug or a device failure: the server's log should show it
        finally:
            _release_device_memory()
            outbox.put(JobDone(run_id))


def worker_main(
    slot: int,
    slots: int,
    tasks: Connection,
    events: Connection,
    stop_cell: c_int64,
    data_dir: str,
) -> None:
    """Worker side: the entry point of a spawned worker process.

    Warms up, reports `WorkerReady` on `events`, then trains the jobs that arrive on `tasks`,
    one at a time, sending each run's events as `(run_id, event)` batches, until a None.
    `stop_cell` holds the id of the run the executor wants stopped.
    """
    # Ctrl-C in a terminal signals the whole process group. The server decides when its
    # workers end (after stopping runs gracefully), so a worker must not die of SIGINT first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Training is throughput work, the server is latency work: when they share CPU cores the
    # server should win the moment it wakes, so watchers see points promptly. The server uses
    # little CPU, so training loses almost nothing.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)

    def send(batch: list[Message]) -> None:
        events.send(encode(batch))

    outbox = Outbox(send)
    try:
        try:
            ready = _prepare(slot, slots, Path(data_dir))
        except Exception as exc:
            outbox.put(WorkerBroken(slot, f"{type(exc).__name__}: {exc}"))
            print_traceback()
            return
        outbox.put(ready)
        _serve(tasks, outbox, stop_cell)
    finally:
        outbox.close()
