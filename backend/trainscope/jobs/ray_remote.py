"""Cluster side: what the Ray executor runs on the Ray cluster, a training task and a mailbox.

`train_task` runs in a Ray worker process, on whichever node has the resources: it trains one
job with `worker.run_job`, the code the local workers run, and sends its events in batches
(`Outbox`) to the `Mailbox`. The `Mailbox` is one small Ray actor per server: it holds the
batches until the server's executor thread takes them, and the stop flags the tasks poll. So
points travel task → mailbox → server through Ray calls alone, with no socket of our own.

The server imports this module to name these to Ray, so it imports neither ray nor torch at
module level: ray only inside the functions (it is there whenever they run), torch only in the
task (through the engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from trainscope.jobs.job import Job
from trainscope.jobs.messages import JobDone, Message, WireMessage, WorkerReady, encode
from trainscope.jobs.outbox import Outbox
from trainscope.schemas.events import Event, Status

if TYPE_CHECKING:
    from trainscope.jobs.dataset_cache import DatasetCache

# A task asks its mailbox whether to stop this often: the loop sees a stop within about that.
STOP_POLL_S = 0.2
# Training is throughput work; on a node shared with the server, the server should win.
TASK_NICENESS = 10

# The datasets a Ray worker process loaded last. Ray keeps a CPU task's worker process for the
# next task (GPU tasks get a fresh one each), so a restarted run skips loading its data again.
_cache: DatasetCache | None = None

# A batch as the mailbox holds it: the task's ticket (one per dispatch, so a resumed run's old
# attempt can never be mistaken for its new one) and the encoded messages.
Delivery = tuple[int, list[WireMessage]]


class Mailbox:
    """A Ray actor (async: its methods interleave on one event loop, never in parallel) that
    holds the tasks' batches for the server and the tickets the server asked to stop."""

    def __init__(self) -> None:
        self._batches: list[Delivery] = []
        self._stops: set[int] = set()
        self._arrived = asyncio.Event()

    async def put(self, ticket: int, batch: list[WireMessage]) -> None:
        self._batches.append((ticket, batch))
        self._arrived.set()

    async def take(self, timeout_s: float) -> list[Delivery]:
        """Everything put so far, waiting up to `timeout_s` for something to arrive. The
        server keeps one take outstanding at a time, so what a take returns is in put order."""
        if not self._batches:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
        batches, self._batches = self._batches, []
        self._arrived.clear()
        return batches

    async def stop(self, ticket: int) -> None:
        self._stops.add(ticket)

    async def stopping(self, ticket: int) -> bool:
        return ticket in self._stops

    async def forget(self, ticket: int) -> None:
        self._stops.discard(ticket)


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        current = os.nice(0)
        if current < TASK_NICENESS:  # a reused worker process is niced already
            os.nice(TASK_NICENESS - current)


def _ready_message(ticket: int, started: float) -> WorkerReady:
    """Cluster side: import torch and say where this task trains (pid, device, node)."""
    import ray
    import torch

    from trainscope.engine.device import describe_device

    gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    # Ray sets CUDA_VISIBLE_DEVICES to the GPU it gave this task; a CPU task got none.
    device = torch.device("cuda" if gpu_count and ray.get_gpu_ids() else "cpu")
    node = ray.get_runtime_context().get_node_id()[:8]
    return WorkerReady(
        slot=ticket,
        pid=os.getpid(),
        device=f"{describe_device(device)} on node {node}",
        gpu_count=gpu_count,
        warmup_s=time.monotonic() - started,
    )


def train_task(job: Job, ticket: int, mailbox: Any) -> None:
    """Cluster side, a Ray task: train `job`, sending its events to `mailbox` (an actor handle
    of `Mailbox`) under `ticket`; `WorkerReady` first, `JobDone` last, as a local worker does."""
    import ray
    from ray.exceptions import RayError

    from trainscope.jobs.dataset_cache import DatasetCache
    from trainscope.jobs.worker import _release_device_memory, run_job

    global _cache
    started = time.monotonic()
    _lower_priority()

    def send(batch: list[Message]) -> None:
        try:
            ray.get(mailbox.put.remote(ticket, encode(batch)))
        except RayError as exc:
            # The mailbox is gone, and the server with it: the Outbox marks itself broken on
            # an OSError, and should_stop below then ends the run without a checkpoint.
            raise OSError(f"the trainscope server's mailbox is gone: {exc}") from exc

    outbox = Outbox(send)
    stop_asked = threading.Event()
    finished = threading.Event()

    def poll_stop() -> None:
        while not finished.wait(STOP_POLL_S):
            try:
                if ray.get(mailbox.stopping.remote(ticket)):
                    stop_asked.set()
                    return
            except RayError:
                return  # the mailbox is gone: the outbox finds out on its next send

    ended = False

    def emit(event: Event) -> None:
        nonlocal ended
        ended = ended or isinstance(event, Status)
        outbox.put((job.run_id, event))

    def should_stop() -> bool:
        if outbox.broken:
            # As in a local worker whose server went away: its in-flight points are lost, so a
            # checkpoint now would be ahead of what was stored. End without one.
            raise SystemExit("the trainscope server went away")
        return stop_asked.is_set()

    poller = threading.Thread(target=poll_stop, name="trainscope-stop-poll", daemon=True)
    poller.start()
    try:
        outbox.put(_ready_message(ticket, started))
        if _cache is None:
            _cache = DatasetCache()
        run_job(job, emit, should_stop, _cache)
    except SystemExit:
        pass  # the server went away; nobody is left to tell
    except Exception as exc:
        if not ended:  # the end first: printing may fail (a log on a full disk)
            emit(Status("failed", message=f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(OSError):
            traceback.print_exc()  # Ray forwards it to the server's log
    finally:
        finished.set()
        with contextlib.suppress(Exception):
            _release_device_memory()
        outbox.put(JobDone(job.run_id))
        outbox.close()
