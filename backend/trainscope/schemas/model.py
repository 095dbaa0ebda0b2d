"""Models as MATLAB-style layer lists: the presets, the model spec, and shape checking.

A layer list (`schemas.layers`) describes the network up to the output; trainscope appends the
final fully connected layer sized to the dataset (`DataInfo.output_size`) and the loss. Shapes
follow `schemas.shapes`: (F,) vector, (T, C) sequence, (C, H, W) image.

Pure pydantic + Python: the server validates specs and checks shapes with this module without
importing torch. `engine.models.build_model` builds exactly what `infer_shapes` describes.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from trainscope.schemas.layers import (
    LAYER_TYPES,
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
    Size2,
    TanhLayer,
    fmt2,
    layer_learnables,
    layer_summary,
    pair,
    validate_layer_list,
)
from trainscope.schemas.shapes import DataInfo, Shape, describe_shape, shape_kind

# The layer names are re-exported: callers import them from here as well as from layers.
__all__ = [
    "LAYER_TYPES",
    "MODEL_PRESETS",
    "AvgPoolLayer",
    "BatchNormLayer",
    "Conv2dLayer",
    "DropoutLayer",
    "FcLayer",
    "FlattenLayer",
    "GeluLayer",
    "GruLayer",
    "LayerSpec",
    "LayersModel",
    "LeakyReluLayer",
    "LstmLayer",
    "MaxPoolLayer",
    "ModelShapeError",
    "ModelSpec",
    "PresetModel",
    "PresetName",
    "ReluLayer",
    "SigmoidLayer",
    "Size2",
    "TanhLayer",
    "check_model",
    "count_learnables",
    "describe_layers",
    "expand_preset",
    "infer_shapes",
    "pair",
    "resolve_layers",
]

PresetName = Literal["mlp", "simple-cnn", "deeper-cnn", "lstm", "gru"]
MODEL_PRESETS: dict[str, str] = {
    "mlp": "fc 128, relu, fc 64, relu — any input (images and sequences are flattened)",
    "simple-cnn": "conv 3×3 ×20, batchnorm, relu, maxpool 2 — images",
    "deeper-cnn": "three conv 3×3 blocks (8, 16, 32 filters) with batchnorm, relu, "
    "maxpool 2 after the first two — images",
    "lstm": "lstm 64 hidden units, last output — sequences",
    "gru": "gru 64 hidden units, last output — sequences",
}


class PresetModel(BaseModel):
    """A named network whose layers are chosen to fit the dataset's input."""

    model_config = ConfigDict(extra="forbid")
    preset: PresetName = Field(description="; ".join(f"{k}: {v}" for k, v in MODEL_PRESETS.items()))


class LayersModel(BaseModel):
    """A network given layer by layer, up to (not including) the output layer."""

    model_config = ConfigDict(extra="forbid")
    layers: list[LayerSpec] = Field(
        min_length=1,
        description="Layers from input to output; the final fully connected layer sized to "
        "the dataset and the loss are added by trainscope.",
    )

    @field_validator("layers", mode="before")
    @classmethod
    def _check_each(cls, value: Any) -> Any:
        return validate_layer_list(value)


def _model_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "layers" if "layers" in value else "preset" if "preset" in value else None
    return (
        "layers"
        if isinstance(value, LayersModel)
        else ("preset" if isinstance(value, PresetModel) else None)
    )


def _one_kind(value: Any) -> Any:
    if isinstance(value, dict) and "preset" in value and "layers" in value:
        raise ValueError('give either "preset" or "layers", not both')
    if isinstance(value, dict) and "layers" in value:
        # Checked here too (LayersModel checks again) so a bad layer is reported at the
        # model's own location ("model: layer 2 ..."), not under the union tag.
        validate_layer_list(value["layers"])
    return value


# A tagged union, so that a bad layer list reports only the layer errors, not also
# "preset missing" from the other branch.
ModelSpec = Annotated[
    Annotated[PresetModel, Tag("preset")] | Annotated[LayersModel, Tag("layers")],
    Discriminator(
        _model_kind,
        custom_error_type="model_kind",
        custom_error_message='a model is {"preset": name} or {"layers": [...]}',
    ),
    BeforeValidator(_one_kind),
]


# Guards against a stray digit (units 10**12), not memory budgets: far beyond the networks this
# tool is for, yet refused here rather than by PyTorch (an overflow or a failed allocation) once
# the run has been queued.
MAX_LEARNABLES = 1_000_000_000
MAX_SAMPLE_VALUES = 100_000_000  # the output of one layer for one sample


class ModelShapeError(ValueError):
    """A layer list that does not fit the data; the message names the layer and the shapes."""


class _Misfit(Exception):
    """Raised per layer; infer_shapes adds which layer it was."""


# ---- presets ----------------------------------------------------------------------------


def _conv_block(filters: int) -> list[LayerSpec]:
    return [Conv2dLayer(filters=filters, filter_size=3), BatchNormLayer(), ReluLayer()]


def _pool_if_fits(h: int, w: int) -> tuple[list[LayerSpec], int, int]:
    # A 2×2 pool on a side shorter than 2 has no valid window; skip it so tiny images work.
    if h < 2 or w < 2:
        return [], h, w
    return [MaxPoolLayer(pool_size=2, stride=2)], h // 2, w // 2


# The kind of input each preset needs; mlp takes any.
_PRESET_INPUT = {
    "simple-cnn": "image",
    "deeper-cnn": "image",
    "lstm": "sequence",
    "gru": "sequence",
}


def expand_preset(preset: str, info: DataInfo) -> list[LayerSpec]:
    """The layer list a preset stands for, on this dataset's input."""
    kind = shape_kind(info.input_shape)
    if preset not in MODEL_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(MODEL_PRESETS)}")
    if _PRESET_INPUT.get(preset, kind) != kind:
        raise ModelShapeError(
            f"preset {preset!r} needs {_PRESET_INPUT[preset]} input; dataset gives "
            f"{describe_shape(info.input_shape)}"
        )
    if preset == "mlp":
        # fc flattens an image by itself but acts per time step on a sequence, so a sequence
        # is flattened explicitly to give one vector per sample.
        head: list[LayerSpec] = [FlattenLayer()] if kind == "sequence" else []
        return [*head, FcLayer(units=128), ReluLayer(), FcLayer(units=64), ReluLayer()]
    if preset in ("simple-cnn", "deeper-cnn"):
        _, h, w = info.input_shape
        if preset == "simple-cnn":
            return [*_conv_block(20), *_pool_if_fits(h, w)[0]]
        layers: list[LayerSpec] = []
        for filters in (8, 16):
            pool, h, w = _pool_if_fits(h, w)
            layers += [*_conv_block(filters), *pool]
        return [*layers, *_conv_block(32)]
    return [(LstmLayer if preset == "lstm" else GruLayer)(hidden_units=64)]


def resolve_layers(model: PresetModel | LayersModel, info: DataInfo) -> list[LayerSpec]:
    """The model's layer list (a preset expanded for this dataset)."""
    if isinstance(model, PresetModel):
        return expand_preset(model.preset, info)
    return list(model.layers)


# ---- shapes -----------------------------------------------------------------------------


def _need_kind(shape: Shape, kind: str, prev: LayerSpec | None) -> None:
    if shape_kind(shape) == kind:
        return
    layout = {"image": "C×H×W", "sequence": "T×C", "vector": "F"}[kind]
    hint = ""
    if isinstance(prev, LstmLayer | GruLayer) and prev.output_mode == "last":
        hint = f'; set output_mode "sequence" on the {prev.type} layer before it'
    raise _Misfit(f"needs {kind} input ({layout}); got {describe_shape(shape)}{hint}")


def _conv_out(layer: Conv2dLayer, shape: Shape) -> Shape:
    _, h, w = shape
    (kh, kw), (sh, sw) = pair(layer.filter_size), pair(layer.stride)
    if layer.padding == "same":
        return (layer.filters, math.ceil(h / sh), math.ceil(w / sw))
    p = layer.padding
    if h + 2 * p < kh or w + 2 * p < kw:
        raise _Misfit(
            f"filter {kh}×{kw} does not fit input {describe_shape(shape)} (padding {p}); "
            'use padding "same" or a smaller filter'
        )
    return (layer.filters, (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1)


def _pool_out(layer: MaxPoolLayer | AvgPoolLayer, shape: Shape) -> Shape:
    c, h, w = shape
    (kh, kw), (sh, sw), p = pair(layer.pool_size), layer.stride_hw, layer.padding
    if h + 2 * p < kh or w + 2 * p < kw:
        pad = f" with padding {p}" if p else ""
        raise _Misfit(f"pool {fmt2((kh, kw))}{pad} does not fit input {describe_shape(shape)}")
    return (c, (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1)


def _layer_out(layer: LayerSpec, shape: Shape, prev: LayerSpec | None) -> Shape:
    if isinstance(layer, Conv2dLayer):
        _need_kind(shape, "image", prev)
        return _conv_out(layer, shape)
    if isinstance(layer, MaxPoolLayer | AvgPoolLayer):
        _need_kind(shape, "image", prev)
        return _pool_out(layer, shape)
    if isinstance(layer, FlattenLayer):
        return (math.prod(shape),)
    if isinstance(layer, FcLayer):
        if shape_kind(shape) == "sequence":
            return (shape[0], layer.units)  # per time step
        return (layer.units,)  # an image is flattened first
    if isinstance(layer, LstmLayer | GruLayer):
        _need_kind(shape, "sequence", prev)
        if layer.output_mode == "sequence":
            return (shape[0], layer.output_width)
        return (layer.output_width,)
    return shape  # batchnorm, activations, dropout: shape unchanged


def infer_shapes(layers: list[LayerSpec], info: DataInfo) -> list[Shape]:
    """The output shape after each layer (not counting the output layer), checking that every
    layer fits its input and that the output layer can be added after the last one."""
    shape: Shape = tuple(info.input_shape)
    if len(shape) not in (1, 2, 3) or min(shape, default=0) < 1:
        raise ModelShapeError(f"input shape {shape} is not a vector, sequence or image")
    shapes: list[Shape] = []
    prev: LayerSpec | None = None
    learnables = 0
    for i, layer in enumerate(layers, 1):
        try:
            shape_in, shape = shape, _layer_out(layer, shape, prev)
            learnables += layer_learnables(layer, shape_in)
            _check_size(shape, learnables, _SIZE_HINTS.get(layer.type, ""))
        except _Misfit as e:
            raise ModelShapeError(f"layer {i} ({layer.type}): {e}") from None
        shapes.append(shape)
        prev = layer
    if shape_kind(shape) == "sequence":
        recurrent = [i for i, x in enumerate(layers, 1) if isinstance(x, LstmLayer | GruLayer)]
        where = f"layer {len(layers)} ({layers[-1].type})" if layers else "the input"
        fix = (
            f'set output_mode "last" on the last lstm/gru layer (layer {recurrent[-1]})'
            if recurrent
            else 'add an lstm/gru layer with output_mode "last", or a flatten layer'
        )
        raise ModelShapeError(
            f"{where}: the network ends in {describe_shape(shape)}, but the output layer "
            f"needs one vector per sample: {fix}"
        )
    try:
        total = learnables + info.output_size * (math.prod(shape) + 1)
        _check_size(shape, total, "; end with a smaller layer (fewer units or filters)")
    except _Misfit as e:
        raise ModelShapeError(f"output layer: {e}") from None
    return shapes


# What to lower when a layer makes the network too big.
_SIZE_HINTS = {
    "fc": "; lower units",
    "conv2d": "; lower filters or padding",
    "lstm": "; lower hidden_units or num_layers",
    "gru": "; lower hidden_units or num_layers",
}


def _check_size(shape: Shape, learnables: int, hint: str) -> None:
    if math.prod(shape) > MAX_SAMPLE_VALUES:
        raise _Misfit(
            f"output {describe_shape(shape)} has {math.prod(shape):,} values per sample, "
            f"more than {MAX_SAMPLE_VALUES:,}{hint}"
        )
    if learnables > MAX_LEARNABLES:
        raise _Misfit(
            f"the network has {learnables:,} learnables up to here, more than "
            f"{MAX_LEARNABLES:,}{hint}"
        )


def check_model(model: PresetModel | LayersModel, info: DataInfo) -> list[Shape]:
    """Shapes after each layer of the resolved model; raises ModelShapeError if it can't work."""
    return infer_shapes(resolve_layers(model, info), info)


# ---- summary ----------------------------------------------------------------------------


def count_learnables(layers: list[LayerSpec], info: DataInfo) -> int:
    """Trainable values of the whole network, output layer included."""
    shapes = infer_shapes(layers, info)
    inputs = [tuple(info.input_shape), *shapes]
    body = sum(layer_learnables(layer, shape) for layer, shape in zip(layers, inputs, strict=False))
    return body + info.output_size * (math.prod(inputs[-1]) + 1)


def describe_layers(
    layers: list[LayerSpec], shapes: list[Shape], info: DataInfo | None = None
) -> list[str]:
    """One line per layer, like MATLAB's analyzeNetwork: index, type, settings, output shape.

    With `info`, also the input line, the output layer, and learnables per layer and in total.
    """
    lines: list[str] = []
    inputs: list[Shape] = [tuple(info.input_shape), *shapes] if info else []
    if info:
        lines.append(f"{'':>3}  {'input':<10}  {'':<44}  {describe_shape(info.input_shape)}")
    for i, (layer, shape) in enumerate(zip(layers, shapes, strict=True), 1):
        line = f"{i:>3}  {layer.type:<10}  {layer_summary(layer):<44}  {describe_shape(shape)}"
        if info:
            count = layer_learnables(layer, inputs[i - 1])
            line = f"{line:<90}  {count:>9,} learnables" if count else line
        lines.append(line.rstrip())
    if info:
        out = info.output_size
        line = f"{'':>3}  {'output':<10}  {f'fully connected, {out} units ({info.task})':<44}  "
        line += describe_shape((out,))
        lines.append(f"{line:<90}  {out * (math.prod(inputs[-1]) + 1):>9,} learnables")
        lines.append(f"total learnables: {count_learnables(layers, info):,}")
    return lines
