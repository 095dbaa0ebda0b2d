"""What a dataset looks like to a model: the task, the shape of one sample, the outputs.

Shapes follow one convention everywhere (datasets, layer lists, files):
  (F,)       a feature vector
  (T, C)     a sequence of T steps with C channels
  (C, H, W)  an image
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Shape = tuple[int, ...]
Task = Literal["classification", "regression"]


def shape_kind(shape: Shape) -> Literal["vector", "sequence", "image"]:
    return {1: "vector", 2: "sequence", 3: "image"}[len(shape)]  # type: ignore[return-value]


def describe_shape(shape: Shape) -> str:
    """'image 1×28×28', 'sequence 50×1', 'vector 2' — for error messages."""
    return f"{shape_kind(shape)} {'×'.join(str(d) for d in shape)}"


@dataclass(frozen=True)
class DataInfo:
    """Enough about a dataset to build and check a model, without loading the data."""

    task: Task
    input_shape: Shape
    num_classes: int | None = None  # classification only
    num_targets: int = 1  # regression only

    @property
    def output_size(self) -> int:
        if self.task == "classification":
            assert self.num_classes is not None
            return self.num_classes
        return self.num_targets
