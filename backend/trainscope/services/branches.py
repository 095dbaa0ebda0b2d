"""Branches (POST /api/runs/{id}/branch): what may change at a branch point, and the files.

A branch continues its parent's checkpoint at the end of epoch E: the weights, the optimizer's
state, the RNG and data-order positions. Its own points start at the parent's next seq after E;
the parent's points up to there are its history, read from the parent (not copied).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trainscope.data_layout import BRANCH_ORIGIN, epoch_checkpoint_path, epoch_checkpoints
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import RunSpec
from trainscope.services.errors import RunConflict, SpecRejected

# Options a branch cannot change, and why (the message of the 422).
FIXED_OPTIONS = {
    "mini_batch_size": "the checkpoint's position in the data order and its iteration count "
    "are in mini-batches of the parent's size",
    "seed": "the branch goes on with the parent's random state from the checkpoint; a seed "
    "would change nothing",
    "shuffle": "the checkpoint holds the parent's data order",
}


def branchable_epochs(run_dir: Path) -> list[int]:
    """The epochs of `run_dir`'s run that have a checkpoint to branch from."""
    return list(epoch_checkpoints(run_dir))


def branch_spec(
    parent_spec: dict[str, Any],
    parent_name: str | None,
    parent_id: int,
    parent_dir: Path,
    epoch: int,
    options: dict[str, Any],
) -> RunSpec:
    """The branch's spec: the parent's with `options` merged, and its origin in `branch`.
    422 naming the option that cannot change; 409 listing the epochs when `epoch` has no
    checkpoint."""
    epochs = branchable_epochs(parent_dir)
    if epoch not in epochs:
        listed = ", ".join(map(str, epochs)) if epochs else "none yet"
        raise RunConflict(
            f"run {parent_id} has no checkpoint at epoch {epoch}; epochs it can be branched "
            f"from: {listed}"
        )
    merged = merge_overrides(parent_spec, {"options": options})
    max_epochs = merged.get("options", {}).get("max_epochs", 30)
    if isinstance(max_epochs, int) and max_epochs <= epoch:
        raise SpecRejected(
            ("options", "max_epochs"),
            f"must be above the branch epoch {epoch} (the branch trains epochs after it)",
        )
    if parent_name:
        merged["name"] = f"{parent_name} @{epoch}"
    merged["branch"] = {"run_id": parent_id, "epoch": epoch}
    try:
        spec = RunSpec.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecRejected(tuple(str(p) for p in first["loc"]), first["msg"]) from None
    # Compared once validated, so that a MATLAB name (MiniBatchSize) is caught too.
    before = RunSpec.model_validate(parent_spec).options
    for name, why in FIXED_OPTIONS.items():
        if getattr(spec.options, name) != getattr(before, name):
            raise SpecRejected(("options", name), f"cannot change at a branch: {why}")
    return spec


def link_origin(parent_dir: Path, epoch: int, branch_dir: Path) -> None:
    """Give the branch its own name of the parent's checkpoint (a hard link: no copy)."""
    branch_dir.mkdir(parents=True, exist_ok=True)
    source, target = epoch_checkpoint_path(parent_dir, epoch), branch_dir / BRANCH_ORIGIN
    try:
        os.link(source, target)
    except OSError:  # no hard links on this file system
        shutil.copyfile(source, target)
