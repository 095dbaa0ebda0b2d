"""Server side: count the GPUs without importing torch (the server never does).

`nvidia-smi -L` lists the GPUs the driver sees; CUDA_VISIBLE_DEVICES narrows them the way CUDA
(and so torch, in the workers) will. None means "cannot tell here": the executor then lets its
first worker report what torch sees.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

NVIDIA_SMI_TIMEOUT_S = 10.0


def count_listed_gpus(nvidia_smi_output: str) -> int:
    """The GPUs in `nvidia-smi -L` output ("GPU 0: NVIDIA H200 (UUID: ...)" lines)."""
    return sum(1 for line in nvidia_smi_output.splitlines() if line.startswith("GPU "))


def count_visible(cuda_visible_devices: str | None) -> int | None:
    """How many devices CUDA_VISIBLE_DEVICES lets through; None when it is not set.

    CUDA reads the list up to the first invalid entry, so "0,-1,2" shows one device and ""
    or "-1" none.
    """
    if cuda_visible_devices is None:
        return None
    count = 0
    for entry in cuda_visible_devices.split(","):
        entry = entry.strip()
        if not entry or entry.startswith("-"):
            break
        count += 1
    return count


def count_gpus(environ: Mapping[str, str]) -> int | None:
    """Server side: the GPUs a worker spawned with `environ` will see, or None when unknown."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None  # e.g. a driver/library mismatch: torch may still know better
    listed = count_listed_gpus(done.stdout)
    visible = count_visible(environ.get("CUDA_VISIBLE_DEVICES"))
    return listed if visible is None else min(listed, visible)
