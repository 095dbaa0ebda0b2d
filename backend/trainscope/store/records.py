"""What the store hands out: `RunRecord` (one row of `runs`) and `PointColumns` (points read
back), each with `to_json()` giving the REST shape (DESIGN §6) with non-finite floats spelled
as strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainscope.schemas.status import FINAL_STATUSES as FINAL_STATUSES
from trainscope.schemas.status import RUN_STATUSES as RUN_STATUSES
from trainscope.store.arrays import PointArrays
from trainscope.store.jsonsafe import json_safe, safe_float_list


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    name: str | None
    status: str
    finish_reason: str | None
    message: str | None
    spec: dict[str, Any]
    parent_id: int | None
    group: str | None  # the `group_name` column
    tags: list[str]
    created_at: float
    started_at: float | None
    ended_at: float | None
    iteration: int
    epoch: int
    max_iterations: int | None
    iterations_per_epoch: int | None
    last_seq: int
    device: str | None
    info: dict[str, Any]  # the Started event's fields; {} before the run starts
    latest: dict[str, float]  # the latest value of each metric
    best: dict[str, Any] | None  # {"val_loss", "val_<metric>"…, "iteration", "epoch", "seq"}
    checkpoint: str | None
    sweep_id: int | None = None  # the sweep this run is a trial of
    sweep_trial: int | None = None  # which of its trials (0-based)

    @property
    def max_epochs(self) -> int | None:
        if self.spec.get("kind") == "external":
            # Known only when the script's config named it (options mirror it, defaults too).
            value = self.info.get("max_epochs")
            return value if isinstance(value, int) else None
        if self.spec.get("kind") == "script":
            # The entry point's max-epochs option (its role), when it has one.
            launch = self.spec.get("launch") or {}
            option = (launch.get("roles") or {}).get("max_epochs")
            value = (self.spec.get("args") or {}).get(option) if option else None
            return value if isinstance(value, int) else None
        if self.spec.get("kind", "train") != "train" and self.max_iterations:
            # A probe trains a number of iterations, not the spec's max_epochs.
            per_epoch = self.iterations_per_epoch or self.max_iterations
            return -(-self.max_iterations // per_epoch)
        options = self.spec.get("options")
        if isinstance(options, dict):
            value = options.get("max_epochs", options.get("MaxEpochs"))
            if isinstance(value, int):
                return value
        if self.max_iterations and self.iterations_per_epoch:
            return self.max_iterations // self.iterations_per_epoch
        return None

    def to_json(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "finish_reason": self.finish_reason,
            "message": self.message,
            "spec": self.spec,
            "parent_id": self.parent_id,
            "group": self.group,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "progress": {
                "iteration": self.iteration,
                "epoch": self.epoch,
                "max_iterations": self.max_iterations,
                "iterations_per_epoch": self.iterations_per_epoch,
                "max_epochs": self.max_epochs,
            },
            "last_seq": self.last_seq,
            "device": self.device,
            "info": self.info,
            "latest": self.latest,
            "best": self.best,
            "sweep_id": self.sweep_id,
            "sweep_trial": self.sweep_trial,
        }
        result: dict[str, Any] = json_safe(body)
        return result


@dataclass(slots=True)
class PointColumns:
    """Points in columns. `values[name][i]` is the metric at row i, None where that point does
    not have it (a validation metric between validations)."""

    seq: list[int] = field(default_factory=list)
    iteration: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)
    downsampled: bool = False
    total: int = 0  # points after `after_seq`, before `limit` and downsampling
    has_more: bool = False  # `limit` left points out: ask again with after_seq=last_seq
    last_seq: int = 0  # seq of the last row returned; `after_seq` when none were

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def from_arrays(
        cls,
        points: PointArrays,
        *,
        downsampled: bool,
        total: int,
        has_more: bool,
        after_seq: int,
    ) -> PointColumns:
        n = len(points)
        values: dict[str, list[float | None]] = {}
        for name, m in points.metrics.items():
            if m.rows is None:
                values[name] = m.values.tolist()
                continue
            # An object array of None with the present values dropped in: the values become
            # Python floats and the absent ones stay None, without a loop per point.
            column = np.full(n, None, dtype=object)
            column[m.rows] = m.values
            values[name] = column.tolist()
        return cls(
            seq=points.seq.tolist(),
            iteration=points.iteration.tolist(),
            epoch=points.epoch.tolist(),
            wall_time=points.wall_time.tolist(),
            values=values,
            downsampled=downsampled,
            total=total,
            has_more=has_more,
            last_seq=int(points.seq[-1]) if n else after_seq,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "iteration": self.iteration,
            "epoch": self.epoch,
            "wall_time": safe_float_list(self.wall_time),
            "values": {name: safe_float_list(col) for name, col in self.values.items()},
            "downsampled": self.downsampled,
            "total": self.total,
            "has_more": self.has_more,
            "last_seq": self.last_seq,
        }
