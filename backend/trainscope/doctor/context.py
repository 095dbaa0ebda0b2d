"""`RunContext`: what the doctor knows about a run besides its curves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trainscope.schemas.options import TrainingOptions

RUN_KINDS = ("train", "lr-range-test", "overfit-batch", "initial-loss")


@dataclass(frozen=True)
class RunContext:
    """The run's options (resolved defaults) and what kind of run it is."""

    options: TrainingOptions
    kind: str = "train"  # "train" | "lr-range-test" | "overfit-batch" | "initial-loss"
    ended: bool = False  # completed / stopped / diverged / failed
    status: str | None = None  # its status when ended
    finish_reason: str | None = None
    layers: Sequence[str] = field(default_factory=tuple)  # info["layers"]

    @property
    def has_dropout(self) -> bool:
        return any("dropout" in line for line in self.layers)
