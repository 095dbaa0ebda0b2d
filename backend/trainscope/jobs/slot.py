"""Server side: a slot of the local executor and the worker process serving it now.

The mechanics of one worker (spawn it, talk to it over its pipes, collect it when it exits)
live here; what to do about it (which job, when to stop, kill or replace) is `LocalExecutor`'s
and `ExecutorCore`'s, whose stop bookkeeping a `Slot` carries as a `Seat`.
"""

from __future__ import annotations

import ctypes
import logging
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from trainscope.data_layout import has_checkpoint
from trainscope.jobs.executor import WorkerSnapshot
from trainscope.jobs.executor_core import Seat
from trainscope.jobs.job import Job
from trainscope.jobs.messages import Message, WireMessage, decode
from trainscope.jobs.worker import NO_RUN, worker_main
from trainscope.schemas.events import Status

log = logging.getLogger(__name__)


def died_message(exitcode: int | None) -> str:
    """The `failed` status message of a run whose worker process died under it."""
    why = ""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = f": killed by {name}"
        if -exitcode == signal.SIGKILL:
            why += " (the system's out-of-memory killer does this too)"
    return (
        f"worker process died (exit code {exitcode}) during the run{why}; "
        "a new worker takes its place"
    )


def died_status(job: Job, exitcode: int | None) -> Status:
    """The status of `job`'s run when its worker process died under it.

    `interrupted` when the run left a checkpoint: resume continues it from there (the engine
    picks a checkpoint that leaves no gap after the points the server stored), like a run the
    server was killed under. `failed` otherwise: nothing to resume from, only to restart.
    """
    return lost_status(job, died_message(exitcode))


def ended_unreported(job: Job) -> Status:
    """The status of `job`'s run when its worker said the job was done without having sent
    the run's final status (reporting it failed, e.g. a traceback into a log on a full disk)."""
    return lost_status(job, "the worker ended the run without reporting how; see the server's log")


def lost_status(job: Job, message: str) -> Status:
    """A run lost without its final status (a dead worker, a lost Ray node): `interrupted`
    when it left a checkpoint to resume from, `failed` otherwise."""
    if has_checkpoint(Path(job.run_dir)):
        return Status("interrupted", message=f"{message}; resume continues from its checkpoint")
    return Status("failed", message=message)


@dataclass(eq=False)
class Slot(Seat):
    """One slot, and the worker process serving it now (replaced when it dies)."""

    index: int
    stop_cell: ctypes.c_int64  # shared with every worker of this slot: the run id to stop
    process: BaseProcess | None = None
    pid: int | None = None
    tasks: Connection | None = None  # jobs to the worker
    events: Connection | None = None  # messages from the worker
    ready: bool = False
    device: str | None = None
    run: Job | None = None
    respawn_at: float | None = None
    startup_failures: int = 0
    error: str | None = None
    broken: bool = False  # gave up spawning
    exit_deadline: float | None = None  # shutdown: killed if still alive by then

    def current(self) -> Job | None:
        return self.run

    def spawn(self, ctx: SpawnContext, slots: int, data_dir: Path) -> None:
        """Server side: start a worker process; it warms up, then says WorkerReady.
        Raises what process creation raises, leaving the slot without a process."""
        tasks_r, tasks_w = ctx.Pipe(duplex=False)
        events_r, events_w = ctx.Pipe(duplex=False)
        self.stop_cell.value = NO_RUN
        process = ctx.Process(
            target=worker_main,
            args=(self.index, slots, tasks_r, events_w, self.stop_cell),
            kwargs={"data_dir": str(data_dir)},
            name=f"trainscope-worker-{self.index}",
            daemon=True,  # never outlive the server, even one that forgot shutdown()
        )
        try:
            process.start()
        except BaseException:
            tasks_w.close()
            events_r.close()
            raise
        finally:
            # The child holds its own copies now. Closing ours makes the events pipe read as
            # end-of-file once the worker is gone, and lets the worker see EOF if we go away.
            tasks_r.close()
            events_w.close()
        self.process, self.pid = process, process.pid
        self.tasks, self.events = tasks_w, events_r
        log.info("worker %d spawned (pid %d)", self.index, process.pid)

    def send(self, job: Job | None) -> bool:
        """Hand the worker a job (None: exit). False when its pipe is gone: it is dying."""
        if self.tasks is None:
            return False
        try:
            self.tasks.send(job)
        except OSError:
            return False
        return True

    def receive(self, limit: int | None) -> list[Message]:
        """What the worker has sent so far, without waiting: at least `limit` messages when
        that many are there, everything when `limit` is None."""
        messages: list[Message] = []
        while self.events is not None and (limit is None or len(messages) < limit):
            try:
                if not self.events.poll():
                    break
                batch: list[WireMessage] = self.events.recv()
            except (EOFError, OSError):
                self._close_events()
                break
            except Exception:  # a message cut off by a kill mid-write
                log.exception("unreadable message from worker %d; dropping its pipe", self.index)
                self._close_events()
                break
            messages.extend(decode(batch))
        return messages

    def collect(self) -> int | None:
        """Server side, once the process has exited: release it and its pipes; the exit code."""
        process = self.process
        assert process is not None
        process.join(1.0)
        code = process.exitcode
        process.close()
        self._close_events()
        if self.tasks is not None:
            self.tasks.close()
        self.process = self.pid = self.tasks = self.device = None
        self.ready = False
        return code

    def snapshot(self) -> WorkerSnapshot:
        return WorkerSnapshot(
            slot=self.index,
            pid=self.pid,
            ready=self.ready,
            device=self.device,
            run_id=self.run.run_id if self.run is not None else None,
        )

    def _close_events(self) -> None:
        if self.events is not None:
            self.events.close()
            self.events = None
