"""Learning-rate schedules: the right rate at every iteration (DESIGN §4)."""

from __future__ import annotations

import itertools
import math

import pytest

from trainscope.engine.schedules import PlateauState, learn_rate_at
from trainscope.schemas.options import TrainingOptions

IPE = 5  # iterations per epoch
EPOCHS = 30
MAX_IT = IPE * EPOCHS


def rates(**opts: object) -> list[tuple[int, int, float]]:
    o = TrainingOptions.model_validate({"max_epochs": EPOCHS, **opts})
    out = []
    for it in range(1, MAX_IT + 1):
        epoch = (it - 1) // IPE + 1
        out.append((it, epoch, learn_rate_at(o, it, epoch, IPE, MAX_IT)))
    return out


def test_none_is_constant() -> None:
    assert {lr for _, _, lr in rates(initial_learn_rate=0.05)} == {0.05}


def test_piecewise_drops_at_epoch_boundaries_per_matlab() -> None:
    for it, epoch, lr in rates(
        learn_rate_schedule="piecewise", learn_rate_drop_period=10, learn_rate_drop_factor=0.1
    ):
        assert lr == pytest.approx(0.01 * 0.1 ** ((epoch - 1) // 10)), it
    got = rates(
        learn_rate_schedule="piecewise", learn_rate_drop_period=3, learn_rate_drop_factor=0.5
    )
    # Constant within an epoch, and the first change is at the first iteration of epoch 4.
    changes = [it for (it, _, a), (_, _, b) in itertools.pairwise(got) if a != b]
    assert changes[0] == 3 * IPE
    assert all(c % IPE == 0 for c in changes)
    assert got[3 * IPE][2] == pytest.approx(0.005)


def test_exponential_meets_piecewise_at_each_period() -> None:
    got = rates(
        learn_rate_schedule="exponential", learn_rate_drop_period=2, learn_rate_drop_factor=0.25
    )
    for _it, epoch, lr in got:
        assert lr == pytest.approx(0.01 * 0.25 ** ((epoch - 1) / 2))
    assert got[2 * IPE][2] == pytest.approx(0.01 * 0.25)


def test_cosine_decays_every_iteration_from_initial() -> None:
    got = [lr for _, _, lr in rates(learn_rate_schedule="cosine", initial_learn_rate=0.1)]
    assert got[0] == pytest.approx(0.1)
    assert all(b < a for a, b in itertools.pairwise(got))
    assert got[MAX_IT // 2] == pytest.approx(0.05)
    assert 0 < got[-1] < 1e-3


def test_linear_decays_every_iteration_to_near_zero() -> None:
    got = [lr for _, _, lr in rates(learn_rate_schedule="linear", initial_learn_rate=0.1)]
    assert got[0] == pytest.approx(0.1)
    steps = {round(a - b, 12) for a, b in itertools.pairwise(got)}
    assert steps == {round(0.1 / MAX_IT, 12)}
    assert got[-1] == pytest.approx(0.1 / MAX_IT)


def test_inverse_sqrt() -> None:
    for it, _, lr in rates(learn_rate_schedule="inverse-sqrt"):
        assert lr == pytest.approx(0.01 / math.sqrt(1 + (it - 1) / IPE))


def test_warmup_ramps_linearly_then_hands_over() -> None:
    got = rates(learn_rate_schedule="cosine", warmup_epochs=2, initial_learn_rate=0.1)
    w = 2 * IPE
    for it, _, lr in got[:w]:
        assert lr == pytest.approx(0.1 * it / w)
    assert got[w][2] == pytest.approx(0.1)  # the first iteration after warm-up: cosine starts
    assert got[w + 1][2] < 0.1


def test_plateau_drops_after_drop_period_stale_validations() -> None:
    o = TrainingOptions(
        learn_rate_schedule="plateau", learn_rate_drop_period=2, learn_rate_drop_factor=0.5
    )
    p = PlateauState()
    p.update(o, improved=True)
    p.update(o, improved=False)
    assert p.scale == 1.0
    p.update(o, improved=False)
    assert p.scale == 0.5
    p.update(o, improved=False)
    p.update(o, improved=True)
    p.update(o, improved=False)
    assert p.scale == 0.5
    p.update(o, improved=False)
    assert p.scale == 0.25


def test_plateau_state_is_inert_for_other_schedules() -> None:
    o = TrainingOptions(learn_rate_schedule="none", learn_rate_drop_period=1)
    p = PlateauState()
    for _ in range(5):
        p.update(o, improved=False)
    assert p.scale == 1.0
