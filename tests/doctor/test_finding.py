"""Finding.to_json and the order findings come in."""

from __future__ import annotations

import json
import math

import numpy as np

from tests.doctor.scripted import codes, context, decay, scripted
from trainscope.doctor import Finding, diagnose
from trainscope.doctor.finding import sort_findings


def test_to_json_is_strict_json_with_numpy_values_and_non_finite_numbers() -> None:
    finding = Finding(
        "diverged",
        "critical",
        np.int64(12),  # type: ignore[arg-type]
        "Training loss became NaN at iteration 12.",
        {"loss": math.nan, "ratio": np.float64(3.5), "spikes": np.int64(2), "ok": np.bool_(True)},  # type: ignore[dict-item]
        {"options": {"initial_learn_rate": np.float64(0.001), "gradient_threshold": math.inf}},
        "Restart with initial_learn_rate 0.001 (÷10)",
    )
    body = finding.to_json()
    text = json.dumps(body, allow_nan=False)
    assert json.loads(text) == {
        "code": "diverged",
        "severity": "critical",
        "iteration": 12,
        "message": "Training loss became NaN at iteration 12.",
        "evidence": {"loss": "NaN", "ratio": 3.5, "spikes": 2, "ok": True},
        "patch": {"options": {"initial_learn_rate": 0.001, "gradient_threshold": "Infinity"}},
        "fix": "Restart with initial_learn_rate 0.001 (÷10)",
    }


def test_sorted_by_severity_then_iteration() -> None:
    def f(code: str, severity: str, iteration: int | None) -> Finding:
        return Finding(code, severity, iteration, "", {})  # type: ignore[arg-type]

    ordered = sort_findings(
        [
            f("a", "info", 5),
            f("b", "critical", 9),
            f("c", "warning", 7),
            f("d", "warning", 3),
            f("e", "ok", 1),
            f("g", "info", None),
        ]
    )
    assert [x.code for x in ordered] == ["b", "d", "c", "a", "g", "e"]


def test_every_real_finding_serialises_strictly() -> None:
    # A diverged run with spikes: NaN and inf among the evidence.
    loss = np.concatenate([decay(300, 2.3, 0.5), [math.inf]])
    loss[150] *= 20
    findings = diagnose(scripted(loss), context(ended=True, status="diverged"))
    assert "diverged" in codes(findings)
    for finding in findings:
        json.dumps(finding.to_json(), allow_nan=False)
