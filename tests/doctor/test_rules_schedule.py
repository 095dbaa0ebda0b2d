"""lr-decay-too-early: a step drop while the loss was still falling steeply."""

from __future__ import annotations

import numpy as np

from tests.doctor.scripted import codes, context, noisy, scripted
from trainscope.doctor import Curves, diagnose


def piecewise_run(
    period_epochs: int, tau: float, n: int = 2000, per_epoch: int = 50
) -> tuple[Curves, np.ndarray]:
    """Loss driven by the learn rate spent: a drop slows progress tenfold."""
    it = np.arange(n)
    lr = 0.01 * 0.1 ** (it // (period_epochs * per_epoch))
    spent = np.cumsum(lr / 0.01)
    floor = 0.2 * (1 + 0.3 * lr / 0.01)
    loss = noisy(floor + (2.3 - 0.26) * np.exp(-spent / tau), 0.02)
    return scripted(loss, learn_rate=lr, per_epoch=per_epoch), lr


def test_a_drop_while_still_falling_steeply_is_too_early() -> None:
    curves, _ = piecewise_run(period_epochs=10, tau=600)  # drop at iteration 501
    ctx = context(learn_rate_schedule="piecewise", learn_rate_drop_period=10, max_epochs=40)
    found = {f.code: f for f in diagnose(curves, ctx)}
    f = found["lr-decay-too-early"]
    assert f.iteration == 501 and f.severity == "info"
    assert f.evidence["drop_epoch"] == 11
    assert f.evidence["learn_rate_before"] == 0.01
    assert abs(float(f.evidence["learn_rate_after"]) - 0.001) < 1e-12  # type: ignore[arg-type]
    period = f.patch["options"]["learn_rate_drop_period"] if f.patch else None
    assert period is not None and period > 10
    assert "still falling" in f.message
    assert "plateau" not in found  # the flat stretch after the drop is this finding's


def test_a_drop_on_a_plateau_is_well_timed() -> None:
    curves, _ = piecewise_run(period_epochs=10, tau=60)  # converged long before the drop
    ctx = context(learn_rate_schedule="piecewise", learn_rate_drop_period=10, max_epochs=40)
    assert "lr-decay-too-early" not in codes(diagnose(curves, ctx))


def test_only_step_schedules_are_looked_at() -> None:
    curves, _ = piecewise_run(period_epochs=10, tau=600)
    assert "lr-decay-too-early" not in codes(diagnose(curves, context(max_epochs=40)))
