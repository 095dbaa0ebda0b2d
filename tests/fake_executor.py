"""Executors without worker processes or torch, for the in-process test tier.

Both implement the server's `Executor` interface (jobs/executor.py), so `create_app(settings,
executor=...)` runs the real routers, service, pipeline, store, hub and doctor on top of them:

- `RecordingExecutor` takes jobs and trains none (what the server does with a request).
- `ScriptedExecutor` "trains" each job on one thread as a worker would report it: `Started`, one
  engine-shaped `Point` per iteration (validation every `validation_frequency`), a test point,
  a confusion matrix and a final `Status`, paced so that a run is seen running, streaming and
  stoppable. Stop, queue order, "stopped before it started" and the pipeline's "stop these"
  answer follow the contract that `LocalExecutor` follows.

What only real processes show (kills, restarts, warm workers, no libtorch in the server) stays
with the real-server tests in tests/web/conftest.py.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from trainscope.jobs.executor import STOPPED_BEFORE_START, ExecutorSnapshot, OnEvents
from trainscope.jobs.job import Job
from trainscope.jobs.messages import RunEvent
from trainscope.schemas.events import Artefact, Event, Point, Started, Status
from trainscope.schemas.spec import RunSpec


@dataclass
class RecordingExecutor:
    """Takes jobs and runs none: the server's side of a create, without worker processes."""

    jobs: list[Job] = field(default_factory=list)

    def start(self, on_events: OnEvents) -> None:
        pass

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    def stop(self, run_id: int) -> bool:
        return False

    def shutdown(self, grace_s: float) -> None:
        pass

    def snapshot(self) -> ExecutorSnapshot:
        return ExecutorSnapshot(
            kind="recording",
            slots=1,
            busy=[],
            queued=[j.run_id for j in self.jobs],
            devices=["cpu"],
            workers_ready=1,
            workers=[],
            error=None,
        )


@dataclass
class _Training:
    """One job on a fake slot: where it is and what it has left."""

    job: Job
    spec: RunSpec
    per_epoch: int
    max_iterations: int
    seq: int = 0
    iteration: int = 0
    stopping: bool = False

    @classmethod
    def of(cls, job: Job) -> _Training:
        spec = RunSpec.model_validate_json(job.spec_json)
        opts = spec.options
        samples = spec.dataset.train_samples() if spec.dataset is not None else None
        per_epoch = max(1, math.ceil((samples or 384) / opts.mini_batch_size))
        seq = (job.persisted_seq or 0) if job.resume else 0
        return cls(job, spec, per_epoch, per_epoch * opts.max_epochs, seq=seq, iteration=seq)

    def started(self) -> Started:
        return Started(
            device="cpu (scripted)",
            task="classification",
            n_train=self.per_epoch * self.spec.options.mini_batch_size,
            n_val=120,
            n_test=120,
            iterations_per_epoch=self.per_epoch,
            max_iterations=self.max_iterations,
            num_parameters=1000,
            class_names=["0", "1"],
            resumed_from_iteration=self.iteration,
            layers=["fc", "relu", "fc", "softmax"],
        )

    def point(self, values: dict[str, float]) -> Point:
        self.seq += 1
        epoch = 1 + (self.iteration - 1) // self.per_epoch
        return Point(self.seq, self.iteration, epoch, time.time(), values)

    def step(self) -> Point:
        """The next iteration's point: a loss that falls, accuracy that rises, the set rate."""
        self.iteration += 1
        i = self.iteration
        lr = self.spec.options.initial_learn_rate or 0.01
        values = {
            "train_loss": 0.7 / math.sqrt(i) + 0.02 * ((i * 7919) % 13) / 13,
            "train_accuracy": min(1.0, 0.5 + i / (2 * self.max_iterations)),
            "learn_rate": lr,
            "grad_norm": 1.0 + ((i * 104729) % 17) / 10,
        }
        if i % self.spec.options.validation_frequency == 0:
            values["val_loss"] = 0.75 / math.sqrt(i)
            values["val_accuracy"] = min(1.0, 0.5 + i / (2.2 * self.max_iterations))
        return self.point(values)

    def finish(self) -> list[Event]:
        test = self.point({"test_loss": 0.3, "test_accuracy": 0.9})
        counts = [[55, 5], [7, 53]]
        matrix = Artefact("confusion_matrix", {"class_names": ["0", "1"], "counts": counts})
        done = Status("completed", finish_reason="max-epochs", iteration=self.iteration)
        return [test, matrix, done]


class ScriptedExecutor:
    """`slots` runs at once, `per_tick` iterations each every `tick_s`, on one thread (the
    executor thread the interface promises: `on_events` is never called concurrently)."""

    def __init__(self, slots: int = 2, per_tick: int = 4, tick_s: float = 0.01) -> None:
        self.slots = slots
        self.per_tick = per_tick
        self.tick_s = tick_s
        self.jobs: list[Job] = []  # every job submitted, in order (tests read the specs)
        self._queue: deque[Job] = deque()
        self._active: dict[int, _Training] = {}
        self._injected: list[RunEvent] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._on_events: OnEvents | None = None

    def start(self, on_events: OnEvents) -> None:
        self._on_events = on_events
        self._thread = threading.Thread(target=self._loop, name="scripted-executor", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            self.jobs.append(job)
            self._queue.append(job)
        self._wake.set()

    def stop(self, run_id: int) -> bool:
        with self._lock:
            if run_id in self._active:
                self._active[run_id].stopping = True
                return True
            for job in self._queue:
                if job.run_id == run_id:
                    self._queue.remove(job)
                    self._injected.append((run_id, Status("stopped", message=STOPPED_BEFORE_START)))
                    self._wake.set()
                    return True
        return False

    def shutdown(self, grace_s: float) -> None:
        with self._lock:
            for training in self._active.values():
                training.stopping = True
        self._wake.set()
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._active:
                    break
            time.sleep(self.tick_s)
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=grace_s)

    def snapshot(self) -> ExecutorSnapshot:
        with self._lock:
            busy = list(self._active)
            queued = [j.run_id for j in self._queue]
        return ExecutorSnapshot(
            kind="scripted",
            slots=self.slots,
            busy=busy,
            queued=queued,
            devices=["cpu (scripted)"] * self.slots,
            workers_ready=self.slots,
            workers=[
                {"slot": s, "pid": None, "ready": True, "device": "cpu (scripted)", "run_id": r}
                for s, r in enumerate(busy + [None] * (self.slots - len(busy)))
            ],
            error=None,
        )

    def _tick(self) -> list[RunEvent]:
        """One round: take queued jobs onto free slots, advance every active run."""
        batch: list[RunEvent] = []
        with self._lock:
            batch.extend(self._injected)
            self._injected.clear()
            while self._queue and len(self._active) < self.slots:
                job = self._queue.popleft()
                training = _Training.of(job)
                self._active[job.run_id] = training
                batch.append((job.run_id, training.started()))
            for run_id, training in list(self._active.items()):
                for _ in range(self.per_tick):
                    if training.stopping:
                        message = "stopped on request"
                        stopped = Status("stopped", iteration=training.iteration, message=message)
                        batch.append((run_id, stopped))
                        del self._active[run_id]
                        break
                    if training.iteration >= training.max_iterations:
                        batch.extend((run_id, e) for e in training.finish())
                        del self._active[run_id]
                        break
                    batch.append((run_id, training.step()))
        return batch

    def _loop(self) -> None:
        assert self._on_events is not None
        while not self._closed:
            batch = self._tick()
            if batch:
                refused = self._on_events(batch) or ()
                for run_id in refused:
                    self.stop(run_id)
            with self._lock:
                idle = not self._active and not self._queue and not self._injected
            if idle:
                self._wake.wait(timeout=0.5)
                self._wake.clear()
            else:
                time.sleep(self.tick_s)
