"""Choosing where a run trains."""

from __future__ import annotations

import torch


class EngineError(ValueError):
    """A problem with a run's spec that only shows once training starts (one-line message)."""


def pick_device(execution_environment: str) -> torch.device:
    """auto → CUDA when present, else CPU; gpu without CUDA is an error, not a silent CPU run."""
    has_cuda = torch.cuda.is_available()
    if execution_environment == "gpu" and not has_cuda:
        raise EngineError(
            "execution_environment is 'gpu' but no CUDA device is available here; "
            "use 'auto' or 'cpu'"
        )
    if execution_environment == "cpu" or not has_cuda:
        return torch.device("cpu")
    return torch.device("cuda")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.current_device()} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
