"""diverged, loss-spikes, too-slow and initial-loss on scripted curves: each fires where it
should, with the numbers it quotes, and stays quiet on healthy curves."""

from __future__ import annotations

import math

import numpy as np

from tests.doctor.scripted import accuracy_of, codes, context, decay, noisy, scripted
from trainscope.doctor import Finding, diagnose


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


def healthy(n: int = 600, sigma: float = 0.05, seed: int = 0) -> np.ndarray:
    return noisy(decay(n, 2.3, 0.3), sigma, seed)


def test_a_healthy_run_gets_no_finding() -> None:
    for seed in range(5):
        loss = healthy(seed=seed)
        val = decay(600, 2.3, 0.35) * 1.02
        curves = scripted(
            loss,
            val_loss=val,
            train_metric=accuracy_of(loss),
            val_metric=accuracy_of(val),
            max_epochs=100,
        )
        assert diagnose(curves, context(max_epochs=100)) == []


# ---- diverged --------------------------------------------------------------------------


def test_nan_loss_is_diverged_with_the_learn_rate_divided_by_ten() -> None:
    loss = np.concatenate([decay(40, 2.3, 1.0), [math.nan]])
    found = by_code(diagnose(scripted(loss), context(initial_learn_rate=0.05)))
    f = found["diverged"]
    assert f.severity == "critical" and f.iteration == 41
    assert f.patch == {"options": {"initial_learn_rate": 0.005}}
    assert f.fix == "Restart with initial_learn_rate 0.005 (÷10)"
    assert "NaN at iteration 41" in f.message
    assert f.evidence["spikes_before"] == 0


def test_diverged_status_alone_is_enough() -> None:
    """The engine ended the run as diverged; the history holds only finite values."""
    found = by_code(diagnose(scripted(decay(50)), context(ended=True, status="diverged")))
    assert found["diverged"].iteration == 50


def test_spikes_before_the_nan_suggest_clipping_as_well() -> None:
    loss = noisy(decay(400, 2.3, 0.4), 0.03)
    loss[250] *= 15
    loss[320] *= 25
    loss = np.concatenate([loss, [math.inf]])
    f = by_code(diagnose(scripted(loss), context()))["diverged"]
    assert f.evidence["spikes_before"] == 2
    assert f.patch == {
        "options": {
            "initial_learn_rate": 0.001,
            "gradient_threshold": 1.0,
            "gradient_threshold_method": "global-l2norm",
        }
    }
    assert "Inf at iteration 401" in f.message and "2 spikes up to 25×" in f.message


def test_a_runaway_loss_before_the_nan_suggests_clipping() -> None:
    loss = decay(300, 2.3, 0.4)
    loss[250:] *= np.exp(np.linspace(0, math.log(40), 50))
    loss = np.concatenate([loss, [math.nan]])
    f = by_code(diagnose(scripted(loss), context()))["diverged"]
    assert f.evidence["runaway"] is True
    assert f.patch is not None and f.patch["options"]["gradient_threshold"] == 1.0


def test_with_clipping_on_a_diverged_run_only_lowers_the_learn_rate() -> None:
    loss = noisy(decay(400, 2.3, 0.4), 0.03)
    loss[250] *= 15
    loss = np.concatenate([loss, [math.nan]])
    ctx = context(gradient_threshold=5, gradient_threshold_method="global-l2norm")
    f = by_code(diagnose(scripted(loss), ctx))["diverged"]
    assert f.patch == {"options": {"initial_learn_rate": 0.001}}


def test_nan_at_the_first_iteration_mentions_the_data() -> None:
    f = by_code(diagnose(scripted([math.nan]), context(ended=True, status="diverged")))
    assert f["diverged"].iteration == 1
    assert "data" in f["diverged"].message
    assert "initial-loss" not in f  # no first loss to judge


# ---- loss-spikes ----------------------------------------------------------------------


def test_several_spikes_suggest_gradient_clipping() -> None:
    loss = healthy(1000, 0.05)
    for i, k in [(200, 8.0), (450, 20.0), (700, 5.0), (900, 12.0)]:
        loss[i] *= k
    f = by_code(diagnose(scripted(loss), context()))["loss-spikes"]
    assert f.severity == "warning"
    assert f.iteration == 201  # the first spike (rows are 0-based, iterations 1-based)
    assert f.evidence["spikes"] == 4 and f.evidence["largest_iteration"] == 451
    assert 15 < float(f.evidence["largest_ratio"]) < 25  # type: ignore[arg-type]
    assert f.patch == {
        "options": {"gradient_threshold": 1.0, "gradient_threshold_method": "global-l2norm"}
    }
    assert "4 times" in f.message and "iteration 451" in f.message


def test_spikes_with_clipping_already_on_lower_the_learn_rate() -> None:
    loss = healthy(1000, 0.05)
    for i in (200, 450, 700):
        loss[i] *= 10
    ctx = context(gradient_threshold=1, initial_learn_rate=0.03)
    f = by_code(diagnose(scripted(loss), ctx))["loss-spikes"]
    assert f.patch == {"options": {"initial_learn_rate": 0.01}}
    assert f.fix == "Restart with initial_learn_rate 0.01 (÷3)"


def test_noise_one_spike_or_small_bumps_are_not_spikes() -> None:
    for sigma in (0.02, 0.1, 0.2):
        assert "loss-spikes" not in codes(diagnose(scripted(healthy(2000, sigma)), context()))
    one = healthy(1000)
    one[500] *= 30
    assert "loss-spikes" not in codes(diagnose(scripted(one), context()))
    bumps = healthy(1000, 0.02)
    bumps[[200, 400, 600, 800]] *= 1.5  # well above the noise, but not a jump
    assert "loss-spikes" not in codes(diagnose(scripted(bumps), context()))


def test_heavy_tailed_noise_of_an_almost_zero_loss_is_not_spikes() -> None:
    loss = decay(2000, 2.3, 0.001, tau=100)
    rng = np.random.default_rng(1)
    loss = loss * np.exp(0.8 * rng.standard_normal(2000))  # ×5 swings at 0.001
    assert "loss-spikes" not in codes(diagnose(scripted(loss), context()))


# ---- too-slow ---------------------------------------------------------------------------


def test_a_loss_that_barely_moves_in_100_iterations_is_too_slow() -> None:
    loss = noisy(2.3 - 0.0002 * np.arange(300), 0.02)
    f = by_code(diagnose(scripted(loss), context(initial_learn_rate=1e-4)))["too-slow"]
    assert f.iteration == 100 and f.severity == "warning"
    assert f.patch == {"options": {"initial_learn_rate": 0.001}}
    assert abs(float(f.evidence["relative_change"])) < 0.05  # type: ignore[arg-type]
    assert "first 100 iterations" in f.message


def test_too_slow_needs_100_iterations_and_ignores_warm_up_and_range_tests() -> None:
    flat = noisy(np.full(300, 2.3), 0.02)
    assert "too-slow" not in codes(diagnose(scripted(flat[:90]), context()))
    # With 10 warm-up epochs of 10 iterations, the window is iterations 101-200.
    warm = np.concatenate([np.full(100, 2.3), decay(200, 2.3, 0.5, tau=30)])
    assert "too-slow" not in codes(diagnose(scripted(warm), context(warmup_epochs=10)))
    assert "too-slow" in codes(diagnose(scripted(warm), context()))
    assert "too-slow" not in codes(diagnose(scripted(flat), context(kind="lr-range-test")))


def test_a_fast_drop_then_flat_is_not_too_slow() -> None:
    loss = noisy(decay(300, 2.3, 1.5, tau=4), 0.02)  # down within 10 iterations, then flat
    assert "too-slow" not in codes(diagnose(scripted(loss), context()))


# ---- initial-loss ------------------------------------------------------------------------


def test_a_first_loss_far_from_ln_c_is_flagged() -> None:
    loss = decay(200, 9.0, 0.3, tau=20)
    f = by_code(diagnose(scripted(loss), context()))["initial-loss"]
    assert f.iteration == 1 and f.severity == "warning" and f.patch is None
    assert f.evidence["expected"] == math.log(10)
    assert "ln(10) = 2.30" in f.message
    low = decay(200, 0.4, 0.1)
    assert "initial-loss" in codes(diagnose(scripted(low), context()))


def test_a_first_loss_near_ln_c_is_fine_and_regression_has_no_expectation() -> None:
    assert "initial-loss" not in codes(diagnose(scripted(decay(200, 2.5, 0.3)), context()))
    binary = scripted(decay(200, 0.75, 0.2), n_classes=2)
    assert "initial-loss" not in codes(diagnose(binary, context()))
    reg = scripted(decay(200, 30.0, 0.3), task="regression")
    assert "initial-loss" not in codes(diagnose(reg, context()))
