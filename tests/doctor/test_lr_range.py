"""suggest_learn_rate on range-test curves whose right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainscope.doctor import suggest_learn_rate


def sweep(
    n: int, steep: float, blow_decades: float, noise: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Loss that falls fastest at `steep` (a logistic step in log lr) and explodes
    `blow_decades` later."""
    lr = 1e-7 * (10 / 1e-7) ** (np.arange(n) / (n - 1))
    x = np.log10(lr)
    a = math.log10(steep)
    loss = 2.3 - 1.8 / (1 + np.exp(-(x - a) / 0.3)) + 0.1 * np.exp((x - a - blow_decades) / 0.12)
    rng = np.random.default_rng(seed)
    return lr, loss * np.exp(noise * rng.standard_normal(n))


@pytest.mark.parametrize("steep", [1e-4, 1e-3, 1e-2])
@pytest.mark.parametrize("n", [100, 300, 1000])
def test_steepest_minimum_and_suggestion_on_known_curves(steep: float, n: int) -> None:
    lr, loss = sweep(n, steep, 1.3, 0.03)
    s = suggest_learn_rate(lr, loss)
    assert s is not None
    assert abs(math.log10(s.steepest / steep)) < 0.35  # within ×2.2 of the true steepest
    assert steep < s.min_loss < steep * 10**1.3  # between the descent and the explosion
    assert s.suggested == min(s.steepest, float(f"{s.min_loss / 10:.3g}"))
    assert abs(math.log10(s.suggested / steep)) < 0.5
    assert s.exploded_at is not None and s.exploded_at > s.min_loss


def test_the_first_non_finite_loss_is_where_it_exploded() -> None:
    lr, loss = sweep(300, 1e-3, 1.3, 0.02)
    cut = 250
    loss = loss[: cut + 1].copy()
    loss[cut] = math.nan
    s = suggest_learn_rate(lr[: cut + 1], loss)
    assert s is not None and s.exploded_at is not None
    assert s.exploded_at <= lr[cut]


def test_too_few_points_give_none() -> None:
    lr, loss = sweep(15, 1e-3, 1.3, 0.0)
    assert suggest_learn_rate(lr, loss) is None
    assert suggest_learn_rate(np.full(50, np.nan), np.ones(50)) is None
    assert suggest_learn_rate(np.full(50, 0.01), np.ones(50)) is None  # no sweep at all
