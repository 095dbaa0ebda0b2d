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
from typing import Any, Protocol

from pydantic import ValidationError

from trainscope.data_layout import BRANCH_ORIGIN, epoch_checkpoint_path, epoch_checkpoints
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import RunSpec
from trainscope.services.errors import RunConflict, SpecRejected
from trainscope.store import PointColumns, RunRecord

# Points before a branch epoch's boundary looked at for its last training point (only the
# final test point can come between them).
_TAIL = 16

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
    link_or_copy(epoch_checkpoint_path(parent_dir, epoch), branch_dir / BRANCH_ORIGIN)


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """A hard link of `source` at `target` (no copy, and it outlives the source's deletion),
    or a copy where the file system has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


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


class ReadPoints(Protocol):
    """Store.read_points' signature, as lineage uses it."""

    def __call__(
        self, run_id: int, *, after_seq: int, before_seq: int | None, limit: int | None
    ) -> PointColumns: ...


def lineage(
    run: RunRecord, get_run: Callable[[int], RunRecord | None], read_points: ReadPoints
) -> list[dict[str, int]]:
    """A branch's history, oldest first: [{run_id, epoch, until_seq}], one per ancestor it
    (or its branch parent, and so on) was branched from; its own points start after the last
    `until_seq`. The history of the entry for run R is R's points with the previous entry's
    until_seq < seq ≤ until_seq. Empty for a run that is not a branch."""
    chain: list[tuple[RunRecord, int]] = []
    seen = {run.id}
    origin = origin_of(run.spec)
    while origin is not None and origin[0] not in seen:
        parent = get_run(origin[0])
        if parent is None:  # deleted under us (deleting a parent is refused): history ends
            break
        chain.append((parent, origin[1]))
        seen.add(parent.id)
        origin = origin_of(parent.spec)
    chain.reverse()
    out: list[dict[str, int]] = []
    after = 0
    for parent, epoch in chain:
        until = branch_point_seq(parent, epoch, after, read_points)
        out.append({"run_id": parent.id, "epoch": epoch, "until_seq": until})
        after = until
    return out


def branch_point_seq(parent: RunRecord, epoch: int, after: int, read_points: ReadPoints) -> int:
    """The seq of `parent`'s last training point at or before the end of `epoch`, among its
    points after `after`; `after` when there is none. Epochs never fall as seq rises, so a
    binary search over seq finds the first point past `epoch` reading one point a probe (a
    GET of a branch of a long run stays fast), then the few points before it are looked at."""

    def epoch_from(seq: int) -> int | None:  # the epoch of the first point with seq >= `seq`
        cols = read_points(parent.id, after_seq=seq - 1, before_seq=None, limit=1)
        return cols.epoch[0] if cols.seq else None

    lo, hi = after + 1, max(after, parent.last_seq) + 1
    while lo < hi:  # the first seq whose point (or the next one) lies past `epoch`
        mid = (lo + hi) // 2
        found = epoch_from(mid)
        if found is None or found > epoch:
            hi = mid
        else:
            lo = mid + 1
    # Between the last training point and the boundary: at most the final test point.
    tail = read_points(parent.id, after_seq=max(after, lo - 1 - _TAIL), before_seq=lo, limit=None)
    last = last_training_seq(tail, epoch)
    return last if last is not None else after
