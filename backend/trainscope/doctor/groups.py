"""Findings about groups of runs: repeats of one spec with other seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from trainscope.doctor.finding import EvidenceValue, Finding, num, pct

# Without a difference to judge: repeats that disagree by more than 5 accuracy points, or by
# more than 20 % of their mean for a loss or an RMSE, are too noisy to trust a single run.
ACCURACY_SPREAD = 0.05
RELATIVE_SPREAD = 0.2


def inconsistent(
    repeat_values: Sequence[float],
    compared_difference: float | None,
    metric: str,
    iteration: int | None = None,
) -> Finding | None:
    """`inconsistent` when repeats of one spec (other seeds) spread wider than the difference
    they were meant to judge (`compared_difference`), or, without one, wider than
    ACCURACY_SPREAD / RELATIVE_SPREAD. None with fewer than two finite values."""
    values = np.asarray([float(v) for v in repeat_values], dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    lo, hi = float(values.min()), float(values.max())
    spread = hi - lo
    mean = float(values.mean())
    accuracy = "accuracy" in metric
    evidence: dict[str, EvidenceValue] = {
        "metric": metric,
        "repeats": len(values),
        "min": lo,
        "max": hi,
        "spread": spread,
        "mean": mean,
        "std": float(values.std(ddof=1)),
    }
    shown = f"{spread * 100:.1f} points" if accuracy else num(spread)
    head = (
        f"{len(values)} repeats with other seeds give {metric} from {num(lo)} to {num(hi)} "
        f"(spread {shown})"
    )
    if compared_difference is not None and math.isfinite(compared_difference):
        difference = abs(float(compared_difference))
        evidence["compared_difference"] = difference
        if spread <= difference:
            return None
        diff = f"{difference * 100:.1f} points" if accuracy else num(difference)
        message = (
            f"{head}, wider than the {diff} difference they were meant to judge: that "
            "difference is within seed noise."
        )
    else:
        limit = ACCURACY_SPREAD if accuracy else RELATIVE_SPREAD * abs(mean)
        evidence["limit"] = limit
        if spread <= limit:
            return None
        rel = "" if accuracy else f", {pct(spread / abs(mean))} of their mean" if mean else ""
        message = f"{head}{rel}: one run of this spec says little; compare means over repeats."
    return Finding("inconsistent", "warning", iteration, message, evidence)
