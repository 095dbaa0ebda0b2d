"""Checkpoints: written atomically, loaded with weights_only=True (no unpickling of code)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> dict[str, Any]:
    # weights_only: a checkpoint is data (tensors, numbers, strings), never code.
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state
