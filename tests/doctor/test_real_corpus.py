"""The doctor on real engine runs (tests/doctor/corpus, built by benchmarks/doctor_corpus.py):
the misses issue 18 found on real curves, each pinned to a stored run."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tests.doctor.real_corpus import diagnose_run, load_corpus, run_by_name

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from doctor_corpus import label_of  # the labels live with the corpus builder


def codes(name: str) -> set[str]:
    return {f.code for f in diagnose_run(run_by_name(name)) if f.severity != "ok"}


def test_the_corpus_is_large_and_loads() -> None:
    runs = load_corpus()
    assert len(runs) >= 60
    # A run the engine stopped at NaN/Inf can be short (6 iterations at a learn rate 1e5).
    assert all(len(r["iteration"]) > 20 for r in runs if r["status"] != "diverged")
    assert all(len(r["iteration"]) >= 5 for r in runs)


def test_every_finding_code_has_five_real_examples() -> None:
    labels = Counter(code for r in load_corpus() for code in label_of(r["name"]))
    for code in (
        "diverged",
        "loss-spikes",
        "too-slow",
        "overfitting",
        "plateau",
        "underfitting",
        "still-improving",
        "initial-loss",
    ):
        assert labels[code] >= 5, (code, labels)
    diverged = [r for r in load_corpus() if "diverged" in label_of(r["name"])]
    assert all(r["status"] == "diverged" for r in diverged)


def test_a_memorised_training_set_with_a_flat_validation_is_overfitting_not_a_plateau() -> None:
    # 80 training digits: training accuracy 1.00 and loss 6e-4, validation accuracy 0.91 and
    # flat for 130 epochs.
    for seed in (1, 2, 3):
        got = codes(f"memorise-digits-s{seed}")
        assert "overfitting" in got, got
        assert "plateau" not in got, got


def test_a_learn_rate_far_too_small_is_one_story_too_slow() -> None:
    for name in (
        "tooslow-digits-sgd",
        "tooslow-digits-sgdm",
        "tooslow-digits-adam",
        "tooslow-digits-rmsprop",
    ):
        got = codes(name)
        assert "too-slow" in got, (name, got)
        assert not got & {"underfitting", "plateau"}, (name, got)


def test_a_learn_rate_too_high_without_nan_is_unstable() -> None:
    # Early: first losses 6-9 rising to 12-15 (×6 the first) in 3 iterations (adam 0.1); a
    # burst to ×8 around iteration 20 ending at chance (sgdm 0.8); a jump to 1e20 that came
    # back to ×6 (sgd 50): never NaN, so not `diverged`, but unstable.
    for name in (
        "unstable-digits-adam-0.1-s1",
        "unstable-digits-sgdm-0.8-s2",
        "diverged-digits-sgd",
    ):
        found = {f.code: f for f in diagnose_run(run_by_name(name))}
        assert "loss-spikes" in found, (name, sorted(found))
        assert found["loss-spikes"].patch is not None
