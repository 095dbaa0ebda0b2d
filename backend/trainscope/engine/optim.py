"""Optimizers (DESIGN §4 → torch.optim) and the three gradient-clipping methods."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from trainscope.schemas.options import TrainingOptions


def make_optimizer(
    params: Sequence[torch.nn.Parameter], options: TrainingOptions
) -> torch.optim.Optimizer:
    """The PyTorch optimizer of the same kind, with L2 as its weight decay.

    L2 is coupled (added to the gradient, torch's `weight_decay`) for every solver but adamw,
    where AdamW's decoupled decay is the point of choosing it.
    """
    lr = options.learn_rate
    wd = options.l2_regularization
    solver = options.solver
    if solver == "sgdm":
        return torch.optim.SGD(params, lr=lr, momentum=options.momentum, weight_decay=wd)
    if solver == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=wd)
    if solver == "adam":
        return torch.optim.Adam(
            params,
            lr=lr,
            betas=(options.gradient_decay_factor, options.beta2),
            eps=options.epsilon,
            weight_decay=wd,
        )
    if solver == "adamw":
        return torch.optim.AdamW(
            params,
            lr=lr,
            betas=(options.gradient_decay_factor, options.beta2),
            eps=options.epsilon,
            weight_decay=wd,
        )
    if solver == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=options.beta2, eps=options.epsilon, weight_decay=wd
        )
    raise ValueError(f"unknown solver {solver!r}")


def clip_gradients(
    params: Sequence[torch.nn.Parameter], method: str, threshold: float
) -> torch.Tensor:
    """Clip gradients in place; return the global L2 norm *before* clipping (a 0-d tensor).

    Returned as a tensor, not a float: on a GPU, turning it into a number here would force a
    device synchronisation every iteration. The recorder batches that copy instead.
    - l2norm: each parameter's gradient is rescaled to norm ≤ threshold on its own (MATLAB);
    - global-l2norm: all gradients are rescaled together so their joint norm ≤ threshold;
    - absolute-value: each element is clamped to [−threshold, threshold].
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    total: torch.Tensor = torch.linalg.vector_norm(norms)
    if math.isinf(threshold):
        return total
    if method == "global-l2norm":
        coef = torch.clamp(threshold / (total + 1e-6), max=1.0)
        torch._foreach_mul_(grads, coef)
    elif method == "l2norm":
        coefs = torch.clamp(threshold / (norms + 1e-6), max=1.0)
        for g, c in zip(grads, coefs.unbind(), strict=True):
            g.mul_(c)
    elif method == "absolute-value":
        for g in grads:
            g.clamp_(-threshold, threshold)
    else:
        raise ValueError(f"unknown gradient_threshold_method {method!r}")
    return total
