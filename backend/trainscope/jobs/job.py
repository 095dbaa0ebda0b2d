"""A job: what the server hands an executor to train one run. Pure data; it pickles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainscope.data_layout import DEFAULT_CHECKPOINT_BUDGET

# A script's stop, step by step (jobs/script_runner.py): an attached script gets ASK_S to see
# run.should_stop, then SIGINT and its launch's grace, then SIGTERM and KILL_AFTER_S, then SIGKILL.
SCRIPT_ASK_S = 3.0
SCRIPT_KILL_AFTER_S = 10.0


@dataclass(frozen=True)
class ScriptLaunch:
    """How to start a user's entry point (DESIGN §8), resolved by the server from the operator's
    registration and the run's checked args: the worker runs exactly this, nothing else."""

    kind: Literal["script", "function"]
    target: str  # the script's absolute path, or package.module:function
    argv: tuple[str, ...]  # after the script's path (a script); () for a function
    args_json: str  # the run's args (the function's model; run.config in the SDK)
    cwd: str  # the folder it runs in
    env: tuple[tuple[str, str], ...] = ()  # added to the child's environment
    metric_patterns: tuple[str, ...] = ()  # extra regexes for metrics on stdout
    stop_grace_s: float = 30.0  # SIGINT → SIGTERM


@dataclass(frozen=True)
class Job:
    """One run to train.

    The spec travels as JSON, not as a `RunSpec`: the worker validates it again on its side,
    so a spec the server could not have produced (an old row, a hand-made job) fails as that
    run's `failed` status instead of breaking the executor.
    """

    run_id: int
    spec_json: str  # RunSpec JSON
    run_dir: str  # receives checkpoint.pt and model.pt
    data_dir: str  # where datasets are read from (and MNIST downloaded to)
    resume: bool = False  # continue from run_dir/checkpoint.pt
    # On resume: the last seq the server has stored. The engine picks a checkpoint that leaves
    # no gap after it (a server killed with points in flight stored fewer than it checkpointed).
    persisted_seq: int | None = None
    # A branch: the checkpoint it starts from (when it has none of its own yet), and the budget
    # of its epoch checkpoints (Settings.checkpoint_budget_bytes).
    branch_from: str | None = None
    checkpoint_budget: int = DEFAULT_CHECKPOINT_BUDGET
    # A user's entry point instead of the engine (spec kind "script").
    script: ScriptLaunch | None = None

    def grace_s(self, engine_grace_s: float) -> float:
        """How long a stopping run of this job may take before its executor kills the worker:
        the engine's grace, or the whole of a script's stop, so that the executor never cuts a
        script's own clean-up short (the worker's SIGKILL comes after its last step)."""
        if self.script is None:
            return engine_grace_s
        steps = SCRIPT_ASK_S + self.script.stop_grace_s + SCRIPT_KILL_AFTER_S
        return max(engine_grace_s, steps + 5.0)
