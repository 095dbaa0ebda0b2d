"""benchmarks/gpu_check.py in its quick mode, as someone without a GPU runs it before lending one:
the GPU parts say they were skipped and why, the CPU parts (presets, overhead, a real server with
a run end to end) run and pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
NO_CUDA = "skipped: no CUDA device"


@pytest.mark.timeout(600)  # a few minutes when other jobs load this machine
def test_quick_gpu_check_reports_what_ran_and_what_was_skipped(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["passed"] is True and report["failed"] == []

    # The CPU parts ran and passed, whatever the machine.
    for preset, result in report["presets"]["cpu"].items():
        assert result["status"] == "completed", preset
        assert result["finite"] and result["falls"], (preset, result)
    cpu = report["overhead"]["cpu"]
    assert cpu["bare_ms_per_iteration"] > 0 and cpu["engine_ms_per_iteration"] > 0
    server = report["server"]
    assert server["slots_as_expected"] and server["devices_as_expected"]
    run = server["run"]
    assert run["status"] == "completed" and run["every_iteration_stored"] and run["falls"]

    if torch.cuda.is_available():
        assert report["gpu"].startswith("ran on")
        assert all(r["like_cpu"]["passed"] for r in report["presets"]["gpu"].values())
        assert report["overhead"]["gpu"]["syncs_per_iteration"]["bare"] == 0
        assert server["one_slot_per_gpu"] is True
    else:
        # Skipped, said so in the report and in what a person reads.
        assert report["gpu"] == NO_CUDA
        assert report["presets"]["gpu"] == NO_CUDA
        assert report["overhead"]["gpu"] == NO_CUDA
        assert server["one_slot_per_gpu"].startswith(NO_CUDA)
        assert run["device"].startswith("cpu")
        assert f"gpu check: {NO_CUDA}" in done.stdout
        skipped_lines = [line for line in done.stdout.splitlines() if line.endswith(NO_CUDA)]
        assert any("presets on gpu" in line for line in skipped_lines), done.stdout
        assert any("overhead on gpu" in line for line in skipped_lines), done.stdout
