"""Server side: `RayExecutor`, each run a Ray task on a Ray cluster (TRAINSCOPE_EXECUTOR=ray).

How a run travels (the cluster side is in `ray_remote`):

- **Submit.** Jobs wait in a FIFO queue here until the cluster has room (a GPU for runs that
  may use one when the cluster has GPUs, else a CPU), then become a `train_task` asking Ray for
  `num_gpus=1` (and one CPU) or `num_cpus=1`. The task runs `worker.run_job`, the code local
  workers run. Each dispatch gets a ticket, so a resumed run's old attempt is never confused
  with its new one.
- **Points.** The task batches its events (`Outbox`, ≤ 5 ms) and puts them on the `Mailbox`
  actor; this executor's thread keeps one `take` outstanding on it and hands what comes back to
  `on_events`, decoded exactly as the local executor decodes its pipes.
- **Stop.** The ticket goes into the mailbox's stop set; the task polls it every 0.2 s and its
  `should_stop` says yes, so the loop checkpoints and ends `stopped`. A task still going after
  the grace period is cancelled with `force=True`, which kills its worker process.
- **Deaths.** The task's ObjectRef resolves with an error when its worker process or node dies.
  Its run is then reported like a local worker's death (`slot.died_status`): `interrupted` when
  it left a checkpoint (which the server must see: the data directory is shared storage), else
  `failed`, with Ray's reason. That report waits for one more take from the mailbox, so
  whatever the task sent before it died still comes first.

The queue, stops, the kill after the grace period and delivery are `ExecutorCore`'s; this
module is how Ray dispatches and waits. Callers change bookkeeping under the lock, and the
executor thread picks it up within `POLL_S`. `ray` is imported only here and in
`ray_remote`, lazily: the server imports it when TRAINSCOPE_EXECUTOR=ray and not otherwise.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainscope.jobs.executor import STOPPED_BEFORE_START, ExecutorSnapshot, WorkerSnapshot
from trainscope.jobs.executor_core import ExecutorCore
from trainscope.jobs.job import Job
from trainscope.jobs.messages import Control, JobDone, RunEvent, WireMessage, WorkerReady, decode
from trainscope.jobs.ray_cluster import (
    Attempt,
    describe_loss,
    describe_node,
    execution_environment,
    load_ray,
)
from trainscope.jobs.ray_remote import Mailbox, train_task
from trainscope.jobs.slot import lost_status
from trainscope.schemas.events import Status

log = logging.getLogger(__name__)

POLL_S = 0.1  # how soon the executor thread notices what callers asked for
TAKE_WAIT_S = 0.25  # how long one take waits on the mailbox for something to arrive
RESOURCES_EVERY_S = 2.0  # nodes join and leave: how often the cluster's resources are read
CONNECT_ATTEMPTS = 3  # connecting to the cluster fails this often: its queued runs fail
SHUTDOWN_EXTRA_S = 15.0  # beyond the grace period: time to cancel tasks and leave the cluster


class RayExecutor(ExecutorCore[Attempt]):
    """Runs jobs as Ray tasks on the Ray cluster at `address`.

    `address` is what `ray.init` takes: "auto" (the cluster this machine belongs to, started
    with `ray start`), "host:6379", "ray://host:10001" (Ray Client), or None to start a local
    Ray inside the server (every core; no Ray dashboard). When this process is already
    connected to Ray (`ray.init` called before `start`), that connection is used and left open.
    Every Ray node must have trainscope installed (the same version) and see the data
    directory at the same path. `max_runs` caps the runs training at once (None: as many as
    the cluster has room for). A running run asked to stop has `grace_s` to end.
    """

    kind = "ray"
    shutdown_extra_s = SHUTDOWN_EXTRA_S

    def __init__(
        self,
        address: str | None,
        data_dir: Path,
        grace_s: float = 10.0,
        max_runs: int | None = None,
    ) -> None:
        if max_runs is not None and max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, not {max_runs}")
        load_ray()  # now: a server without Ray should say so before it starts
        super().__init__(grace_s)
        self._address = address or None
        self._max_runs = max_runs
        self._data_dir = data_dir
        self._attempts: dict[int, Attempt] = {}
        self._tickets = itertools.count(1)
        self._connected = False
        self._broken = False  # could not connect: runs fail at once with `_error`
        self._error: str | None = None
        self._owns_ray = False  # we started Ray (or connected) and must shut it down
        self._cpus = 0
        self._gpus = 0
        self._devices: list[str] = []
        self._resources_at = 0.0
        self._cpu_task: Any = None
        self._gpu_task: Any = None
        self._mailbox: Any = None
        self._take_ref: Any = None
        self._take_gen = 0
        self._wakeup = threading.Event()  # wakes the thread while it is not connected

    def snapshot(self) -> ExecutorSnapshot:
        with self._lock:
            attempts = sorted(self._attempts.values(), key=lambda a: a.index)
            slots = self._slots()
            return ExecutorSnapshot(
                kind="ray",
                slots=slots,
                busy=[a.job.run_id for a in attempts if not a.run_ended],
                queued=[j.run_id for j in self._queue],
                devices=list(self._devices),
                # Ray starts a worker process per task on demand: the cluster's room is ready.
                workers_ready=slots if self._connected and not self._closing else 0,
                workers=[
                    WorkerSnapshot(
                        slot=a.index,
                        pid=a.pid,
                        ready=a.ready,
                        device=a.device,
                        run_id=None if a.run_ended else a.job.run_id,
                    )
                    for a in attempts
                    if not a.done  # done: its worker process is free for the next task
                ],
                error=self._error,
            )

    # -- helpers that need the lock held -----------------------------------------------------

    def _seats(self) -> Iterable[Attempt]:
        return self._attempts.values()

    def _hopeless(self) -> str | None:
        return self._error if self._broken else None

    def _wake(self) -> None:
        self._wakeup.set()

    def _slots(self) -> int:
        room = self._gpus or self._cpus
        return room if self._max_runs is None else min(room, self._max_runs)

    def _wants_gpu(self, job: Job) -> bool:
        return self._gpus > 0 and execution_environment(job.spec_json) != "cpu"

    def _fits(self, gpu: bool) -> bool:
        # Every task takes a CPU; GPU tasks a GPU besides. Ray queues what does not fit too,
        # but a queue here keeps first-in-first-out and lets a queued run be stopped cleanly.
        busy = [a for a in self._attempts.values() if not a.done]
        if len(busy) >= self._cpus or (self._max_runs is not None and len(busy) >= self._max_runs):
            return False
        return not gpu or sum(a.gpu for a in busy) < self._gpus

    # -- the executor thread -----------------------------------------------------------------

    def _prepare(self) -> None:
        # ray.init runs on this thread, not the caller's: it takes seconds, and on the main
        # thread it would replace uvicorn's SIGTERM handler with sys.exit. The thread lives
        # until ray.shutdown: a local Ray's processes die with the thread that started them
        # (they are started with a parent-death signal, which is per thread).
        self._connect()

    def _cleanup(self) -> None:
        self._disconnect()
        with self._lock:
            self._connected = False

    def _connect(self) -> None:
        import ray

        where = self._address or "a new local Ray"
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            if self._closing:
                break
            try:
                if not ray.is_initialized():
                    if self._address is None:
                        ray.init(include_dashboard=False)
                    else:
                        ray.init(address=self._address)
                    self._owns_ray = True
                self._cpu_task = ray.remote(num_cpus=1, max_retries=0)(train_task)
                # A GPU task's worker process is never reused (Ray's max_calls=1 for GPUs), so
                # each run gets a CUDA context of its own and leaves no memory behind.
                self._gpu_task = ray.remote(num_cpus=1, num_gpus=1, max_retries=0)(train_task)
                self._start_mailbox()
                self._refresh_resources()
            except Exception as exc:
                message = f"cannot use the Ray cluster at {where}: {type(exc).__name__}: {exc}"
                log.error("%s (attempt %d of %d)", message, attempt, CONNECT_ATTEMPTS)
                with self._lock:
                    self._error = message
                time.sleep(min(2.0**attempt, 10.0))
                continue
            with self._lock:
                self._connected, self._error = True, None
            log.info("Ray executor connected to %s: %s", where, "; ".join(self._devices))
            return
        with self._lock:
            if self._closing:
                return  # queued runs stay queued, as on any shutdown
            self._broken = True
            self._error = self._error or f"the executor shut down before reaching {where}"
            self._fail_queued(self._error)

    def _start_mailbox(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # On the server's own node (soft: Ray Client's driver may sit elsewhere), so the
        # mailbox shares the server's fate rather than some other node's.
        here = ray.get_runtime_context().get_node_id()
        self._mailbox = (
            ray.remote(num_cpus=0, max_restarts=0)(Mailbox)
            .options(scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True))
            .remote()
        )
        self._take_gen += 1
        self._take_ref = self._mailbox.take.remote(TAKE_WAIT_S)

    def _disconnect(self) -> None:
        import ray

        if self._mailbox is not None:
            try:
                ray.kill(self._mailbox)
            except Exception:
                log.debug("could not kill the mailbox actor", exc_info=True)
            self._mailbox = None
        if self._owns_ray:
            self._owns_ray = False
            ray.shutdown()

    def _extra_deadlines(self, now: float) -> Iterable[float]:
        return [now + POLL_S]

    def _wait(self, timeout: float | None) -> list[Any]:
        import ray

        if not self._connected:  # gave up connecting: wait for submits to fail, or shutdown
            self._wakeup.wait(POLL_S)
            self._wakeup.clear()
            return []
        with self._lock:
            refs = [self._take_ref] + [a.ref for a in self._attempts.values() if not a.resolved]
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:  # collect everything that is ready, not just the first
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        if time.monotonic() >= self._resources_at + RESOURCES_EVERY_S:
            self._refresh_resources()
        return list(ready)

    def _collect(self, ready: list[Any], out: list[RunEvent]) -> None:
        for attempt in self._attempts.values():
            if not attempt.resolved and attempt.ref in ready:
                self._resolve(attempt)
        if self._take_ref in ready:
            self._take(out)

    def _advance(self, now: float, out: list[RunEvent]) -> None:
        if self._connected:
            self._dispatch(out)
        if self._closing and not self._attempts:
            self._finished = True

    def _resolve(self, attempt: Attempt) -> None:
        """The task ended (its ObjectRef is ready): note how; report it after the next take."""
        import ray

        attempt.resolved = True
        try:
            ray.get(attempt.ref)
        except Exception as exc:
            attempt.error = exc
        # What the task put on the mailbox before it ended is there now: the take issued
        # after this one (the one outstanding may have started before) is sure to bring it.
        attempt.settle_after = self._take_gen + 1

    def _take(self, out: list[RunEvent]) -> None:
        import ray

        try:
            deliveries: list[tuple[int, list[WireMessage]]] = ray.get(self._take_ref)
        except Exception as exc:
            self._mailbox_lost(exc, out)
            return
        for ticket, batch in deliveries:
            attempt = self._attempts.get(ticket)
            if attempt is None:
                continue  # an attempt already reported (killed): its stragglers are dropped
            self._route(attempt, decode(batch), out)
        for attempt in list(self._attempts.values()):
            if attempt.settle_after is not None and attempt.settle_after <= self._take_gen:
                self._settle(attempt, out)
        self._take_gen += 1
        self._take_ref = self._mailbox.take.remote(TAKE_WAIT_S)

    def _control(self, attempt: Attempt, message: Control, out: list[RunEvent]) -> None:
        if isinstance(message, WorkerReady):
            attempt.ready, attempt.pid, attempt.device = True, message.pid, message.device
        elif isinstance(message, JobDone):
            attempt.done = True

    def _settle(self, attempt: Attempt, out: list[RunEvent]) -> None:
        """The task is over and all it sent is in: report its end unless it did itself."""
        del self._attempts[attempt.ticket]
        if self._mailbox is not None:
            self._mailbox.forget.remote(attempt.ticket)
        if attempt.run_ended:
            return
        run_id = attempt.job.run_id
        if attempt.killed_for is not None:
            message = attempt.killed_for if attempt.ready else STOPPED_BEFORE_START
            out.append((run_id, Status("stopped", message=message)))
        elif attempt.error is not None:
            out.append((run_id, lost_status(attempt.job, describe_loss(attempt.error))))
        else:
            why = "the run's Ray task ended without a final status"
            out.append((run_id, lost_status(attempt.job, why)))

    def _mailbox_lost(self, exc: BaseException, out: list[RunEvent]) -> None:
        """The mailbox actor died (its node left): no run can be heard from any more. End
        them all, as lost, and start a new mailbox for the runs to come."""
        import ray

        log.error("the Ray mailbox actor was lost: %s", exc)
        why = f"lost contact with the run: trainscope's mailbox actor died ({type(exc).__name__})"
        for attempt in list(self._attempts.values()):
            if not attempt.resolved:
                try:
                    ray.cancel(attempt.ref, force=True)
                except Exception:
                    log.debug("could not cancel run %d", attempt.job.run_id, exc_info=True)
            del self._attempts[attempt.ticket]
            if not attempt.run_ended:
                out.append((attempt.job.run_id, lost_status(attempt.job, why)))
        self._start_mailbox()

    def _ask_stop(self, attempt: Attempt) -> None:
        # On the caller's thread (Ray's calls are thread-safe); `.remote` only queues the call.
        if self._mailbox is not None:  # None: the executor thread ended, and with it the runs
            self._mailbox.stop.remote(attempt.ticket)  # the task's next poll sees it

    def _alive(self, attempt: Attempt) -> bool:
        return not attempt.resolved

    def _kill(self, attempt: Attempt) -> float | None:
        import ray

        try:
            ray.cancel(attempt.ref, force=True)  # its worker process exits at once
        except Exception:
            log.warning("could not cancel run %d", attempt.job.run_id, exc_info=True)
        return None

    def _dispatch(self, out: list[RunEvent]) -> None:
        if self._closing:
            return
        for job in list(self._queue):
            gpu = self._wants_gpu(job)
            if not self._fits(gpu):
                continue
            self._queue.remove(job)
            ticket = next(self._tickets)
            task = self._gpu_task if gpu else self._cpu_task
            try:
                # The name shows in the worker's process title: `ray::trainscope-run-<id>`.
                ref = task.options(name=f"trainscope-run-{job.run_id}").remote(
                    job, ticket, self._mailbox
                )
            except Exception as exc:
                log.exception("could not submit run %d to Ray", job.run_id)
                message = f"could not submit the run to Ray: {type(exc).__name__}: {exc}"
                out.append((job.run_id, Status("failed", message=message)))
                continue
            used = {a.index for a in self._attempts.values()}
            index = next(i for i in itertools.count() if i not in used)
            self._attempts[ticket] = Attempt(job, ticket, gpu, ref, index)

    def _refresh_resources(self) -> None:
        """Outside the lock: asks the cluster (one request to its control store)."""
        import ray

        self._resources_at = time.monotonic()
        try:
            nodes = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
        except Exception:
            log.warning("could not read the Ray cluster's nodes", exc_info=True)
            return
        cpus = sum(int((n.get("Resources") or {}).get("CPU", 0)) for n in nodes)
        gpus = sum(int((n.get("Resources") or {}).get("GPU", 0)) for n in nodes)
        with self._lock:
            self._cpus, self._gpus = cpus, gpus
            self._devices = [describe_node(n) for n in nodes]
