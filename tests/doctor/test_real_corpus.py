"""The doctor on real engine runs (tests/doctor/corpus, built by benchmarks/doctor_corpus.py):
the misses issue 18 found on real curves, each pinned to a stored run."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

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


def test_a_run_that_diverged_to_nan_is_told_as_that_alone() -> None:
    # sgd/sgdm far too high on every preset: NaN/Inf within 6-36 iterations. The only other
    # finding allowed is the initialisation's (measured before any update).
    for r in load_corpus():
        if r["status"] != "diverged":
            continue
        found = {f.code: f for f in diagnose_run(r) if f.severity != "ok"}
        assert set(found) - {"initial-loss"} == {"diverged"}, (r["name"], sorted(found))
        lr = r["spec"]["options"]["initial_learn_rate"]
        patch = found["diverged"].patch
        assert patch is not None
        assert patch["options"]["initial_learn_rate"] == pytest.approx(lr / 10)


def test_a_model_too_small_is_one_story_underfitting() -> None:
    # A one-unit bottleneck on sequences (accuracy 0.39/0.39, flat from a third of the run on)
    # and a linear model on spirals: no plateau to schedule, no epochs to add on top.
    for name in ("underfit-seq-fc1", "underfit-spirals-linear-s5", "underfit-digits-fc1"):
        assert codes(name) == {"underfitting"}, name


def test_a_learn_rate_far_too_small_in_a_short_run_is_too_slow() -> None:
    # 72-96 iterations in all (spirals, the GRU, the CNN): fewer than too-slow's 100.
    for name in ("tooslow-spirals-adam", "tooslow-seq-gru", "tooslow-sine-mlp-adam"):
        got = codes(name)
        assert "too-slow" in got and "underfitting" not in got, (name, got)


def test_a_flat_loss_at_a_high_learn_rate_is_not_too_slow() -> None:
    # A linear model on spirals at adam 0.01 (10× adam's default): ×10 is no cure.
    for seed in (1, 2, 4):
        got = codes(f"underfit-spirals-linear-s{seed}")
        assert got == {"underfitting"}, got


def test_an_explosion_within_the_first_iterations_is_unstable() -> None:
    # LSTM at adam 1.0: the loss 1.1 at iteration 1, then 11-19 for the next ones (which
    # lift a median over the first ten iterations with them), ending at 2.5 (chance 1.1).
    found = {f.code: f for f in diagnose_run(run_by_name("unstable-seq-lstm"))}
    assert set(found) == {"loss-spikes"}, sorted(found)
    assert found["loss-spikes"].evidence["first_loss"] < 2


def test_a_single_burst_the_run_never_recovers_from_is_unstable() -> None:
    # sgdm 0.8: one burst to 24 (×11 the start) around iteration 26, then at chance (2.34).
    assert codes("unstable-digits-sgdm-0.8-s1") == {"loss-spikes"}


def test_validation_loss_rising_over_a_flat_low_training_loss_is_overfitting() -> None:
    # val 0.125 → 0.22 while the training loss sat at 0.055-0.059; and (adam 0.05) val flat
    # and noisy at 0.19-0.30 while the training loss halved below it.
    for name in ("healthy-digits-sgdm-s2", "unstable-digits-adam-0.05-s1"):
        assert codes(name) == {"overfitting"}, name


def test_a_real_plateau_is_a_plateau() -> None:
    # 3000 noisy spiral points at a constant adam 0.01: both losses flat at ~0.3 for the
    # second half; the fix is a learn-rate drop at the epoch it began.
    for seed in (1, 2, 5):
        found = {f.code: f for f in diagnose_run(run_by_name(f"flat-spirals-adam-s{seed}"))}
        assert set(found) == {"plateau"}, sorted(found)
        assert found["plateau"].patch is not None
        assert found["plateau"].patch["options"]["learn_rate_schedule"] == "piecewise"


def test_an_annealed_run_still_falling_at_its_end_is_still_improving() -> None:
    # Cosine and linear to 0 over 40 epochs: val 0.134 → 0.112 and 0.141 → 0.097 over the
    # last third, best at the end (the last steps' lr ratios are no step-schedule drops).
    for name in ("healthy-spirals-cosine", "healthy-spirals-linear"):
        assert codes(name) == {"still-improving"}, name


def test_the_real_corpus_figures_hold() -> None:
    # What benchmarks/doctor_accuracy.py --corpus real measured (docs/benchmarks.md): these
    # codes at ≥ 0.9 precision and recall, and no healthy run given a warning.
    from doctor_accuracy import score_real

    real = score_real()
    for code in ("diverged", "loss-spikes", "too-slow", "underfitting", "initial-loss"):
        row = real["per_code"][code]
        assert min(row["precision"], row["recall"]) >= 0.9, (code, row)
    healthy = [r for r in load_corpus() if not label_of(r["name"])]
    for r in healthy:
        assert not [f for f in diagnose_run(r) if f.severity in ("warning", "critical")]
