"""Solvers map to their PyTorch optimizers; the clipping methods bound what they claim."""

from __future__ import annotations

import math

import pytest
import torch

from trainscope.engine.optim import clip_gradients, make_optimizer
from trainscope.schemas.options import TrainingOptions


def params_with_grads(scale: float = 10.0) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(0)
    ps = []
    for shape in [(4, 3), (3,), (5, 5, 2)]:
        p = torch.nn.Parameter(torch.randn(shape, generator=g))
        p.grad = torch.randn(shape, generator=g) * scale
        ps.append(p)
    return ps


def global_norm(ps: list[torch.nn.Parameter]) -> float:
    return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in ps if p.grad is not None))


def test_returned_norm_is_the_global_norm_before_clipping() -> None:
    ps = params_with_grads()
    before = global_norm(ps)
    for method in ("l2norm", "global-l2norm", "absolute-value"):
        ps = params_with_grads()
        assert float(clip_gradients(ps, method, 1.0)) == pytest.approx(before, rel=1e-5)


def test_l2norm_clips_each_parameter_separately() -> None:
    ps = params_with_grads()
    ps[1].grad = torch.full((3,), 0.1)  # already under the threshold: must be left alone
    small = ps[1].grad.clone()
    directions = [p.grad / p.grad.norm() for p in ps if p.grad is not None]
    clip_gradients(ps, "l2norm", 2.0)
    for p, d in zip(ps, directions, strict=True):
        assert p.grad is not None
        assert float(p.grad.norm()) <= 2.0 + 1e-5
        assert torch.allclose(p.grad / p.grad.norm(), d, atol=1e-6)
    assert torch.equal(ps[1].grad, small)
    assert float(ps[0].grad.norm()) == pytest.approx(2.0, rel=1e-4)


def test_global_l2norm_clips_all_together_keeping_direction() -> None:
    ps = params_with_grads()
    ratio = float(ps[0].grad.norm() / ps[2].grad.norm())
    clip_gradients(ps, "global-l2norm", 3.0)
    assert global_norm(ps) == pytest.approx(3.0, rel=1e-4)
    assert float(ps[0].grad.norm() / ps[2].grad.norm()) == pytest.approx(ratio, rel=1e-5)


def test_absolute_value_clamps_every_element() -> None:
    ps = params_with_grads()
    signs = [torch.sign(p.grad) for p in ps if p.grad is not None]
    clip_gradients(ps, "absolute-value", 0.5)
    for p, s in zip(ps, signs, strict=True):
        assert p.grad is not None
        assert float(p.grad.abs().max()) <= 0.5
        assert torch.equal(torch.sign(p.grad), s)


def test_infinite_threshold_leaves_gradients_alone() -> None:
    ps = params_with_grads()
    before = [p.grad.clone() for p in ps if p.grad is not None]
    clip_gradients(ps, "l2norm", math.inf)
    assert all(torch.equal(p.grad, b) for p, b in zip(ps, before, strict=True))


@pytest.mark.parametrize("solver", ["sgdm", "sgd", "adam", "adamw", "rmsprop"])
def test_l2_regularization_is_the_optimizers_weight_decay(solver: str) -> None:
    opts = TrainingOptions(solver=solver, l2_regularization=0.003)  # type: ignore[arg-type]
    opt = make_optimizer(params_with_grads(), opts)
    assert opt.param_groups[0]["weight_decay"] == 0.003
    assert opt.param_groups[0]["lr"] == opts.initial_learn_rate


def test_coupled_l2_equals_adding_l2_times_weight_to_the_gradient() -> None:
    a, b = params_with_grads(), params_with_grads()
    make_optimizer(
        a, TrainingOptions(solver="sgd", l2_regularization=0.1, initial_learn_rate=0.5)
    ).step()
    for p in b:
        assert p.grad is not None
        p.grad += 0.1 * p.detach()
    make_optimizer(
        b, TrainingOptions(solver="sgd", l2_regularization=0.0, initial_learn_rate=0.5)
    ).step()
    assert all(torch.allclose(x, y) for x, y in zip(a, b, strict=True))


def test_solver_hyperparameters_reach_the_optimizer() -> None:
    adam = make_optimizer(
        params_with_grads(), TrainingOptions(solver="adam", gradient_decay_factor=0.8)
    )
    assert isinstance(adam, torch.optim.Adam)
    assert adam.param_groups[0]["betas"] == (0.8, 0.999)
    assert adam.param_groups[0]["eps"] == 1e-8
    rms = make_optimizer(params_with_grads(), TrainingOptions(solver="rmsprop"))
    assert isinstance(rms, torch.optim.RMSprop)
    assert rms.param_groups[0]["alpha"] == 0.9
    sgdm = make_optimizer(params_with_grads(), TrainingOptions(momentum=0.7))
    assert isinstance(sgdm, torch.optim.SGD)
    assert sgdm.param_groups[0]["momentum"] == 0.7
    assert isinstance(
        make_optimizer(params_with_grads(), TrainingOptions(solver="adamw")), torch.optim.AdamW
    )
