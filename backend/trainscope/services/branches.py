"""Branches (POST /api/runs/{id}/branch): what may change at a branch point, and the files.

A branch continues its parent's checkpoint at the end of epoch E: the weights, the optimizer's
state, the RNG and data-order positions. Its own points start at the parent's next seq after E;
the parent's points up to there are its history, read from the parent (not copied).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trainscope.data_layout import BRANCH_ORIGIN, epoch_checkpoint_path, epoch_checkpoints
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import RunSpec
from trainscope.services.errors import RunConflict, SpecRejected
from trainscope.store import PointColumns, RunRecord

# Points read per request while looking for a branch point's seq (bounded memory for long runs).
HISTORY_PAGE = 5000

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


def origin_of(spec: dict[str, Any]) -> tuple[int, int] | None:
    """(parent run id, epoch) of a branch's spec; None for any other run."""
    branch = spec.get("branch")
    if not isinstance(branch, dict):
        return None
    run_id, epoch = branch.get("run_id"), branch.get("epoch")
    return (run_id, epoch) if isinstance(run_id, int) and isinstance(epoch, int) else None


def last_training_seq(cols: PointColumns, epoch: int) -> int | None:
    """The seq of the last training point of `cols` at or before the end of `epoch`: the
    parent's checkpoint there was taken right after it. The final test point shares the last
    epoch but carries no train_loss, and comes after the checkpoint, so it is not one."""
    train = cols.values.get("train_loss", [])
    found = None
    for i, (seq, ep) in enumerate(zip(cols.seq, cols.epoch, strict=True)):
        if ep > epoch:
            break
        if i < len(train) and train[i] is not None:
            found = seq
    return found


def lineage(
    run: RunRecord,
    get_run: Callable[[int], RunRecord | None],
    read_points: Callable[[int, int], PointColumns],
) -> list[dict[str, int]]:
    """A branch's history, oldest first: [{run_id, epoch, until_seq}], one per ancestor it
    (or its branch parent, and so on) was branched from; its own points start after the last
    `until_seq`. The history of the entry for run R is R's points with the previous entry's
    until_seq < seq ≤ until_seq. Empty for a run that is not a branch. `read_points(run_id,
    after_seq)` reads up to a page of points."""
    chain: list[tuple[int, int]] = []
    seen = {run.id}
    origin = origin_of(run.spec)
    while origin is not None and origin[0] not in seen:
        parent = get_run(origin[0])
        if parent is None:  # deleted under us (deleting a parent is refused): history ends
            break
        chain.append(origin)
        seen.add(parent.id)
        origin = origin_of(parent.spec)
    chain.reverse()
    out: list[dict[str, int]] = []
    after = 0
    for run_id, epoch in chain:
        until = after
        cursor = after
        while True:  # epochs rise with seq: read pages until one goes past `epoch`
            cols = read_points(run_id, cursor)
            found = last_training_seq(cols, epoch)
            if found is not None:
                until = found
            if not cols.has_more or not cols.epoch or cols.epoch[-1] > epoch:
                break
            cursor = cols.last_seq
        out.append({"run_id": run_id, "epoch": epoch, "until_seq": until})
        after = until
    return out
