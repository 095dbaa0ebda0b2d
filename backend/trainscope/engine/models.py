"""PyTorch networks from layer lists (schemas.layers): exactly what `infer_shapes` describes.

Batches are (N, *input_shape) float32 — images (N, C, H, W), sequences batch-first (N, T, C),
vectors (N, F). The network ends in a fully connected layer sized to the dataset: logits for
classification (the loss adds the softmax), predictions (N, targets) for regression.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainscope.schemas.layers import (
    AvgPoolLayer,
    BatchNormLayer,
    Conv2dLayer,
    DropoutLayer,
    FcLayer,
    FlattenLayer,
    GeluLayer,
    GruLayer,
    LayerSpec,
    LeakyReluLayer,
    LstmLayer,
    MaxPoolLayer,
    ReluLayer,
    SigmoidLayer,
    TanhLayer,
    pair,
)
from trainscope.schemas.model import infer_shapes
from trainscope.schemas.shapes import DataInfo, Shape


class FlattenLinear(nn.Linear):
    """A fully connected layer that flattens each sample first, as MATLAB's fullyConnectedLayer
    does with an image (and a no-op flatten on a vector)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return super().forward(input.flatten(1))


class SequenceBatchNorm(nn.BatchNorm1d):
    """Batch normalization per channel of a batch-first sequence (N, T, C).

    BatchNorm1d wants channels second, (N, C, T); subclassing keeps the parameter names of a
    plain BatchNorm1d in the state dict.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return super().forward(input.transpose(1, 2)).transpose(1, 2)


class Recurrent(nn.Module):
    """An LSTM or GRU that returns the whole output sequence or one vector per sample."""

    def __init__(self, rnn: nn.LSTM | nn.GRU, output_mode: str) -> None:
        super().__init__()
        self.rnn = rnn
        self.output_mode = output_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, state = self.rnn(x)
        if self.output_mode == "sequence":
            return out  # type: ignore[no-any-return]
        # "last": the final hidden state of the top layer in each direction, (N, H·dirs),
        # forward first. For one direction this equals out[:, -1]; for two, the backward half
        # has then read the whole sequence (out[:, -1] would give it only the last step).
        h_n = state[0] if isinstance(state, tuple) else state
        dirs = 2 if self.rnn.bidirectional else 1
        return h_n[-dirs:].transpose(0, 1).reshape(x.shape[0], -1)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"output_mode={self.output_mode!r}"


class LayerNetwork(nn.Module):
    """`body[i]` is layer i + 1 of the layer list; `output` is the appended fully connected
    layer sized to the dataset."""

    def __init__(self, body: list[nn.Module], output: nn.Module) -> None:
        super().__init__()
        self.body = nn.ModuleList(body)
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.body:
            x = layer(x)
        return self.output(x)  # type: ignore[no-any-return]


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zero padding (before, after) so that out = ceil(size / stride); the odd one goes after,
    as MATLAB's "same" does (bottom and right)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv(layer: Conv2dLayer, shape: Shape) -> nn.Module:
    c, h, w = shape
    kernel, stride = pair(layer.filter_size), pair(layer.stride)
    if layer.padding != "same":
        return nn.Conv2d(c, layer.filters, kernel, stride, padding=layer.padding)
    top, bottom = _same_padding(h, kernel[0], stride[0])
    left, right = _same_padding(w, kernel[1], stride[1])
    if top == bottom and left == right:
        return nn.Conv2d(c, layer.filters, kernel, stride, padding=(top, left))
    # Uneven padding (an even filter, or a stride that does not divide the size): Conv2d only
    # pads symmetrically, and its padding="same" refuses strides above 1.
    return nn.Sequential(
        nn.ZeroPad2d((left, right, top, bottom)),
        nn.Conv2d(c, layer.filters, kernel, stride, padding=0),
    )


def _recurrent(layer: LstmLayer | GruLayer, shape: Shape) -> nn.Module:
    kind = nn.LSTM if isinstance(layer, LstmLayer) else nn.GRU
    rnn = kind(
        shape[1],
        layer.hidden_units,
        num_layers=layer.num_layers,
        batch_first=True,
        bidirectional=layer.bidirectional,
    )
    return Recurrent(rnn, layer.output_mode)


def _build_layer(layer: LayerSpec, shape: Shape) -> nn.Module:
    """The module for one layer, given the shape of one input sample."""
    if isinstance(layer, Conv2dLayer):
        return _conv(layer, shape)
    if isinstance(layer, BatchNormLayer):
        if len(shape) == 3:
            return nn.BatchNorm2d(shape[0])
        return SequenceBatchNorm(shape[1]) if len(shape) == 2 else nn.BatchNorm1d(shape[0])
    if isinstance(layer, MaxPoolLayer):
        return nn.MaxPool2d(pair(layer.pool_size), layer.stride_hw, layer.padding)
    if isinstance(layer, AvgPoolLayer):
        # count_include_pad: padded zeros count in the average, as in MATLAB.
        return nn.AvgPool2d(pair(layer.pool_size), layer.stride_hw, layer.padding)
    if isinstance(layer, FcLayer):
        if len(shape) == 2:
            return nn.Linear(shape[1], layer.units)  # acts on the last axis: per time step
        return FlattenLinear(math.prod(shape), layer.units)
    if isinstance(layer, LstmLayer | GruLayer):
        return _recurrent(layer, shape)
    if isinstance(layer, FlattenLayer):
        return nn.Flatten(1)
    if isinstance(layer, DropoutLayer):
        return nn.Dropout(layer.probability)
    if isinstance(layer, LeakyReluLayer):
        return nn.LeakyReLU(layer.scale)
    if isinstance(layer, ReluLayer):
        return nn.ReLU()
    if isinstance(layer, TanhLayer):
        return nn.Tanh()
    if isinstance(layer, SigmoidLayer):
        return nn.Sigmoid()
    if isinstance(layer, GeluLayer):
        return nn.GELU()
    raise TypeError(f"no PyTorch module for layer type {layer.type!r}")


def _init_like_matlab(net: nn.Module) -> None:
    """MATLAB's default initializers: Glorot weights and zero biases for conv/fc; for lstm/gru
    Glorot input weights, orthogonal recurrent weights, zero biases except the LSTM forget gate
    (1, "unit-forget-gate"). Batchnorm keeps scale 1, offset 0.

    Runs over modules in registration order, so one torch seed gives one set of weights.
    """
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LSTM | nn.GRU):
            h = module.hidden_size
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
                    if isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                        # PyTorch's gate order is input, forget, cell, output.
                        nn.init.ones_(param[h : 2 * h])


def build_model(layers: list[LayerSpec], info: DataInfo) -> LayerNetwork:
    """The network for this layer list on this dataset, with the output layer appended.

    Raises ModelShapeError (from infer_shapes) when the layers do not fit the data. The global
    torch RNG initialises the weights: seed it first for reproducible weights.
    """
    shapes = infer_shapes(layers, info)
    inputs: list[Shape] = [tuple(info.input_shape), *shapes]
    body = [_build_layer(layer, shape) for layer, shape in zip(layers, inputs, strict=False)]
    # The body ends in a vector or an image (infer_shapes refuses a sequence); an image is
    # flattened into the output layer, as MATLAB's fullyConnectedLayer does.
    net = LayerNetwork(body, FlattenLinear(math.prod(inputs[-1]), info.output_size))
    _init_like_matlab(net)
    return net


def count_parameters(module: nn.Module) -> int:
    """Learnable values (batchnorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in module.parameters())
