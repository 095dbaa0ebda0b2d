"""`Finding`: one diagnosis of a run's curves, with the numbers behind it and an optional
restart patch (DESIGN §3); the number formatting its messages share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Severity = Literal["critical", "warning", "info", "ok"]  # "ok": a passed check (preflight)
SEVERITY_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2, "ok": 3}

EvidenceValue = float | int | str | bool | None


@dataclass(frozen=True)
class Finding:
    code: str  # e.g. "diverged"
    severity: Severity
    iteration: int | None  # where it was seen (the chart marks it there)
    message: str  # one plain sentence quoting the numbers
    evidence: dict[str, EvidenceValue]  # the numbers, JSON-safe names
    patch: dict[str, Any] | None = None  # restart overrides: {"options": {...}}
    fix: str | None = None  # one short imperative sentence describing the patch

    def to_json(self) -> dict[str, Any]:
        """JSON-safe (`json.dumps(..., allow_nan=False)` accepts it): numpy scalars become
        Python numbers, non-finite floats the strings the REST API uses ("NaN", "Infinity")."""
        return {
            "code": self.code,
            "severity": self.severity,
            "iteration": None if self.iteration is None else int(self.iteration),
            "message": self.message,
            "evidence": {k: _plain(v) for k, v in self.evidence.items()},
            "patch": None if self.patch is None else _plain(self.patch),
            "fix": self.fix,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "NaN" if f != f else ("Infinity" if f > 0 else "-Infinity")
    return value


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """critical > warning > info > ok, then by iteration (findings without one last)."""
    return sorted(
        findings,
        key=lambda f: (
            SEVERITY_RANK[f.severity],
            f.iteration is None,
            f.iteration if f.iteration is not None else 0,
            f.code,
        ),
    )


# ---- number formatting shared by the rules: messages quote what evidence holds ----


def sig(value: float, digits: int = 3) -> float:
    """`value` rounded to `digits` significant digits (patches carry round numbers)."""
    if not math.isfinite(value) or value == 0:
        return float(value)
    return float(f"{value:.{digits}g}")


def num(value: float, digits: int = 3) -> str:
    """A number for a message: 3 significant digits, no exponent for ordinary magnitudes."""
    if not math.isfinite(value):
        return "NaN" if value != value else ("Inf" if value > 0 else "-Inf")
    return f"{value:.{digits}g}"


def pct(fraction: float) -> str:
    """0.384 → "38%"."""
    return f"{fraction * 100:.0f}%"


def times(ratio: float) -> str:
    """A multiple for a message: 3.5×, 22×, 1.6e+29× (a runaway loss)."""
    if not math.isfinite(ratio):
        return num(ratio)
    if ratio < 10:
        return f"{ratio:.1f}"
    return f"{ratio:.0f}" if ratio < 1e4 else f"{ratio:.1e}"
