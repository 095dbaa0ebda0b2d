"""Server side: `ExecutorCore`, the bookkeeping every executor shares, and `Seat`.

An executor is this core plus how it dispatches a job and waits for what comes back. The core
holds the FIFO queue, the statuses callers make (a queued run stopped, a run that can never
start), stop requests with their deadline and the kill once the grace period is over, the
routing of a worker's messages (run events out, control messages to the executor) and the
delivery to `on_events`, with the runs `on_events` could not store stopped. It implements
`submit`, `stop` and `shutdown` of the `Executor` interface; `snapshot` is the executor's own.

Threads. Callers (submit, stop, shutdown, snapshot) only change bookkeeping under `_lock`,
ask runs to stop, and `_wake()` the executor thread. The executor thread does everything else,
one `_step()` at a time: `_wait` (outside the lock), then under the lock the injected statuses,
`_collect`, the kills of runs past their grace period and `_advance`, then `_deliver` outside
the lock again. Since one thread does all that, a run's events and the statuses the executor
adds for it come out in order.

A `Seat` is where one run trains: a local worker's slot, one Ray task. It carries the core's
per-run stop state; the executor's subclass adds its own (a process, a pipe, an ObjectRef).

Adding an executor: subclass `Seat` and `ExecutorCore[YourSeat]` and write these hooks. They
run on the executor thread with `_lock` held, except `_prepare`, `_wait` and `_cleanup` (the
executor thread, no lock), `_open` (the caller of `start`, lock held), `_ask_stop` (the caller
of `stop` or `shutdown`, lock held: it must not block) and `_wake` (any thread).

- `_seats()`: the seats that hold a run now (or are still being killed).
- `_open()` (optional): in `start`, before the thread exists (a wake-up pipe).
- `_prepare()`: first thing on the executor thread (find devices, connect, spawn workers);
  `_cleanup()` (optional): the last thing, once `_finished` is set (close, disconnect).
- `_wait(timeout)`: block until something may have happened, at most `timeout` seconds (None:
  until `_wake`); returns whatever tells `_collect` what is ready.
- `_wake()`: make a pending or the next `_wait` return at once; any thread.
- `_collect(ready, out)`: read what the seats sent, through `_route(seat, messages, out)`, and
  append to `out` the status of any run whose seat ended without one (dead, killed: a seat
  whose `killed_for` is set reports `Status("stopped", message=seat.killed_for)`).
- `_control(seat, message)`: a control message (`WorkerReady`, `JobDone`, ...) from a seat.
- `_advance(now, out)`: dispatch queued jobs (`self._queue.popleft()`) to free seats, and on
  shutdown (`_closing`) end the workers and set `_finished` once nothing is left.
- `_ask_stop(seat)`: ask the seat's run to stop gracefully; called once per run, at once.
- `_alive(seat)` and `_kill(seat)`: whether something still trains the seat's run, and end
  it. `_kill` returns None, or the seconds after which it is called again if the run is still
  not reported by then (`seat.kills` counts the calls so far), for kills in steps.
- `_hopeless()` (optional): why no job can ever start here (submits then fail at once), or None.
- `_extra_deadlines(now)` (optional): other times `_wait` must return by (respawns, polls).

A third executor, a user's training script as its own OS process, needs little more than that:
its `Seat` holds the `subprocess.Popen` (started in `_advance` with `start_new_session=True`,
so it leads its own process group) and two reader threads that put the stdout and stderr lines
on a queue and `_wake()` the core; `_wait` waits on that wake-up, `_collect` turns the lines
into messages for `_route` and reports a process that exited without a final status (its
stdout's end can come before it can be reaped: `_extra_deadlines` then polls again soon);
`_ask_stop` asks the script (the SDK's should_stop) and sends SIGINT to the group; `_kill`
sends SIGTERM to the group and returns a few seconds, then on its second call
(`seat.kills == 1`) SIGKILL and None; `_alive` is `popen.poll() is None`. The test module
tests/jobs/test_executor_core.py holds such an executor in about 100 lines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from trainscope.jobs.executor import STOPPED_BEFORE_START, OnEvents
from trainscope.jobs.job import Job
from trainscope.jobs.messages import Control, Message, RunEvent
from trainscope.schemas.events import Status

log = logging.getLogger(__name__)


@dataclass(eq=False, kw_only=True)
class Seat:
    """Where one run trains, with the core's stop bookkeeping for that run."""

    run_ended: bool = False  # its final Status went by; the seat is still tidying up
    stop_deadline: float | None = None  # `_kill`ed if the run has not ended by then
    stop_grace_s: float = 0.0
    stop_asked: bool = False  # `_ask_stop` was called for this run
    killed_for: str | None = None  # the message of the `stopped` status the kill reports
    kills: int = 0  # `_kill` calls so far

    def current(self) -> Job | None:
        """The job this seat trains now (its subclass names it as it likes)."""
        raise NotImplementedError

    def reset_run(self) -> None:
        """The run left the seat (or a new one took it): forget its stop request."""
        self.run_ended, self.stop_deadline, self.stop_asked = False, None, False


S = TypeVar("S", bound=Seat)


class ExecutorCore(Generic[S]):
    """What every executor does the same way; the hooks (see the module) are how it differs."""

    kind: ClassVar[str]  # "local", "ray": the snapshot's kind
    shutdown_extra_s: ClassVar[float]  # how long shutdown waits beyond the grace period

    def __init__(self, grace_s: float) -> None:
        self._grace_s = grace_s
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._injected: list[RunEvent] = []  # statuses made by callers, for the next batch
        self._on_events: OnEvents | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._finished = False

    # -- the caller's side -------------------------------------------------------------------

    def start(self, on_events: OnEvents) -> None:
        with self._lock:
            if self._thread is not None or self._closing:
                raise RuntimeError(f"a {type(self).__name__} starts once")
            self._on_events = on_events
            self._open()
            self._thread = threading.Thread(
                target=self._supervise, name=f"trainscope-{self.kind}-executor", daemon=True
            )
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closing:
                raise RuntimeError("the executor is shut down")
            if any(j.run_id == job.run_id for j in self._queue) or self._running(job.run_id):
                raise ValueError(f"run {job.run_id} is already queued or running")
            hopeless = self._hopeless()
            if hopeless is not None:
                self._injected.append((job.run_id, Status("failed", message=hopeless)))
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
                seat = self._running(run_id)
                job = seat.current() if seat is not None else None
                if seat is None or job is None:
                    return False
                self._request_stop(seat, job.grace_s(self._grace_s), time.monotonic())
            self._wake()
            return True

    def shutdown(self, grace_s: float) -> None:
        with self._lock:
            if not self._closing:
                self._closing = True
                now = time.monotonic()
                for seat in self._seats():
                    job = seat.current()
                    if job is not None:  # ended ones too: the deadline bounds the wait
                        self._request_stop(seat, job.grace_s(grace_s), now)
            thread = self._thread
            self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(grace_s + self.shutdown_extra_s)

    # -- bookkeeping, with the lock held -----------------------------------------------------

    def _running(self, run_id: int) -> S | None:
        """The seat training `run_id`. A run whose final Status went by counts as over: it can
        no longer be stopped, and it may be submitted again (resumed) at once."""
        return next(
            (
                s
                for s in self._seats()
                if (job := s.current()) is not None and job.run_id == run_id and not s.run_ended
            ),
            None,
        )

    def _request_stop(self, seat: S, grace_s: float, now: float) -> None:
        if seat.killed_for is not None:
            return  # already being killed
        deadline = now + grace_s
        if seat.stop_deadline is None or deadline < seat.stop_deadline:
            seat.stop_deadline, seat.stop_grace_s = deadline, grace_s
        if not seat.stop_asked:
            seat.stop_asked = True
            self._ask_stop(seat)  # at once: the executor thread may be busy delivering

    def _fail_queued(self, message: str) -> None:
        """Nothing will ever run the queued jobs: say so now rather than leave them waiting."""
        self._injected.extend((j.run_id, Status("failed", message=message)) for j in self._queue)
        self._queue.clear()
        self._wake()

    def _route(self, seat: S, messages: Iterable[Message], out: list[RunEvent]) -> None:
        """A seat's messages: run events to `out` (noting its run's final Status), control
        messages to `_control`."""
        for message in messages:
            if isinstance(message, tuple):
                out.append(message)
                job = seat.current()
                if isinstance(message[1], Status) and job is not None and job.run_id == message[0]:
                    seat.run_ended = True
            else:
                self._control(seat, message, out)

    def _kill_overdue(self, now: float) -> None:
        """Kill the runs still going after their grace period (in steps, if `_kill` says)."""
        for seat in self._seats():
            deadline = seat.stop_deadline
            if deadline is None or now < deadline:
                continue
            seat.stop_deadline = None
            if not self._alive(seat):
                continue  # ended meanwhile: its end is (being) reported as it is
            if seat.killed_for is None:
                seat.killed_for = f"killed after {seat.stop_grace_s:g} s grace period"
            again = self._kill(seat)
            seat.kills += 1
            if again is not None:
                seat.stop_deadline = now + again

    def _next_deadline(self, now: float) -> float | None:
        """Seconds until the executor thread must look again (None: only when woken)."""
        times = [s.stop_deadline for s in self._seats() if s.stop_deadline is not None]
        times.extend(self._extra_deadlines(now))
        return max(0.0, min(times) - now) if times else None

    # -- the executor thread -----------------------------------------------------------------

    def _supervise(self) -> None:
        try:
            self._prepare()
            while not self._finished:
                self._step()
        except Exception:
            log.exception("the %s executor thread failed; its runs report nothing more", self.kind)
        finally:
            with self._lock:
                self._finished = True
            self._cleanup()

    def _step(self) -> None:
        with self._lock:
            timeout = self._next_deadline(time.monotonic())
        ready = self._wait(timeout)
        out: list[RunEvent] = []
        with self._lock:
            out.extend(self._injected)
            self._injected.clear()
            self._collect(ready, out)
            now = time.monotonic()
            self._kill_overdue(now)
            self._advance(now, out)
        if out:
            self._deliver(out)

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

    # -- the hooks an executor writes (see the module's docstring) ---------------------------

    def _seats(self) -> Iterable[S]:
        raise NotImplementedError

    def _open(self) -> None:
        """In `start`, with the lock held, before the executor thread exists."""

    def _prepare(self) -> None:
        raise NotImplementedError

    def _cleanup(self) -> None:
        """Last thing on the executor thread, without the lock: release what `_prepare` got."""

    def _wait(self, timeout: float | None) -> Any:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError

    def _collect(self, ready: Any, out: list[RunEvent]) -> None:
        raise NotImplementedError

    def _control(self, seat: S, message: Control, out: list[RunEvent]) -> None:
        raise NotImplementedError

    def _advance(self, now: float, out: list[RunEvent]) -> None:
        raise NotImplementedError

    def _ask_stop(self, seat: S) -> None:
        raise NotImplementedError

    def _alive(self, seat: S) -> bool:
        raise NotImplementedError

    def _kill(self, seat: S) -> float | None:
        raise NotImplementedError

    def _hopeless(self) -> str | None:
        return None

    def _extra_deadlines(self, now: float) -> Iterable[float]:
        return ()
