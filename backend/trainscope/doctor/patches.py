"""Restart patches: `{"options": {...}}` overrides with concrete values computed from the run,
and the one-line `fix` that says what each does."""

from __future__ import annotations

import math
from typing import Any

from trainscope.doctor.finding import num, sig
from trainscope.schemas.options import MAX_LEARN_RATE, TrainingOptions

MAX_EPOCHS_LIMIT = 100_000  # TrainingOptions' upper bound on max_epochs


def scaled_learn_rate(options: TrainingOptions, factor: float) -> float:
    """This run's initial learn rate × factor, rounded to 3 significant digits, in range."""
    return min(MAX_LEARN_RATE, sig(options.learn_rate * factor))


def more_epochs(options: TrainingOptions, factor: float = 2.0) -> int:
    more = max(options.max_epochs + 1, math.ceil(options.max_epochs * factor))
    return int(min(MAX_EPOCHS_LIMIT, more))


def options_patch(**values: Any) -> dict[str, Any]:
    return {"options": dict(values)}


def describe(options: TrainingOptions, patch: dict[str, Any]) -> str:
    """ "Restart with initial_learn_rate 0.001 (÷10) and gradient_threshold 1": each changed
    option with its new value, and the factor where it is a multiple of the old one."""
    parts = []
    for name, new in patch.get("options", {}).items():
        old = getattr(options, name, None)
        text = f"{name} {num(new) if isinstance(new, float) else new}"
        if isinstance(new, (int, float)) and not isinstance(new, bool):
            text += _factor(old, float(new))
        parts.append(text)
    verb = "Train" if patch.get("kind") == "train" else "Restart"
    if not parts:
        return verb
    head = ", ".join(parts[:-1])
    return f"{verb} with {head + ' and ' if head else ''}{parts[-1]}"


def _factor(old: Any, new: float) -> str:
    if not isinstance(old, (int, float)) or isinstance(old, bool):
        return ""
    old = float(old)
    if old <= 0 or not math.isfinite(old) or new <= 0:
        return ""
    ratio = new / old
    for k in (2, 3, 10):
        if math.isclose(ratio, k, rel_tol=0.02):
            return f" (×{k})"
        if math.isclose(ratio, 1 / k, rel_tol=0.02):
            return f" (÷{k})"
    return ""
