"""The preflight kinds: initial-loss and overfit-batch verdicts, lr-range-test suggestions,
and the training rules kept out of them."""

from __future__ import annotations

import math

import numpy as np

from tests.doctor.scripted import accuracy_of, codes, context, decay, noisy, scripted
from trainscope.doctor import diagnose


def test_initial_loss_check_says_ok_with_the_numbers() -> None:
    found = diagnose(scripted([2.31]), context(kind="initial-loss", ended=True))
    assert [(f.code, f.severity) for f in found] == [("initial-loss", "ok")]
    assert found[0].message.startswith("First loss 2.31 ≈ ln(10) = 2.30")


def test_initial_loss_check_warns_when_off() -> None:
    found = diagnose(scripted([6.1]), context(kind="initial-loss", ended=True))
    assert [(f.code, f.severity) for f in found] == [("initial-loss", "warning")]
    reg = diagnose(scripted([1.2], task="regression"), context(kind="initial-loss", ended=True))
    assert [(f.code, f.severity) for f in reg] == [("initial-loss", "info")]


def test_overfit_batch_that_fits_is_ok() -> None:
    loss = noisy(decay(200, 2.3, 0.001, tau=20), 0.05)
    curves = scripted(loss, train_metric=np.minimum(1.0, accuracy_of(loss) + 0.01), per_epoch=4)
    found = {f.code: f for f in diagnose(curves, context(kind="overfit-batch", ended=True))}
    assert found["overfit-batch"].severity == "ok"
    assert "fits its 4 mini-batches" in found["overfit-batch"].message
    assert found["initial-loss"].severity == "ok"
    assert set(found) == {"overfit-batch", "initial-loss"}  # no overfitting, no plateau


def test_overfit_batch_that_cannot_fit_is_critical() -> None:
    loss = noisy(decay(200, 2.3, 1.2, tau=20), 0.05)
    curves = scripted(loss, train_metric=accuracy_of(loss), per_epoch=4)
    f = {x.code: x for x in diagnose(curves, context(kind="overfit-batch", ended=True))}
    assert f["overfit-batch"].severity == "critical"
    assert "cannot fit its 4 mini-batches" in f["overfit-batch"].message
    assert "check the labels" in f["overfit-batch"].message
    assert float(f["overfit-batch"].evidence["train_accuracy"]) < 0.99  # type: ignore[arg-type]


def test_overfit_batch_regression_and_while_running() -> None:
    fits = scripted(decay(200, 1.0, 0.001, tau=20), task="regression", per_epoch=4)
    found = {f.code: f for f in diagnose(fits, context(kind="overfit-batch", ended=True))}
    assert found["overfit-batch"].severity == "ok"
    stuck = scripted(decay(200, 1.0, 0.3, tau=20), task="regression", per_epoch=4)
    found = {f.code: f for f in diagnose(stuck, context(kind="overfit-batch", ended=True))}
    assert found["overfit-batch"].severity == "critical"
    assert "overfit-batch" not in codes(diagnose(stuck, context(kind="overfit-batch")))


def range_test(n: int = 300, steep: float = 1e-3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    lr = 1e-7 * (10 / 1e-7) ** (np.arange(n) / (n - 1))
    x = np.log10(lr)
    a = math.log10(steep)
    loss = 2.3 - 1.8 / (1 + np.exp(-(x - a) / 0.3)) + 0.1 * np.exp((x - a - 1.3) / 0.12)
    loss = noisy(loss, 0.03, seed)
    over = np.flatnonzero(loss > 23)
    if len(over):
        loss, lr = loss[: over[0] + 1], lr[: over[0] + 1]
        loss[-1] = math.nan
    return lr, loss


def test_lr_range_test_suggests_a_learn_rate_and_nothing_else() -> None:
    lr, loss = range_test()
    curves = scripted(loss, learn_rate=lr, per_epoch=len(loss))
    found = diagnose(curves, context(kind="lr-range-test", ended=True, status="diverged"))
    assert [f.code for f in found] == ["lr-range"]  # no diverged, no spikes, no too-slow
    f = found[0]
    suggested = float(f.evidence["suggested"])  # type: ignore[arg-type]
    assert 3e-4 <= suggested <= 2e-3
    assert f.patch == {"kind": "train", "options": {"initial_learn_rate": suggested}}
    assert f.fix is not None and f.fix.startswith("Train with initial_learn_rate")
    assert set(f.evidence) >= {"suggested", "min_loss_lr", "steepest_lr", "exploded_at"}
    assert f.iteration is not None and lr[f.iteration - 1] >= suggested


def test_lr_range_waits_while_the_test_has_not_exploded() -> None:
    lr, loss = range_test()
    early = scripted(loss[:150], learn_rate=lr[:150], per_epoch=300)
    assert diagnose(early, context(kind="lr-range-test")) == []
