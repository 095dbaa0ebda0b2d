"""The training doctor: reads a run's metric series and options, returns findings with
suggested option changes (DESIGN §2). Pure functions over numpy arrays: no torch, no store, no
web. What each finding means, and its thresholds: docs/doctor.md."""

from __future__ import annotations

from trainscope.doctor.context import RunContext
from trainscope.doctor.curves import Curves
from trainscope.doctor.diagnose import diagnose
from trainscope.doctor.finding import Finding, Severity
from trainscope.doctor.groups import inconsistent
from trainscope.doctor.lr_range import LRSuggestion, suggest_learn_rate

__all__ = [
    "Curves",
    "Finding",
    "LRSuggestion",
    "RunContext",
    "Severity",
    "diagnose",
    "inconsistent",
    "suggest_learn_rate",
]
