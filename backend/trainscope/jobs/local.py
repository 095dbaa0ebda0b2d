"""Server side: `LocalExecutor`, pre-warmed worker processes on this machine, one per slot.

The queue, stops, kills after the grace period and delivery are `ExecutorCore`'s; this module
is how a local executor dispatches and waits: its thread spawns workers, waits on their pipes
and process sentinels, notices deaths (and replaces the workers), and hands queued jobs to
idle workers.

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
import time
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from trainscope.jobs.executor import ExecutorSnapshot
from trainscope.jobs.executor_core import ExecutorCore
from trainscope.jobs.gpus import count_gpus
from trainscope.jobs.messages import Control, JobDone, RunEvent, WorkerBroken, WorkerReady
from trainscope.jobs.slot import Slot, died_status, ended_unreported
from trainscope.jobs.worker import NO_RUN
from trainscope.schemas.events import Status

log = logging.getLogger(__name__)

READ_LIMIT = 1000  # events taken from one worker before the others get their turn
EXIT_WAIT_S = 5.0  # shutdown: how long an idle worker has to exit after its sentinel
MAX_STARTUP_FAILURES = 3  # a slot whose worker dies this often before it is ready gives up
MAX_RESPAWN_DELAY_S = 30.0


class LocalExecutor(ExecutorCore[Slot]):
    """Runs jobs on spawned worker processes on this machine.

    One slot per GPU when there are GPUs (`slots` is then ignored), else `slots` CPU slots
    (TRAINSCOPE_MAX_RUNS; None means 1). Workers are spawned, never forked (CUDA does not
    survive a fork), by `start()`, which returns at once; jobs submitted before a worker is
    ready wait in the queue. A running run asked to stop has `grace_s` to checkpoint and end
    before its worker is killed and replaced. `data_dir` is where the workers' warm-up run
    would find data (it generates its own, so nothing is read there today).
    """

    kind = "local"
    shutdown_extra_s = EXIT_WAIT_S + 5.0

    def __init__(self, slots: int | None, data_dir: Path, grace_s: float = 10.0) -> None:
        if slots is not None and slots < 1:
            raise ValueError(f"slots must be at least 1, not {slots}")
        super().__init__(grace_s)
        self._cpu_slots = slots or 1
        self._data_dir = data_dir
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list[Slot] = []
        self._gpus_known = False  # False: the first ready worker says how many GPUs there are
        self._wake_r: int | None = None
        self._wake_w: int | None = None

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

    # -- the core's hooks: waking and waiting ------------------------------------------------

    def _seats(self) -> Iterable[Slot]:
        return self._slots

    def _open(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def _wake(self) -> None:
        if self._wake_w is None:
            return  # not started yet, or finished: nothing to wake
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending already
            os.write(self._wake_w, b"\0")

    def _hopeless(self) -> str | None:
        if self._slots and all(s.broken for s in self._slots):
            return self._no_worker()
        return None

    def _prepare(self) -> None:
        """Find the devices, then spawn a worker per slot."""
        gpus = count_gpus(os.environ)  # here, not in start(): nvidia-smi can take a second
        with self._lock:
            self._gpus_known = gpus is not None
            self._add_slots(gpus or self._cpu_slots)

    def _cleanup(self) -> None:
        with self._lock:
            for fd in (self._wake_r, self._wake_w):
                if fd is not None:
                    os.close(fd)
            self._wake_r = self._wake_w = None

    def _extra_deadlines(self, now: float) -> Iterable[float]:
        return [t for s in self._slots for t in (s.respawn_at, s.exit_deadline) if t is not None]

    def _wait(self, timeout: float | None) -> Sequence[object]:
        with self._lock:
            assert self._wake_r is not None
            waitables: list[Connection | int] = [self._wake_r]
            for slot in self._slots:
                if slot.events is not None:
                    waitables.append(slot.events)
                if slot.process is not None:
                    waitables.append(slot.process.sentinel)
        return wait(waitables, timeout)

    def _collect(self, ready: Sequence[object], out: list[RunEvent]) -> None:
        self._drain_wake()
        for slot in list(self._slots):
            if slot.events is not None and slot.events in ready:
                self._route(slot, slot.receive(READ_LIMIT), out)
        for slot in list(self._slots):
            if slot.process is not None and slot.process.sentinel in ready:
                self._reap(slot, out)

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    # -- the core's hooks: stopping ----------------------------------------------------------

    def _ask_stop(self, slot: Slot) -> None:
        assert slot.run is not None
        slot.stop_cell.value = slot.run.run_id  # the loop sees it within one iteration

    def _alive(self, slot: Slot) -> bool:
        return slot.process is not None

    def _kill(self, slot: Slot) -> float | None:
        assert slot.process is not None
        slot.process.kill()  # the reap that follows reports the run as stopped
        return None

    # -- workers -----------------------------------------------------------------------------

    def _no_worker(self) -> str:
        errors = [s.error for s in self._slots if s.error]
        return "no worker process could start" + (f": {errors[-1]}" if errors else "")

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

    def _control(self, slot: Slot, message: Control, out: list[RunEvent]) -> None:
        if isinstance(message, JobDone):
            if slot.run is not None and slot.run.run_id == message.run_id:
                if not slot.run_ended:
                    # The worker lived on but could not say how the run ended (it failed while
                    # reporting): say it for it, or the run would read `running` for good.
                    out.append((message.run_id, ended_unreported(slot.run)))
                slot.run = None
                slot.reset_run()
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
        self._route(slot, slot.receive(None), out)  # what it sent before it died comes first
        was_ready, killed_for = slot.ready, slot.killed_for
        code = slot.collect()
        slot.killed_for, slot.kills, slot.exit_deadline = None, 0, None
        if slot.run is not None and not slot.run_ended:
            if killed_for is not None:
                status = Status("stopped", message=killed_for)
            else:
                status = died_status(slot.run, code)
            out.append((slot.run.run_id, status))
        slot.run = None
        slot.reset_run()
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
            self._fail_queued(self._no_worker())

    def _advance(self, now: float, out: list[RunEvent]) -> None:
        self._respawn_due(now)
        self._dispatch()
        if self._closing:
            self._wind_down(now)

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
            slot.run = job
            slot.reset_run()

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
