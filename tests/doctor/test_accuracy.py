"""The doctor on the labelled synthetic runs (a small slice of benchmarks/doctor_accuracy.py):
a guard against a rule change that breaks what the benchmark measured."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from tests.doctor.labelled import labelled_cases, overfitting_shape, with_spikes
from tests.doctor.synthetic import make_run
from trainscope.doctor import diagnose

CASES = labelled_cases(4, seed=5)


def scores(max_points: int | None) -> dict[str, tuple[float, float]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for case in CASES:
        fired = {
            f.code
            for f in diagnose(case.run.curves(max_points), case.run.context())
            if f.severity != "ok"
        }
        for code in fired | case.labels:
            if code in fired and code in case.labels:
                tp[code] += 1
            elif code in fired:
                fp[code] += 1
            else:
                fn[code] += 1
    return {
        code: (tp[code] / max(1, tp[code] + fp[code]), tp[code] / max(1, tp[code] + fn[code]))
        for code in set(tp) | set(fp) | set(fn)
    }


@pytest.mark.parametrize("max_points", [None, 500])
def test_precision_and_recall_per_code(max_points: int | None) -> None:
    result = scores(max_points)
    assert len(result) == 11  # every code diagnose gives (inconsistent is for groups)
    low = {code: pr for code, pr in result.items() if min(pr) < 0.85}
    assert low == {}


def test_healthy_runs_get_no_warning() -> None:
    for case in CASES:
        if case.scenario.startswith("healthy"):
            findings = diagnose(case.run.curves(), case.run.context())
            assert [f.code for f in findings if f.severity in ("warning", "critical")] == []


def test_a_20000_point_run_takes_milliseconds() -> None:
    rng = np.random.default_rng(0)
    shape = replace(
        with_spikes(rng, overfitting_shape(rng)),
        per_epoch=100,
        epochs=200,
        stop_at=None,
        validations=400,
    )
    run = make_run(rng, shape)
    curves, ctx = run.curves(), run.context()
    assert len(curves) == 20_000
    diagnose(curves, ctx)
    began = time.perf_counter()
    for _ in range(10):
        found = diagnose(curves, ctx)
    per_call = (time.perf_counter() - began) / 10
    assert {"overfitting", "loss-spikes"} <= {f.code for f in found}
    assert per_call < 0.05  # a sanity bound; the benchmark measures ~2 ms
