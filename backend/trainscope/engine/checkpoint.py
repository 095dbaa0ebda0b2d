"""Checkpoints: written atomically, loaded with weights_only=True (no unpickling of code)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from trainscope.data_layout import (
    CHECKPOINT_NAME,
    EPOCH_CHECKPOINTS,
    PREVIOUS_NAME,
    epoch_checkpoint_path,
    epoch_checkpoints,
)
from trainscope.engine.retention import epochs_to_keep

__all__ = [
    "CHECKPOINT_NAME",
    "PREVIOUS_NAME",
    "choose_checkpoint",
    "keep_epoch_checkpoint",
    "remove_partial_writes",
    "save_checkpoint",
]


def save_checkpoint(state: dict[str, Any], path: Path, keep_previous: bool = False) -> None:
    """Write to a temp file in the same directory, fsync, then rename over the old one.

    A crash mid-write leaves the previous checkpoint intact: rename is atomic on POSIX.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous and path.exists():
            # The one before survives as checkpoint.prev.pt: if the newest got ahead of what a
            # server persisted (killed with points still in flight), resume falls back to it.
            # Linked, not moved: `path` must exist at every instant, or a kill between two
            # renames would leave a run that looks as if it had never checkpointed.
            _link_over(path, path.with_name(PREVIOUS_NAME))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_partial_writes(run_dir: Path) -> None:
    """Delete what a worker killed mid-save left: `save_checkpoint`'s temp files and
    `_link_over`'s staging names. Never a checkpoint: those are renamed into place whole."""
    patterns = (f"{CHECKPOINT_NAME}*.tmp", f"{PREVIOUS_NAME}.tmp", f"{EPOCH_CHECKPOINTS}/*.pt.tmp")
    for pattern in patterns:
        for path in run_dir.glob(pattern):
            path.unlink(missing_ok=True)


def _link_over(source: Path, destination: Path) -> None:
    """Make `destination` a second name of `source`, atomically replacing what it was."""
    staging = destination.with_name(destination.name + ".tmp")
    staging.unlink(missing_ok=True)
    try:
        os.link(source, staging)
    except OSError:  # a file system without hard links: a copy does it, slower
        shutil.copyfile(source, staging)
    os.replace(staging, destination)


def keep_epoch_checkpoint(latest: Path, epoch: int, budget: int, best_epoch: int | None) -> None:
    """Keep the just-saved `latest` (checkpoint.pt) as the checkpoint of `epoch`'s end, then
    thin the run's epoch checkpoints to `budget` (engine/retention.py).

    A hard link: no second write of the same bytes, and atomic (a branch never reads half a
    file). The next save renames a new file over checkpoint.pt, leaving this name the old one.
    """
    target = epoch_checkpoint_path(latest.parent, epoch)
    target.parent.mkdir(parents=True, exist_ok=True)
    _link_over(latest, target)
    found = epoch_checkpoints(latest.parent)
    sizes = {e: p.stat().st_size for e, p in found.items()}
    keep = epochs_to_keep(sizes, budget, best_epoch)
    for e, path in found.items():
        if e not in keep:
            path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    # weights_only: a checkpoint is data (tensors, numbers, strings), never code.
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state


def choose_checkpoint(run_dir: Path, persisted_seq: int | None) -> dict[str, Any] | None:
    """The newest checkpoint from which resuming leaves no gap in the points.

    A checkpoint continues at its `seq`; every point before that must already be stored, i.e.
    seq ≤ persisted_seq + 1. `persisted_seq=None` (the CLI: the points file is the record)
    takes the newest. None when no checkpoint qualifies: the run starts over, and its replayed
    points (identical, same seed) are dropped as duplicates by the store.
    """
    for name in (CHECKPOINT_NAME, PREVIOUS_NAME):
        path = run_dir / name
        if not path.exists():
            continue
        state = load_checkpoint(path)
        if persisted_seq is None or int(state["seq"]) <= persisted_seq + 1:
            return state
    return None
