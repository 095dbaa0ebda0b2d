"""What the engine tells the world: the events passed to `emit(event)`.

Plain slotted dataclasses, not pydantic: the training loop creates one per iteration and the
whole emit path must cost about a microsecond (benchmarks/engine_overhead.py). They pickle, so
a worker process can send them through a queue unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from trainscope.schemas.messages import point_body
from trainscope.schemas.status import ENGINE_END_STATUSES as ENGINE_END_STATUSES

RunStatus = Literal[
    "queued", "running", "completed", "stopped", "diverged", "failed", "interrupted"
]
# loss-exploded and range-end end an lr-range-test run (engine/probes.py).
FinishReason = Literal["max-epochs", "validation-patience", "loss-exploded", "range-end"]


@dataclass(slots=True)
class Point:
    """Metric values recorded at one iteration (DESIGN §5)."""

    seq: int
    iteration: int
    epoch: int
    wall_time: float
    values: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        # JSON-safe (NaN as "NaN"): `train --out` writes this, and must write valid JSON.
        return dict(point_body(self.seq, self.iteration, self.epoch, self.wall_time, self.values))


@dataclass(slots=True)
class Started:
    """Sent once before the first point: what the run is about to do."""

    device: str
    task: str
    n_train: int
    n_val: int
    n_test: int
    iterations_per_epoch: int
    max_iterations: int
    num_parameters: int
    class_names: list[str] | None = None
    resumed_from_iteration: int = 0
    layers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Status:
    """The run ended (or, from the jobs layer, changed state)."""

    status: RunStatus
    finish_reason: FinishReason | None = None
    message: str | None = None
    iteration: int = 0


@dataclass(slots=True)
class Artefact:
    """A JSON-serialisable result the UI can draw (confusion matrix, predictions)."""

    name: str
    data: dict[str, Any]


@dataclass(slots=True)
class CheckpointSaved:
    path: str
    iteration: int
    epoch: int
    seq: int


@dataclass(slots=True)
class LogLines:
    """Lines a user's script wrote (DESIGN §8): its console, kept per run and shown live."""

    stream: Literal["stdout", "stderr"]
    lines: list[str]
    wall_time: float


Event = Point | Started | Status | Artefact | CheckpointSaved | LogLines
