"""Small helpers shared by the test packages."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def console_script() -> str:
    """The installed `trainscope` script: beside this interpreter (a venv), else on PATH."""
    beside = Path(sys.executable).parent / "trainscope"
    exe = str(beside) if beside.exists() else shutil.which("trainscope")
    assert exe, "the trainscope console script is not installed"
    return exe
