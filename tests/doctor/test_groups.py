"""inconsistent: repeats with other seeds spread wider than what they were to judge."""

from __future__ import annotations

from trainscope.doctor import inconsistent


def test_spread_wider_than_the_compared_difference_fires() -> None:
    f = inconsistent([0.81, 0.88, 0.84], 0.03, "val_accuracy", iteration=900)
    assert f is not None and f.code == "inconsistent" and f.severity == "warning"
    assert f.iteration == 900
    assert abs(float(f.evidence["spread"]) - 0.07) < 1e-12  # type: ignore[arg-type]
    assert "7.0 points" in f.message and "3.0 points" in f.message
    assert inconsistent([0.81, 0.82], 0.03, "val_accuracy") is None
    assert inconsistent([0.81, 0.88], -0.10, "val_accuracy") is None  # |difference| counts


def test_without_a_difference_large_spreads_fire() -> None:
    assert inconsistent([0.80, 0.86], None, "val_accuracy") is not None  # 6 points
    assert inconsistent([0.80, 0.84], None, "val_accuracy") is None
    f = inconsistent([0.30, 0.40], None, "val_loss")  # 29 % of the mean
    assert f is not None and "29% of their mean" in f.message
    assert inconsistent([0.30, 0.33], None, "val_rmse") is None


def test_fewer_than_two_finite_values_give_none() -> None:
    assert inconsistent([0.8], None, "val_accuracy") is None
    assert inconsistent([0.8, float("nan")], 0.0, "val_accuracy") is None
