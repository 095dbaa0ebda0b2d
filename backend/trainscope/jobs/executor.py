"""The interface every executor offers the server: local process pool today, Ray later.

An executor owns worker processes (or Ray tasks) and nothing else: it knows jobs and run ids,
not the store or the hub. Everything it learns about runs comes out through one callback,
`on_events(batch)`, called from one executor thread, with each run's events in the order its
worker emitted them. That callback is the pipeline's entry point (persist, then publish); it
returns the ids of runs to stop (those whose events it could not store), or None.

A Ray executor fits the same shape: `submit` becomes a Ray task with `num_gpus` running
`worker.run_job` with an `Outbox` whose `send` puts batches on a Ray queue; one executor thread
drains that queue into `on_events`; `stop` sets a flag the task polls through an actor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypedDict

from trainscope.jobs.job import Job
from trainscope.jobs.messages import RunEvent

# Returns the runs to stop gracefully: the pipeline's store refused their events.
OnEvents = Callable[[list[RunEvent]], Iterable[int] | None]

# The message of the status a queued run gets when it is stopped before a worker took it.
STOPPED_BEFORE_START = "stopped before it started"


class WorkerSnapshot(TypedDict):
    slot: int
    pid: int | None  # None while (re)starting, or for executors without processes
    ready: bool
    device: str | None  # known once the worker is ready
    run_id: int | None


class ExecutorSnapshot(TypedDict):
    kind: str  # "local" or "ray"
    slots: int  # runs that can train at once
    busy: list[int]  # run ids on a worker now
    queued: list[int]  # run ids waiting for a free slot, next first
    devices: list[str]  # the ready workers' devices
    workers_ready: int
    workers: list[WorkerSnapshot]
    error: str | None  # why workers cannot start, when they cannot


class Executor(Protocol):
    def start(self, on_events: OnEvents) -> None:
        """Start the workers without waiting for them; runs submitted meanwhile queue."""

    def submit(self, job: Job) -> None:
        """Queue `job`; it starts on the first free slot, first in, first out."""

    def stop(self, run_id: int) -> bool:
        """Stop a run gracefully: running, it checkpoints and ends with status `stopped`;
        queued, it is removed and reported as `stopped` ("stopped before it started").
        False when the run is neither running nor queued here."""

    def shutdown(self, grace_s: float) -> None:
        """Stop running runs gracefully (they checkpoint and report `stopped`; killed after
        `grace_s`), then end the workers. Queued runs are left unreported, still queued."""

    def snapshot(self) -> ExecutorSnapshot:
        """What the executor is doing now, for /api/health and the UI."""
