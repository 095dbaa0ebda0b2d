"""Server side: the Ray executor's view of the cluster and of one dispatched run.

Importing Ray into the server, reading what a spec asks for, describing nodes, and the status
of a run whose Ray worker was lost. Nothing here imports ray at module level.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from trainscope.jobs.executor_core import Seat
from trainscope.jobs.job import Job

RAY_MISSING = 'TRAINSCOPE_EXECUTOR=ray needs Ray: pip install "trainscope[ray]"'
# Ray's core, in a driver, hands SIGTERM to abseil's failure handler, which aborts the process
# 3 s later: too soon for the server to stop its runs gracefully (TRAINSCOPE_STOP_GRACE_S) and
# leave the cluster. This flag, read once when ray is imported, leaves SIGTERM to uvicorn.
NO_SIGNAL_HANDLER = "RAY_DISABLE_FAILURE_SIGNAL_HANDLER"


def load_ray() -> ModuleType:
    """Server side: import ray (only the Ray executor does), leaving SIGTERM to the server.
    Raises RuntimeError saying how to install Ray when it is missing."""
    saved = os.environ.get(NO_SIGNAL_HANDLER)
    if saved is None:  # an operator's own setting wins
        os.environ[NO_SIGNAL_HANDLER] = "1"
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(RAY_MISSING) from exc
    finally:
        # Only for this process: the Ray processes it starts keep their crash reports.
        if saved is None:
            del os.environ[NO_SIGNAL_HANDLER]
    return ray


def execution_environment(spec_json: str) -> str:
    """The spec's execution_environment, read without validating the spec (the task does that,
    so a bad spec fails as its run's status); "auto" when it cannot tell."""
    try:
        options = json.loads(spec_json).get("options") or {}
        value = options.get("execution_environment", options.get("ExecutionEnvironment"))
    except (ValueError, AttributeError):
        return "auto"
    return value.lower() if isinstance(value, str) else "auto"


def describe_node(node: dict[str, Any]) -> str:
    """One alive node of `ray.nodes()`, e.g. "10.0.0.7: 8 GPUs (H200), 64 CPUs"."""
    res: dict[str, float] = node.get("Resources") or {}
    parts = []
    gpus = int(res.get("GPU", 0))
    if gpus:
        kinds = [k.split(":", 1)[1] for k in res if k.startswith("accelerator_type:")]
        parts.append(f"{gpus} GPU{'s' if gpus > 1 else ''}" + (f" ({kinds[0]})" if kinds else ""))
    cpus = int(res.get("CPU", 0))
    parts.append(f"{cpus} CPU{'s' if cpus != 1 else ''}")
    return f"{node.get('NodeManagerAddress', '?')}: {', '.join(parts)}"


def describe_loss(exc: BaseException) -> str:
    """Ray's reason, in one line: its errors run to paragraphs of troubleshooting advice."""
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else "no reason given"
    if len(first) > 300:
        first = first[:297] + "..."
    return f"the run's Ray worker was lost ({type(exc).__name__}: {first})"


@dataclass(eq=False)
class Attempt(Seat):
    """One dispatch of a job: a Ray task, from submission until its end has been reported."""

    job: Job
    ticket: int  # unique per dispatch: a resumed run's earlier attempt is never this one
    gpu: bool
    ref: Any  # the task's ObjectRef: resolves when the task ends, with an error if it died
    index: int  # its place in the snapshot's workers
    pid: int | None = None
    device: str | None = None
    ready: bool = False  # WorkerReady came: the task runs on a node
    done: bool = False  # JobDone came: the task is finishing; its worker is free again
    resolved: bool = False
    error: BaseException | None = None  # what the ObjectRef raised
    settle_after: int | None = None  # report its end once this take has been handled

    def current(self) -> Job:
        return self.job
