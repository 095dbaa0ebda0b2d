"""Layer specs: one pydantic model per MATLAB-style layer, and the `LayerSpec` union of them.

Also what is about single layers rather than whole networks: validating a raw layer list item
by item, a layer's one-line summary and its count of trainable values. Pure pydantic + Python
(no torch); `schemas.model` builds networks, presets and shape checking on top of this.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from trainscope.schemas.options import MAX_SCALAR
from trainscope.schemas.shapes import Shape

MAX_RECURRENT_LAYERS = 100

_Pos = Annotated[int, Field(ge=1)]
Size2 = _Pos | tuple[_Pos, _Pos]  # one int, or [height, width]; each >= 1


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """(h, w) from a size given as one int or as [h, w]."""
    return (value, value) if isinstance(value, int) else value


def fmt2(value: tuple[int, int]) -> str:
    """An (h, w) size as text: "3" when square, "3×5" when not."""
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Conv2dLayer(_Layer):
    """MATLAB convolution2dLayer: 2-D convolution over an image."""

    type: Literal["conv2d"] = "conv2d"
    filters: int = Field(ge=1, description="Number of filters (output channels), >= 1.")
    filter_size: Size2 = Field(description="Filter height and width: one int or [h, w], >= 1.")
    stride: Size2 = Field(1, description="Step between filter positions: int or [h, w], >= 1.")
    padding: Annotated[int, Field(ge=0)] | Literal["same"] = Field(
        "same",
        description='"same" (output size = ceil(input / stride)) or zero padding on every '
        "side, int >= 0.",
    )


class BatchNormLayer(_Layer):
    """MATLAB batchNormalizationLayer: per channel on images/sequences, per feature on vectors."""

    type: Literal["batchnorm"] = "batchnorm"


class ReluLayer(_Layer):
    type: Literal["relu"] = "relu"


class LeakyReluLayer(_Layer):
    type: Literal["leaky-relu"] = "leaky-relu"
    scale: float = Field(0.01, ge=0, le=MAX_SCALAR, description="Slope for negative inputs, >= 0.")


class TanhLayer(_Layer):
    type: Literal["tanh"] = "tanh"


class SigmoidLayer(_Layer):
    type: Literal["sigmoid"] = "sigmoid"


class GeluLayer(_Layer):
    type: Literal["gelu"] = "gelu"


class _PoolLayer(_Layer):
    pool_size: Size2 = Field(2, description="Pooling window: int or [h, w], >= 1.")
    stride: Size2 | None = Field(
        None, description="Step between windows: int or [h, w], >= 1. Default: the pool size."
    )
    padding: int = Field(
        0, ge=0, description="Padding on every side, >= 0 and at most half the pool size."
    )

    @model_validator(mode="after")
    def _padding_fits(self) -> _PoolLayer:
        # PyTorch's pooling refuses padding over half the window: say so before building.
        if 2 * self.padding > min(pair(self.pool_size)):
            raise ValueError(
                f"padding {self.padding} is more than half the pool {fmt2(pair(self.pool_size))}"
            )
        return self

    @property
    def stride_hw(self) -> tuple[int, int]:
        return pair(self.stride if self.stride is not None else self.pool_size)


class MaxPoolLayer(_PoolLayer):
    """MATLAB maxPooling2dLayer."""

    type: Literal["maxpool"] = "maxpool"


class AvgPoolLayer(_PoolLayer):
    """MATLAB averagePooling2dLayer."""

    type: Literal["avgpool"] = "avgpool"


class DropoutLayer(_Layer):
    type: Literal["dropout"] = "dropout"
    probability: float = Field(
        0.5, ge=0, lt=1, description="Fraction of inputs zeroed during training, in [0, 1)."
    )


class FlattenLayer(_Layer):
    """Images and sequences to one vector per sample (C·H·W or T·C values)."""

    type: Literal["flatten"] = "flatten"


class FcLayer(_Layer):
    """MATLAB fullyConnectedLayer: flattens an image first; on a sequence, acts per time step."""

    type: Literal["fc"] = "fc"
    units: int = Field(ge=1, description="Output size, >= 1.")


class _RecurrentLayer(_Layer):
    hidden_units: int = Field(ge=1, description="Hidden state size, >= 1.")
    # Bounded: PyTorch builds (and the learnables count loops over) one layer per step.
    num_layers: int = Field(
        1, ge=1, le=MAX_RECURRENT_LAYERS, description="Stacked recurrent layers, in [1, 100]."
    )
    bidirectional: bool = Field(False, description="Also run over the sequence backwards.")
    output_mode: Literal["last", "sequence"] = Field(
        "last",
        description='"last": one vector per sample (the final hidden state); "sequence": '
        "the output at every time step (to feed another lstm/gru).",
    )

    @property
    def output_width(self) -> int:
        return self.hidden_units * (2 if self.bidirectional else 1)


class LstmLayer(_RecurrentLayer):
    type: Literal["lstm"] = "lstm"


class GruLayer(_RecurrentLayer):
    type: Literal["gru"] = "gru"


LayerSpec = Annotated[
    Conv2dLayer
    | BatchNormLayer
    | ReluLayer
    | LeakyReluLayer
    | TanhLayer
    | SigmoidLayer
    | GeluLayer
    | MaxPoolLayer
    | AvgPoolLayer
    | DropoutLayer
    | FlattenLayer
    | FcLayer
    | LstmLayer
    | GruLayer,
    Field(discriminator="type"),
]
_LAYER_CLASSES: dict[str, type[_Layer]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(LayerSpec)[0])
}
LAYER_TYPES: tuple[str, ...] = tuple(_LAYER_CLASSES)
_LAYER_ADAPTER: TypeAdapter[LayerSpec] = TypeAdapter(LayerSpec)


# ---- validation -------------------------------------------------------------------------


def _layer_errors(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"][1:])  # loc[0] is the union tag
        # A validator's own ValueError: its text, without pydantic's "Value error, " prefix.
        msg = str(err["ctx"]["error"]) if err["type"] == "value_error" else err["msg"]
        parts.append(f"{where}: {msg} (got {err['input']!r})" if where else msg)
    return "; ".join(parts)


def validate_layer_list(value: Any) -> Any:
    """Validate a raw layer list item by item, with errors that count layers from 1."""
    # Pydantic would report a bad layer as "layers.2.conv2d.filters" (0-based, union tag
    # inside); people count layers from 1, as MATLAB's analyzeNetwork does.
    if not isinstance(value, list):
        return value
    if not value:
        raise ValueError("a layer list needs at least one layer")
    checked: list[Any] = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict):
            checked.append(item)
            continue
        kind = item.get("type")
        # Not `kind in _LAYER_CLASSES` alone: a list or object as the type is unhashable.
        if not isinstance(kind, str) or kind not in _LAYER_CLASSES:
            what = "has no type" if kind is None else f"unknown layer type {kind!r}"
            raise ValueError(f"layer {i}: {what}; choose one of {', '.join(LAYER_TYPES)}")
        fields = _LAYER_CLASSES[kind].model_fields
        unknown = [k for k in item if k not in fields]
        if unknown:
            known = ", ".join(f for f in fields if f != "type") or "none"
            raise ValueError(
                f"layer {i} ({kind}): unknown field {', '.join(map(repr, unknown))}; "
                f"its fields are: {known}"
            )
        try:
            checked.append(_LAYER_ADAPTER.validate_python(item))
        except ValidationError as e:
            raise ValueError(f"layer {i} ({kind}): {_layer_errors(e)}") from None
    return checked


# ---- summary ----------------------------------------------------------------------------


def layer_learnables(layer: LayerSpec, shape: Shape) -> int:
    """Trainable values of one layer on an input of this shape (as PyTorch counts them)."""
    if isinstance(layer, Conv2dLayer):
        kh, kw = pair(layer.filter_size)
        return layer.filters * (shape[0] * kh * kw + 1)
    if isinstance(layer, BatchNormLayer):
        return 2 * shape[0 if len(shape) != 2 else 1]  # scale and offset per channel/feature
    if isinstance(layer, FcLayer):
        inputs = shape[-1] if len(shape) == 2 else math.prod(shape)
        return layer.units * (inputs + 1)
    if isinstance(layer, LstmLayer | GruLayer):
        h, gates = layer.hidden_units, 4 if layer.type == "lstm" else 3
        dirs = 2 if layer.bidirectional else 1
        # Per stacked layer and direction; PyTorch keeps two biases (input and recurrent).
        return sum(
            dirs * gates * h * ((shape[1] if k == 0 else h * dirs) + h + 2)
            for k in range(layer.num_layers)
        )
    return 0


def layer_summary(layer: LayerSpec) -> str:
    if isinstance(layer, Conv2dLayer):
        kh, kw = pair(layer.filter_size)
        return (
            f"{layer.filters} filters {kh}×{kw}, stride {fmt2(pair(layer.stride))}, "
            f"padding {layer.padding}"
        )
    if isinstance(layer, MaxPoolLayer | AvgPoolLayer):
        kind = "max" if layer.type == "maxpool" else "average"
        return (
            f"{kind} pooling {fmt2(pair(layer.pool_size))}, stride {fmt2(layer.stride_hw)}, "
            f"padding {layer.padding}"
        )
    if isinstance(layer, LstmLayer | GruLayer):
        stack = f", {layer.num_layers} layers" if layer.num_layers > 1 else ""
        both = ", bidirectional" if layer.bidirectional else ""
        return f"{layer.hidden_units} hidden units{both}{stack}, output {layer.output_mode}"
    if isinstance(layer, FcLayer):
        return f"fully connected, {layer.units} units"
    if isinstance(layer, LeakyReluLayer):
        return f"leaky ReLU, scale {layer.scale:g}"
    if isinstance(layer, DropoutLayer):
        return f"dropout {layer.probability:g}"
    return {
        "batchnorm": "batch normalization",
        "relu": "ReLU",
        "tanh": "tanh",
        "sigmoid": "sigmoid",
        "gelu": "GELU",
        "flatten": "flatten",
    }[layer.type]
