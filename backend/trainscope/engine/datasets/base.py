"""The data types every dataset module shares: the error users see, and arrays with labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trainscope.schemas.shapes import DataInfo, Task

# y is int64 (N,) class indices for classification, float32 (N, targets) for regression; one
# type for both keeps the training loop free of casts, the `task` says which it is.
Targets = npt.NDArray[Any]


class DatasetError(ValueError):
    """A dataset cannot be built; the message is one line a user can act on."""


@dataclass(eq=False)
class Split:
    """One part of a dataset: X float32 (N, *input_shape); y as described at `Targets`."""

    X: npt.NDArray[np.float32]
    y: Targets

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(eq=False)
class DatasetSplits:
    """A dataset split for training: `val` is None when validation_fraction is 0; `test` may be
    empty (test_fraction 0). `class_names[i]` names class index i (classification only)."""

    train: Split
    val: Split | None
    test: Split
    info: DataInfo
    class_names: list[str] | None


@dataclass(eq=False)
class Labeled:
    """Samples before splitting, as loaders return them."""

    X: npt.NDArray[np.float32]
    y: Targets
    task: Task
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def take(self, index: npt.NDArray[np.intp]) -> Labeled:
        return Labeled(self.X[index], self.y[index], self.task, self.class_names)

    def split(self) -> Split:
        return Split(self.X, self.y)

    def info(self) -> DataInfo:
        shape = tuple(int(d) for d in self.X.shape[1:])
        if self.task == "classification":
            assert self.class_names is not None
            return DataInfo(
                task="classification", input_shape=shape, num_classes=len(self.class_names)
            )
        return DataInfo(task="regression", input_shape=shape, num_targets=int(self.y.shape[1]))


def rng_for(seed: int, purpose: int) -> np.random.Generator:
    """An independent random stream per purpose (generation, test split, ...) of one seed, so
    changing how one part draws numbers never shifts another."""
    return np.random.default_rng(np.random.SeedSequence([seed, purpose]))


def int_seed_for(seed: int, purpose: int) -> int:
    """The same, as a 32-bit integer for scikit-learn's `random_state`."""
    return int(np.random.SeedSequence([seed, purpose]).generate_state(1)[0])
