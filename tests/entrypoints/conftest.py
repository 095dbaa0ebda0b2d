"""Scripts written for these tests (argparse only, nothing of trainscope) and their probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trainscope.entrypoints.probe import ScriptProbe
from trainscope.jobs.probe_runner import probe_script

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"


@pytest.fixture(scope="session")
def toplevel_probe() -> ScriptProbe:
    return probe_script(SCRIPTS / "train_toplevel.py")


@pytest.fixture(scope="session")
def main_probe() -> ScriptProbe:
    return probe_script(SCRIPTS / "train_main.py")


def run_for_real(script: str, argv: list[str], tmp_path: Path) -> Any:
    """Run the script with `argv` as a user would (`python script ...`): what it parsed."""
    marker = tmp_path / "parsed.json"
    env = {**os.environ, "MARKER": str(marker)}
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(marker.read_text())
