"""Worker side: metrics read from a script's stdout lines (TEMPORARY stand-in, replaced by
trainscope.entrypoints' parser at merge)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainscope.schemas.metric_names import canonical

_PAIR = re.compile(r"([A-Za-z][\w /.-]*?)\s*[:=]?\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


@dataclass(frozen=True, slots=True)
class LineMetrics:
    values: dict[str, float]
    step: int | None = None
    epoch: int | None = None


class StdoutMetrics:
    def __init__(self, patterns: tuple[str, ...] = ()) -> None:
        self._patterns = [re.compile(p) for p in patterns]

    def parse(self, line: str) -> LineMetrics | None:
        values: dict[str, float] = {}
        step = epoch = None
        pairs = re.findall(r"([A-Za-z][A-Za-z_ ]*?)\s*[:=]\s*(-?[\d.]+(?:e-?\d+)?)", line)
        if "|" in line:
            pairs = [tuple(c.strip().rsplit(" ", 1)) for c in line.split("|") if " " in c.strip()]
        for name, number in pairs:
            key = name.strip().lower()
            if key in ("epoch",):
                epoch = int(float(number))
            elif key in ("step", "iteration", "iter"):
                step = int(float(number))
            else:
                values[canonical(key)] = float(number)
        return LineMetrics(values, step, epoch) if values else None
