"""Starting, stopping and watching workers: the only package that makes processes.

Server side (no torch): `Job`, the `Executor` interface, `executor_core.ExecutorCore` (the
bookkeeping every executor shares; its docstring says how to add one) and `LocalExecutor`.
Worker side (imports torch, lazily): `worker.run_job` and `worker.worker_main`, shared by every
executor.
"""

from __future__ import annotations

from trainscope.jobs.executor import (
    STOPPED_BEFORE_START,
    Executor,
    ExecutorSnapshot,
    OnEvents,
    WorkerSnapshot,
)
from trainscope.jobs.job import Job
from trainscope.jobs.local import LocalExecutor
from trainscope.jobs.messages import RunEvent

__all__ = [
    "STOPPED_BEFORE_START",
    "Executor",
    "ExecutorSnapshot",
    "Job",
    "LocalExecutor",
    "OnEvents",
    "RunEvent",
    "WorkerSnapshot",
]
