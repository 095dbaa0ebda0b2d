"""The corpus of real engine runs (tests/doctor/corpus/real_runs.json.gz), as the doctor reads
it: built and labelled by benchmarks/doctor_corpus.py."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

from trainscope.doctor import Curves, Finding, RunContext, diagnose
from trainscope.schemas.options import TrainingOptions

CORPUS = Path(__file__).parent / "corpus" / "real_runs.json.gz"


def _restore(v: Any) -> Any:
    """JSON has no Inf: the builder wrote "inf"/"-inf"."""
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    if isinstance(v, list):
        return [_restore(x) for x in v]
    if isinstance(v, dict):
        return {k: _restore(x) for k, x in v.items()}
    return v


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The stored runs; a training loss that was NaN (stored as null, its row listed in
    nan_rows) is NaN again."""
    with gzip.open(path, "rt") as f:
        runs = [_restore(r) for r in json.load(f)["runs"]]
    for r in runs:
        loss = r["values"].get("train_loss")
        for row in r["nan_rows"]:
            if loss is not None and loss[row] is None:
                loss[row] = math.nan
    return runs


def run_by_name(name: str) -> dict[str, Any]:
    return next(r for r in load_corpus() if r["name"] == name)


def diagnose_run(r: dict[str, Any]) -> list[Finding]:
    """The doctor's findings on a stored run, as the dashboard would give them at its end."""
    curves = Curves.from_columns(r["iteration"], r["epoch"], r["values"], r["info"])
    ctx = RunContext(
        options=TrainingOptions.model_validate(r["spec"]["options"]),
        ended=True,
        status=r["status"],
        finish_reason=r["finish_reason"],
        layers=tuple(r["info"].get("layers") or ()),
    )
    return diagnose(curves, ctx)
