"""overfitting, plateau, underfitting and still-improving on scripted curves."""

from __future__ import annotations

import numpy as np

from tests.doctor.scripted import accuracy_of, codes, context, decay, noisy, scripted
from trainscope.doctor import Finding, diagnose


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


def u_shaped(n: int, turn: int, low: float = 0.3, rise: float = 0.5) -> np.ndarray:
    """A validation loss falling to `low` at iteration `turn`, then rising by `rise`."""
    t = np.arange(1, n + 1, dtype=np.float64)
    down = low + (2.3 - low) * np.exp(-t / (turn / 5))
    up = low * (1 + rise * np.clip((t - turn) / (n - turn), 0, 1))
    return np.where(t <= turn, down, up)


# ---- overfitting -------------------------------------------------------------------------


def test_validation_loss_rising_from_400_while_training_falls_is_overfitting_at_400() -> None:
    """What a user checks: the finding sits at the minimum of the validation loss and the
    patch stops training at that epoch and keeps the best network."""
    n = 1000
    train = noisy(decay(n, 2.3, 0.02, tau=200), 0.03)
    val = noisy(u_shaped(n, 400), 0.01, seed=1)
    curves = scripted(train, val_loss=val, val_every=50, per_epoch=50, max_epochs=40)
    f = by_code(diagnose(curves, context(max_epochs=40, l2_regularization=1e-4)))["overfitting"]
    assert f.severity == "warning"
    assert 350 <= (f.iteration or 0) <= 450
    assert f.evidence["best_epoch"] == (f.iteration or 0) // 50
    assert f.patch == {
        "options": {
            "max_epochs": f.evidence["best_epoch"],
            "validation_patience": 5,
            "output_network": "best-validation-loss",
            "l2_regularization": 0.001,
        }
    }
    assert f.message.startswith("Validation loss rose ")
    assert "while training loss kept falling" in f.message
    assert f.evidence["by_loss"] is True


def test_a_wide_accuracy_gap_is_overfitting_too() -> None:
    n = 1000
    train = decay(n, 2.3, 0.05)
    val = decay(n, 2.3, 0.6)
    acc, val_acc = accuracy_of(train), accuracy_of(val) - 0.12
    curves = scripted(
        train, val_loss=val, train_metric=acc, val_metric=val_acc, val_every=50, per_epoch=50
    )
    f = by_code(diagnose(curves, context(max_epochs=20, l2_regularization=0.01)))["overfitting"]
    assert f.evidence["by_accuracy_gap"] is True and f.evidence["by_loss"] is False
    assert float(f.evidence["accuracy_gap"]) > 0.1  # type: ignore[arg-type]
    assert f.message.startswith("Training accuracy is ")
    assert f.patch is not None
    assert f.patch["options"]["l2_regularization"] == 0.1  # ×10 of this run's
    assert "max_epochs" not in f.patch["options"]  # the best epoch is the last one


def test_validation_following_training_is_not_overfitting() -> None:
    n = 1000
    train = noisy(decay(n, 2.3, 0.3), 0.05)
    val = noisy(decay(n, 2.3, 0.32), 0.01, seed=2)
    curves = scripted(
        train,
        val_loss=val,
        train_metric=accuracy_of(train),
        val_metric=accuracy_of(val),
        val_every=50,
        per_epoch=50,
    )
    assert "overfitting" not in codes(diagnose(curves, context(max_epochs=20)))


# ---- plateau ---------------------------------------------------------------------------


def plateau_run(n: int = 2000, lr: float | np.ndarray = 0.01) -> tuple[np.ndarray, np.ndarray]:
    train = noisy(decay(n, 2.3, 0.4, tau=60), 0.03)
    val = noisy(decay(n, 2.3, 0.45, tau=60), 0.005, seed=3)
    return train, val


def test_a_flat_validation_loss_at_a_constant_learn_rate_is_a_plateau() -> None:
    train, val = plateau_run()
    curves = scripted(train, val_loss=val, val_every=50, per_epoch=100)
    f = by_code(diagnose(curves, context(max_epochs=40)))["plateau"]
    assert f.iteration is not None and f.iteration <= 500  # it went flat early
    epoch = f.evidence["since_epoch"]
    assert f.patch == {
        "options": {
            "learn_rate_schedule": "piecewise",
            "learn_rate_drop_factor": 0.1,
            "learn_rate_drop_period": epoch,
        }
    }
    assert f.severity == "warning"  # flat for most of the run
    assert "at a constant learn rate 0.01" in f.message


def test_plateau_schedule_gets_a_shorter_period() -> None:
    train, val = plateau_run()
    curves = scripted(train, val_loss=val, val_every=50, per_epoch=100)
    ctx = context(max_epochs=40, learn_rate_schedule="plateau", learn_rate_drop_period=20)
    f = by_code(diagnose(curves, ctx))["plateau"]
    assert f.patch == {"options": {"learn_rate_drop_period": 10}}


def test_no_plateau_when_the_learn_rate_moves_or_the_loss_never_fell() -> None:
    train, val = plateau_run()
    cosine = 0.005 * (1 + np.cos(np.pi * np.arange(2000) / 2000))
    curves = scripted(train, val_loss=val, val_every=50, per_epoch=100, learn_rate=cosine)
    ctx = context(max_epochs=20, learn_rate_schedule="cosine")
    assert "plateau" not in codes(diagnose(curves, ctx))
    flat = noisy(np.full(2000, 2.3), 0.02)
    never = scripted(flat, val_loss=flat * 1.01, val_every=50, per_epoch=100)
    assert "plateau" not in codes(diagnose(never, context(max_epochs=20)))


def test_rising_validation_is_overfitting_not_plateau() -> None:
    n = 2000
    train = noisy(decay(n, 2.3, 0.02, tau=300), 0.03)
    val = u_shaped(n, 600, rise=0.6)
    found = codes(diagnose(scripted(train, val_loss=val, val_every=50, per_epoch=100), context()))
    assert "overfitting" in found and "plateau" not in found


def test_a_slowly_improving_validation_loss_is_no_plateau() -> None:
    n = 2000
    train = noisy(decay(n, 2.3, 0.1, tau=1500), 0.03)
    val = noisy(decay(n, 2.3, 0.12, tau=1500), 0.01, seed=4)
    curves = scripted(train, val_loss=val, val_every=50, per_epoch=100)
    assert "plateau" not in codes(diagnose(curves, context(max_epochs=20)))


# ---- underfitting ------------------------------------------------------------------------


def poor_run(n: int = 3000, ended: bool = True) -> tuple[np.ndarray, ...]:
    train = noisy(decay(n, 2.3, 1.75, tau=100), 0.03)
    val = decay(n, 2.3, 1.78, tau=100)
    return train, val, accuracy_of(train), accuracy_of(val)


def test_poor_close_and_flat_is_underfitting_with_more_epochs_and_less_l2() -> None:
    train, val, acc, val_acc = poor_run()
    curves = scripted(
        train, val_loss=val, train_metric=acc, val_metric=val_acc, val_every=100, per_epoch=100
    )
    ctx = context(ended=True, max_epochs=30, learn_rate_schedule="cosine")
    f = by_code(diagnose(curves, ctx))["underfitting"]
    assert f.iteration == 3000
    assert f.patch == {"options": {"max_epochs": 60, "l2_regularization": 1e-5}}
    assert "bigger model" in f.message
    assert float(f.evidence["val_accuracy"]) < 0.6  # type: ignore[arg-type]


def test_underfitting_waits_for_the_end_or_half_the_epochs() -> None:
    train, val, acc, val_acc = poor_run(1000)
    curves = scripted(
        train, val_loss=val, train_metric=acc, val_metric=val_acc, val_every=100, per_epoch=100
    )
    assert "underfitting" not in codes(diagnose(curves, context(max_epochs=30)))  # 10 of 30
    assert "underfitting" in codes(diagnose(curves, context(max_epochs=18)))  # 10 of 18


def test_good_accuracy_is_not_underfitting() -> None:
    n = 3000
    train = noisy(decay(n, 2.3, 0.3, tau=100), 0.03)
    val = decay(n, 2.3, 0.32, tau=100)
    curves = scripted(
        train,
        val_loss=val,
        train_metric=accuracy_of(train),
        val_metric=accuracy_of(val),
        val_every=100,
        per_epoch=100,
    )
    ctx = context(ended=True, max_epochs=30, learn_rate_schedule="cosine")
    assert "underfitting" not in codes(diagnose(curves, ctx))


# ---- still-improving ---------------------------------------------------------------------


def still_falling(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    train = noisy(decay(n, 2.3, 0.1, tau=2000), 0.03)
    val = noisy(decay(n, 2.3, 0.12, tau=2000), 0.005, seed=5)
    return train, val


def test_ended_while_still_improving_suggests_twice_the_epochs() -> None:
    train, val = still_falling()
    curves = scripted(train, val_loss=val, val_every=100, per_epoch=100)
    f = by_code(diagnose(curves, context(ended=True, max_epochs=30)))["still-improving"]
    assert f.severity == "info" and f.iteration == 3000
    assert f.patch == {"options": {"max_epochs": 60}}
    assert f.fix == "Restart with max_epochs 60 (×2)"
    assert "still falling when the run ended at epoch 30" in f.message


def test_still_improving_only_for_runs_that_completed_their_epochs() -> None:
    train, val = still_falling()
    curves = scripted(train, val_loss=val, val_every=100, per_epoch=100)
    assert "still-improving" not in codes(diagnose(curves, context(max_epochs=30)))  # running
    stopped = context(ended=True, status="stopped", max_epochs=30)
    assert "still-improving" not in codes(diagnose(curves, stopped))
    patience = context(ended=True, finish_reason="validation-patience", max_epochs=30)
    assert "still-improving" not in codes(diagnose(curves, patience))


def test_a_converged_run_is_not_still_improving() -> None:
    n = 3000
    train = noisy(decay(n, 2.3, 0.3, tau=300), 0.03)
    val = noisy(decay(n, 2.3, 0.32, tau=300), 0.005, seed=6)
    curves = scripted(train, val_loss=val, val_every=100, per_epoch=100)
    ctx = context(ended=True, max_epochs=30, learn_rate_schedule="cosine")
    assert "still-improving" not in codes(diagnose(curves, ctx))
