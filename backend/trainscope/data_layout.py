"""Where a run's checkpoints live, without torch: the server asks whether a run can resume
(a worker died under it) and must not pay for torch's import to do so."""

from __future__ import annotations

from pathlib import Path

CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"  # the one before, kept for a resume that needs it


def has_checkpoint(run_dir: Path) -> bool:
    """Whether `run_dir` holds a checkpoint that resume can continue from."""
    return any((run_dir / name).exists() for name in (CHECKPOINT_NAME, PREVIOUS_NAME))
