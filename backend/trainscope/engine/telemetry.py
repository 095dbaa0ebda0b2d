"""Per-layer update/weight ratio, ‖Δw‖ / ‖w‖ for one optimizer step (option
`update_ratio_frequency`).

The classic health check of Karpathy's CS231n notes: around 1e-3 a layer learns at a sensible
pace; far below (1e-5) it barely moves, far above (1e-1) its weights are being thrown around.
It needs a copy of the weights before the step, so it is taken only every N iterations.
"""

from __future__ import annotations

import torch
from torch import nn

from trainscope.schemas.layers import LayerSpec

PREFIX = "update_ratio/"


def layer_weights(model: nn.Module, layers: list[LayerSpec]) -> dict[str, list[torch.nn.Parameter]]:
    """The weight matrices and kernels of each learnable layer (biases and batchnorm scales are
    vectors whose ratio says little), named `<position>_<type>` as in the layer list, plus the
    appended output layer."""
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad or param.dim() < 2:
            continue
        head = name.split(".")
        if head[0] == "body":
            i = int(head[1])
            label = f"{i + 1}_{layers[i].type}"
        else:
            label = head[0]  # "output"
        groups.setdefault(PREFIX + label, []).append(param)
    return groups


class UpdateRatios:
    def __init__(self, model: nn.Module, layers: list[LayerSpec]) -> None:
        self._groups = layer_weights(model, layers)
        self._before: dict[str, list[torch.Tensor]] = {}

    def before_step(self) -> None:
        self._before = {
            key: [p.detach().clone() for p in params] for key, params in self._groups.items()
        }

    @torch.no_grad()
    def after_step(self) -> dict[str, float]:
        """The ratios of the step since `before_step`. One host sync for all layers."""
        ratios = []
        for key, params in self._groups.items():
            old = self._before[key]
            delta = torch.stack([(p - o).pow(2).sum() for p, o in zip(params, old, strict=True)])
            norm = torch.stack([o.pow(2).sum() for o in old])
            ratios.append(delta.sum().sqrt() / norm.sum().sqrt().clamp_min(1e-12))
        self._before = {}
        values: list[float] = torch.stack(ratios).tolist() if ratios else []
        return dict(zip(self._groups, values, strict=True))
