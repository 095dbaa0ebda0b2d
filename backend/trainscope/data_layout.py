"""Where things live in the data directory, and the file names of a run's directory.

One torch-free module for the engine (which writes the files), the workers (which say whether a
run can resume) and the server (which creates, resumes and deletes run directories, and takes
uploads): the server must not import the engine, nor pay for torch's import, to know them.

    <data_dir>/trainscope.db        the SQLite database (unless TRAINSCOPE_DATABASE_URL)
    <data_dir>/runs/<id>/           one run: checkpoint.pt, checkpoint.prev.pt, model.pt
    <data_dir>/runs/<id>/checkpoints/epoch-0005.pt   the state at each kept epoch end
    <data_dir>/uploads/<hash>.npz   datasets uploaded with POST /api/datasets (or .csv)
"""

from __future__ import annotations

import re
from pathlib import Path

DATABASE_FILE = "trainscope.db"
RUNS = "runs"
UPLOADS = "uploads"
# What a run's `dataset.path` must look like when it names an upload (routes_datasets.py).
UPLOAD_PATH = re.compile(r"uploads/[0-9a-f]{32}\.(npz|csv)")

CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"  # the one before, kept for a resume that needs it
MODEL_NAME = "model.pt"  # the trained network's weights, written at the end
# One checkpoint per epoch end (the ones the retention rule keeps): what a branch starts from.
EPOCH_CHECKPOINTS = "checkpoints"
EPOCH_CHECKPOINT = re.compile(r"epoch-(\d{4,})\.pt")
# In a branch's run directory: a hard link of the parent's epoch checkpoint it starts from, so
# that the parent's thinning (or deletion) can never take it away.
BRANCH_ORIGIN = "branch-origin.pt"
# The default size budget of a run's epoch checkpoints (Settings.checkpoint_budget_bytes).
DEFAULT_CHECKPOINT_BUDGET = 1_000_000_000


def run_dir(data_dir: Path, run_id: int) -> Path:
    """The directory of run `run_id`'s files."""
    return data_dir / RUNS / str(run_id)


def has_checkpoint(run_dir: Path) -> bool:
    """Whether `run_dir` holds a checkpoint that resume can continue from."""
    return any((run_dir / name).exists() for name in (CHECKPOINT_NAME, PREVIOUS_NAME))


def epoch_checkpoint_path(run_dir: Path, epoch: int) -> Path:
    """Where the checkpoint of the end of `epoch` lives (zero-padded: names sort by epoch)."""
    return run_dir / EPOCH_CHECKPOINTS / f"epoch-{epoch:04d}.pt"


def epoch_checkpoints(run_dir: Path) -> dict[int, Path]:
    """The epoch checkpoints of `run_dir`, by epoch, in order (temp files of a save skipped)."""
    folder = run_dir / EPOCH_CHECKPOINTS
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = EPOCH_CHECKPOINT.fullmatch(path.name)
        if match:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))
