"""A job: what the server hands an executor to train one run. Pure data; it pickles."""

from __future__ import annotations

from dataclasses import dataclass


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
