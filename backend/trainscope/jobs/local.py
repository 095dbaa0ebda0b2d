"""Server side: `LocalExecutor`, pre-warmed worker processes on this machine, one per slot.

Two kinds of threads touch it. Callers (submit, stop, snapshot, shutdown) only change the
bookkeeping under a lock and wake the executor thread. The executor thread does the rest: it
spawns workers, reads their events, notices deaths, kills workers that ignore a stop, hands
queued jobs to idle workers and calls `on_events`. Since one thread does all that, a run's
events and the statuses the executor adds for it (killed, died) come out in order.

Each worker has pipes of its own rather than a share of one multiprocessing.Queue: a worker
killed while writing to a shared queue can leave it garbled, or its lock held, for every other
worker; a private pipe dies with its worker, and its end-of-file tells that the worker is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from pathlib import Path

from trainscope.jobs.executor import (
    STOPPED_BEFORE_START,
    ExecutorSnapshot,
    OnEvents,
)
from trainscope.jobs.gpus import count_gpus
from trainscope.jobs.job import Job
from trainscope.jobs.messages import Control, JobDone, RunEvent, WorkerBroken, WorkerReady
from trainscope.jobs.slot import Slot, died_status
from trainscope.jobs.worker import NO_RUN
from trainscope.schemas.events import Status

log = logging.getLogger(__name__)

READ_LIMIT = 1000  # events taken from one worker before the others get their turn
EXIT_WAIT_S = 5.0  # shutdown: how long an idle worker has to exit after its sentinel
MAX_STARTUP_FAILURES = 3  # a slot whose worker dies this often before it is ready gives up
MAX_RESPAWN_DELAY_S = 30.0


class LocalExecutor:
    """Runs jobs on spawned worker processes on this machine.

    One slot per GPU when there are GPUs (`slots` is then ignored), else `slots` CPU slots
    (TRAINSCOPE_MAX_RUNS; None means 1). Workers are spawned, never forked (CUDA does not
    survive a fork), by `start()`, which returns at once; jobs submitted before a worker is
    ready wait in the queue. A running run asked to stop has `grace_s` to checkpoint and end
    before its worker is killed and replaced. `data_dir` is where the workers' warm-up run
    would find data (it generates its own, so nothing is read there today).
    """

    def __init__(self, slots: int | None, data_dir: Path, grace_s: float = 10.0) -> None:
        if slots is not None and slots < 1:
            raise ValueError(f"slots must be at least 1, not {slots}")
        self._cpu_slots = slots or 1
        self._data_dir = data_dir
        self._grace_s = grace_s
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._slots: list[Slot] = []
        self._injected: list[RunEvent] = []  # statuses made by callers, for the next batch
        self._gpus_known = False  # False: the first ready worker says how many GPUs there are
        self._on_events: OnEvents | None = None
        self._thread: threading.Thread | None = None
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        self._closing = False
        self._finished = False

    # -- the caller's side -------------------------------------------------------------------

    def start(self, on_events: OnEvents) -> None:
        with self._lock:
            if self._thread is not None or self._closing:
                raise RuntimeError("a LocalExecutor starts once")
            self._on_events = on_events
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._thread = threading.Thread(
                target=self._supervise, name="trainscope-executor", daemon=True
            )
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closing:
                raise RuntimeError("the executor is shut down")
            if any(j.run_id == job.run_id for j in self._queue) or self._running(job.run_id):
                raise ValueError(f"run {job.run_id} is already queued or running")
            if self._slots and all(s.broken for s in self._slots):
                self._injected.append((job.run_id, Status("failed", message=self._hopeless())))
            else:
                self._queue.append(job)
            self._wake()

    def stop(self, run_id: int) -> bool:
        with self._lock:
            queued = next((j for j in self._queue if j.run_id == run_id), None)
            if queued is not None:
                self._queue.remove(queued)
                self._injected.append((run_id, Status("stopped", message=STOPPED_BEFORE_START)))
            else:
                slot = self._running(run_id)
                if slot is None:
                    return False
                self._request_stop(slot, self._grace_s, time.monotonic())
            self._wake()
            return True

    def shutdown(self, grace_s: float) -> None:
        with self._lock:
            if not self._closing:
                self._closing = True
                now = time.monotonic()
                for slot in self._slots:
                    if slot.run is not None:  # ended ones too: the deadline bounds the wait
                        self._request_stop(slot, grace_s, now)
            thread = self._thread
            self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(grace_s + EXIT_WAIT_S + 5.0)

    def snapshot(self) -> ExecutorSnapshot:
        with self._lock:
            workers = [s.snapshot() for s in self._slots]
            return ExecutorSnapshot(
                kind="local",
                slots=len(self._slots),
                busy=[w["run_id"] for w in workers if w["run_id"] is not None],
                queued=[j.run_id for j in self._queue],
                devices=[w["device"] for w in workers if w["ready"] and w["device"]],
                workers_ready=sum(w["ready"] for w in workers),
                workers=workers,
                error=next((s.error for s in self._slots if s.error), None),
            )

    # -- helpers that need the lock held -----------------------------------------------------

    def _running(self, run_id: int) -> Slot | None:
        """The slot training `run_id`. A run whose final Status went by counts as over: it can
        no longer be stopped, and it may be submitted again (resumed) at once."""
        return next(
            (
                s
                for s in self._slots
                if s.run is not None and s.run.run_id == run_id and not s.run_ended
            ),
            None,
        )

    def _request_stop(self, slot: Slot, grace_s: float, now: float) -> None:
        assert slot.run is not None
        if slot.killed_for is not None:
            return  # already being killed
        slot.stop_cell.value = slot.run.run_id  # the loop sees it within one iteration
        deadline = now + grace_s
        if slot.stop_deadline is None or deadline < slot.stop_deadline:
            slot.stop_deadline, slot.stop_grace_s = deadline, grace_s

    def _wake(self) -> None:
        if self._wake_w is None:
            return  # not started yet, or finished: nothing to wake
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending already
            os.write(self._wake_w, b"\0")

    def _hopeless(self) -> str:
        errors = [s.error for s in self._slots if s.error]
        return "no worker process could start" + (f": {errors[-1]}" if errors else "")

    # -- the executor thread -----------------------------------------------------------------

    def _supervise(self) -> None:
        """Server side, on the executor thread: find the devices, spawn, then serve."""
        try:
            gpus = count_gpus(os.environ)  # here, not in start(): nvidia-smi can take a second
            with self._lock:
                self._gpus_known = gpus is not None
                self._add_slots(gpus or self._cpu_slots)
            while not self._finished:
                self._step()
        except Exception:
            log.exception("the executor thread failed; its runs will report nothing more")
        finally:
            with self._lock:
                self._finished = True
                for fd in (self._wake_r, self._wake_w):
                    if fd is not None:
                        os.close(fd)
                self._wake_r = self._wake_w = None

    def _step(self) -> None:
        with self._lock:
            assert self._wake_r is not None
            waitables: list[Connection | int] = [self._wake_r]
            for slot in self._slots:
                if slot.events is not None:
                    waitables.append(slot.events)
                if slot.process is not None:
                    waitables.append(slot.process.sentinel)
            timeout = self._timeout(time.monotonic())
        ready = wait(waitables, timeout)
        out: list[RunEvent] = []
        with self._lock:
            self._drain_wake()
            out.extend(self._injected)
            self._injected.clear()
            for slot in list(self._slots):
                if slot.events is not None and slot.events in ready:
                    self._read(slot, out, READ_LIMIT)
            for slot in list(self._slots):
                if slot.process is not None and slot.process.sentinel in ready:
                    self._reap(slot, out)
            now = time.monotonic()
            self._kill_overdue(now)
            self._respawn_due(now)
            self._dispatch()
            if self._closing:
                self._wind_down(now)
        if out:
            self._deliver(out)

    def _timeout(self, now: float) -> float | None:
        times = [
            t
            for s in self._slots
            for t in (s.stop_deadline, s.respawn_at, s.exit_deadline)
            if t is not None
        ]
        return max(0.0, min(times) - now) if times else None

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _deliver(self, out: list[RunEvent]) -> None:
        """Outside the lock: on_events may take a while (the database's busy timeout)."""
        assert self._on_events is not None
        try:
            to_stop = self._on_events(out)
        except Exception:
            log.exception("on_events failed; %d events of this batch are lost", len(out))
            return
        # Runs whose events could not be stored: they have failed, training on is waste.
        for run_id in to_stop or ():
            self.stop(run_id)

    def _add_slots(self, total: int) -> None:
        new = [
            Slot(i, self._ctx.RawValue(ctypes.c_int64, NO_RUN))
            for i in range(len(self._slots), total)
        ]
        self._slots.extend(new)  # all of them first: a worker's CPU share counts every slot
        for slot in new:
            if not self._closing:
                self._spawn_worker(slot)

    def _spawn_worker(self, slot: Slot) -> None:
        try:
            slot.spawn(self._ctx, len(self._slots), self._data_dir)
        except Exception as exc:
            # Out of processes or memory (OSError), or a __main__ without the spawn guard
            # (RuntimeError): note it on the slot and retry later; never end this thread.
            self._startup_failed(slot, f"cannot start a worker: {type(exc).__name__}: {exc}")

    def _read(self, slot: Slot, out: list[RunEvent], limit: int | None) -> None:
        """Take what the worker of `slot` has sent (all of it when `limit` is None)."""
        for message in slot.receive(limit):
            if isinstance(message, tuple):
                out.append(message)
                run = slot.run
                if isinstance(message[1], Status) and run and run.run_id == message[0]:
                    slot.run_ended = True
            else:
                self._control(slot, message)

    def _control(self, slot: Slot, message: Control) -> None:
        if isinstance(message, JobDone):
            if slot.run is not None and slot.run.run_id == message.run_id:
                slot.run, slot.run_ended = None, False
                slot.stop_deadline = None
        elif isinstance(message, WorkerReady):
            slot.ready, slot.device = True, message.device
            slot.startup_failures, slot.error = 0, None
            log.info(
                "worker %d ready on %s after %.1f s", slot.index, message.device, message.warmup_s
            )
            if not self._gpus_known:
                # nvidia-smi could not tell: the first worker's torch can.
                self._gpus_known = True
                if message.gpu_count > len(self._slots) and not self._closing:
                    self._add_slots(message.gpu_count)
        elif isinstance(message, WorkerBroken):
            slot.error = message.message

    def _reap(self, slot: Slot, out: list[RunEvent]) -> None:
        """Server side: the worker of `slot` exited. Report its run; plan a replacement."""
        self._read(slot, out, None)  # what it sent before it died comes first
        was_ready, killed_for = slot.ready, slot.killed_for
        code = slot.collect()
        slot.killed_for, slot.stop_deadline, slot.exit_deadline = None, None, None
        if slot.run is not None and not slot.run_ended:
            if killed_for is not None:
                status = Status("stopped", message=killed_for)
            else:
                status = died_status(slot.run, code)
            out.append((slot.run.run_id, status))
        slot.run, slot.run_ended = None, False
        if self._closing:
            return
        if was_ready or killed_for:
            log.warning("worker %d exited (exit code %s); starting another", slot.index, code)
            slot.respawn_at = time.monotonic()
        else:
            self._startup_failed(slot, f"worker exited (exit code {code}) while starting")

    def _startup_failed(self, slot: Slot, reason: str) -> None:
        slot.error = slot.error or reason
        slot.startup_failures += 1
        if slot.startup_failures < MAX_STARTUP_FAILURES:
            delay = min(2.0 ** (slot.startup_failures - 1), MAX_RESPAWN_DELAY_S)
            log.warning(
                "worker %d failed to start (%s); retrying in %g s", slot.index, reason, delay
            )
            slot.respawn_at = time.monotonic() + delay
            return
        slot.broken = True
        log.error(
            "worker %d failed to start %d times; giving up: %s",
            slot.index,
            slot.startup_failures,
            slot.error,
        )
        if all(s.broken for s in self._slots):
            # Nothing will ever run the queued jobs: say so now rather than leave them waiting.
            message = self._hopeless()
            self._injected.extend(
                (j.run_id, Status("failed", message=message)) for j in self._queue
            )
            self._queue.clear()
            self._wake()

    def _kill_overdue(self, now: float) -> None:
        for slot in self._slots:
            if slot.stop_deadline is not None and now >= slot.stop_deadline:
                slot.stop_deadline = None
                if slot.process is not None and slot.killed_for is None:
                    slot.killed_for = f"killed after {slot.stop_grace_s:g} s grace period"
                    slot.process.kill()  # the reap that follows reports the run as stopped

    def _respawn_due(self, now: float) -> None:
        for slot in self._slots:
            if slot.respawn_at is not None and now >= slot.respawn_at:
                slot.respawn_at = None
                if not self._closing:
                    self._spawn_worker(slot)

    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue or self._closing:
                return
            if not slot.ready or slot.run is not None or slot.tasks is None or slot.killed_for:
                continue
            job = self._queue.popleft()
            # Reset before sending: a resumed run keeps its id, and an old stop must not end it.
            slot.stop_cell.value = NO_RUN
            if not slot.send(job):  # the worker just died: its reap comes; the job waits
                self._queue.appendleft(job)
                slot.ready = False
                continue
            slot.run, slot.run_ended = job, False

    def _wind_down(self, now: float) -> None:
        """Shutdown: once a slot's run has ended, tell its worker to exit; kill stragglers."""
        for slot in self._slots:
            slot.respawn_at = None
            if slot.process is None or slot.run is not None:
                continue
            if slot.exit_deadline is None:
                slot.exit_deadline = now + EXIT_WAIT_S
                if slot.ready:
                    slot.send(None)  # False: already gone, and its reap comes
                else:
                    slot.process.kill()  # still warming up: nothing to lose
            elif now >= slot.exit_deadline:
                slot.exit_deadline = now + EXIT_WAIT_S
                slot.process.kill()
        if all(s.process is None for s in self._slots):
            self._finished = True
