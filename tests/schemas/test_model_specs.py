"""Layer-list specs, presets and shape checking, as the web server sees them (no torch)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from trainscope.schemas.model import (
    LAYER_TYPES,
    MODEL_PRESETS,
    Conv2dLayer,
    LayersModel,
    LayerSpec,
    MaxPoolLayer,
    ModelShapeError,
    ModelSpec,
    PresetModel,
    check_model,
    count_learnables,
    describe_layers,
    infer_shapes,
    resolve_layers,
)
from trainscope.schemas.shapes import DataInfo

IMAGE28 = DataInfo("classification", (1, 28, 28), num_classes=10)
IMAGE8 = DataInfo("classification", (1, 8, 8), num_classes=10)
VECTOR2 = DataInfo("classification", (2,), num_classes=2)
SEQ50 = DataInfo("regression", (50, 1))

MODEL = TypeAdapter(ModelSpec)


def layers(*specs: dict[str, Any]) -> list[LayerSpec]:
    return LayersModel.model_validate({"layers": list(specs)}).layers


def summary(model: list[LayerSpec]) -> list[dict[str, Any]]:
    return [layer.model_dump(exclude_defaults=True) | {"type": layer.type} for layer in model]


def test_schema_module_does_not_import_torch() -> None:
    code = "import sys, trainscope.schemas.model; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_layer_type_is_in_the_json_schema_with_described_fields() -> None:
    schema = MODEL.json_schema()
    defs = schema["$defs"]
    consts = {
        d["properties"]["type"]["const"] for d in defs.values() if "type" in d.get("properties", {})
    }
    assert consts == set(LAYER_TYPES)
    assert len(LAYER_TYPES) == 14
    conv = defs["Conv2dLayer"]
    assert conv["additionalProperties"] is False
    assert conv["properties"]["filters"]["minimum"] == 1
    for name, field in conv["properties"].items():
        assert name == "type" or field["description"]


def test_specs_round_trip_through_json() -> None:
    spec = {
        "layers": [
            {"type": "conv2d", "filters": 8, "filter_size": [3, 5], "stride": 2, "padding": 1},
            {"type": "leaky-relu", "scale": 0.2},
            {"type": "maxpool", "pool_size": 3, "stride": 2, "padding": 1},
            {"type": "dropout", "probability": 0.1},
            {"type": "fc", "units": 4},
        ]
    }
    model = MODEL.validate_python(spec)
    assert isinstance(model, LayersModel)
    assert MODEL.validate_json(MODEL.dump_json(model)) == model
    assert isinstance(MODEL.validate_python({"preset": "gru"}), PresetModel)


def test_defaults_are_matlabs() -> None:
    conv, pool, drop, lstm, leaky = layers(
        {"type": "conv2d", "filters": 4, "filter_size": 3},
        {"type": "avgpool"},
        {"type": "dropout"},
        {"type": "lstm", "hidden_units": 8},
        {"type": "leaky-relu"},
    )
    assert conv.stride == 1 and conv.padding == "same"  # type: ignore[union-attr]
    assert pool.pool_size == 2 and pool.stride_hw == (2, 2)  # type: ignore[union-attr]
    assert pool.padding == 0  # type: ignore[union-attr]
    assert drop.probability == 0.5  # type: ignore[union-attr]
    assert lstm.num_layers == 1 and not lstm.bidirectional  # type: ignore[union-attr]
    assert lstm.output_mode == "last"  # type: ignore[union-attr]
    assert leaky.scale == 0.01  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"layers": [{"type": "conv2d", "filters": 0, "filter_size": 3}]},
            "layer 1 (conv2d): filters: Input should be greater than or equal to 1",
        ),
        (
            {"layers": [{"type": "relu"}, {"type": "conv", "filters": 3}]},
            "layer 2: unknown layer type 'conv'; choose one of conv2d, batchnorm",
        ),
        (
            {"layers": [{"type": "conv2d", "filters": 3, "filter_size": 3, "filtres": 2}]},
            "layer 1 (conv2d): unknown field 'filtres'; its fields are: filters, filter_size",
        ),
        ({"layers": [{"units": 3}]}, "layer 1: has no type"),
        (
            {"layers": [{"type": "dropout", "probability": 1}]},
            "layer 1 (dropout): probability: Input should be less than 1",
        ),
        (
            {"layers": [{"type": "relu"}, {"type": "maxpool", "pool_size": 2, "padding": 2}]},
            "layer 2 (maxpool): padding 2 is more than half the pool 2",
        ),
        (
            {"layers": [{"type": "conv2d", "filters": 3, "filter_size": 3, "padding": "valid"}]},
            "layer 1 (conv2d): padding",
        ),
        ({"layers": [{"type": "fc", "units": 0}]}, "layer 1 (fc): units"),
        (
            {"layers": [{"type": "gru", "hidden_units": 4, "output_mode": "all"}]},
            "layer 1 (gru): output_mode",
        ),
        ({"layers": []}, "a layer list needs at least one layer"),
        (
            {"preset": "mlp", "layers": [{"type": "relu"}]},
            'give either "preset" or "layers", not both',
        ),
        ({}, 'a model is {"preset": name} or {"layers": [...]}'),
        ({"preset": "resnet"}, "Input should be 'mlp', 'simple-cnn'"),
        ({"preset": "mlp", "units": 3}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_say_which_layer_and_why(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MODEL.validate_python(spec)
    assert message in str(caught.value)


def test_model_spec_works_as_a_field_of_a_larger_spec() -> None:
    class Spec(BaseModel):
        model: ModelSpec

    spec = Spec.model_validate_json('{"model": {"layers": [{"type": "fc", "units": 3}]}}')
    assert isinstance(spec.model, LayersModel)
    with pytest.raises(ValidationError, match="layer 1 \\(fc\\): units"):
        Spec.model_validate({"model": {"layers": [{"type": "fc", "units": -1}]}})


def test_layer_models_forbid_unknown_fields_when_built_directly() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Conv2dLayer(filters=3, filter_size=3, dilation=2)  # type: ignore[call-arg]


# ---- presets ----------------------------------------------------------------------------


def conv(filters: int) -> list[dict[str, Any]]:
    return [
        {"type": "conv2d", "filters": filters, "filter_size": 3},
        {"type": "batchnorm"},
        {"type": "relu"},
    ]


POOL = {"type": "maxpool", "stride": 2}  # pool_size 2 is the default, so not dumped
MLP = [
    {"type": "fc", "units": 128},
    {"type": "relu"},
    {"type": "fc", "units": 64},
    {"type": "relu"},
]


@pytest.mark.parametrize(
    ("preset", "info", "expected"),
    [
        ("mlp", VECTOR2, MLP),
        ("mlp", IMAGE28, MLP),
        ("mlp", SEQ50, [{"type": "flatten"}, *MLP]),
        ("simple-cnn", IMAGE28, [*conv(20), POOL]),
        ("deeper-cnn", IMAGE28, [*conv(8), POOL, *conv(16), POOL, *conv(32)]),
        ("deeper-cnn", IMAGE8, [*conv(8), POOL, *conv(16), POOL, *conv(32)]),
        # 2×2 pools once to 1×1; the second pool would not fit and is left out.
        (
            "deeper-cnn",
            DataInfo("classification", (3, 2, 2), 4),
            [*conv(8), POOL, *conv(16), *conv(32)],
        ),
        ("lstm", SEQ50, [{"type": "lstm", "hidden_units": 64}]),
        ("gru", SEQ50, [{"type": "gru", "hidden_units": 64}]),
    ],
)
def test_presets_expand_as_documented(
    preset: str, info: DataInfo, expected: list[dict[str, Any]]
) -> None:
    resolved = resolve_layers(PresetModel.model_validate({"preset": preset}), info)
    assert summary(resolved) == expected
    infer_shapes(resolved, info)  # and it fits


def test_preset_shapes() -> None:
    assert check_model(PresetModel(preset="simple-cnn"), IMAGE28)[-1] == (20, 14, 14)
    assert check_model(PresetModel(preset="deeper-cnn"), IMAGE28)[-1] == (32, 7, 7)
    assert check_model(PresetModel(preset="deeper-cnn"), IMAGE8)[-1] == (32, 2, 2)
    assert check_model(PresetModel(preset="mlp"), SEQ50)[0] == (50,)
    assert check_model(PresetModel(preset="lstm"), SEQ50) == [(64,)]
    assert set(MODEL_PRESETS) == {"mlp", "simple-cnn", "deeper-cnn", "lstm", "gru"}


@pytest.mark.parametrize(
    ("preset", "info", "message"),
    [
        ("simple-cnn", VECTOR2, "preset 'simple-cnn' needs image input; dataset gives vector 2"),
        ("deeper-cnn", SEQ50, "preset 'deeper-cnn' needs image input; dataset gives sequence 50×1"),
        ("lstm", IMAGE28, "preset 'lstm' needs sequence input; dataset gives image 1×28×28"),
        ("gru", VECTOR2, "preset 'gru' needs sequence input; dataset gives vector 2"),
    ],
)
def test_presets_on_the_wrong_kind_of_data(preset: str, info: DataInfo, message: str) -> None:
    with pytest.raises(ModelShapeError) as caught:
        check_model(PresetModel.model_validate({"preset": preset}), info)
    assert str(caught.value) == message


# ---- shapes -----------------------------------------------------------------------------


def test_shapes_follow_matlab_rules() -> None:
    model = layers(
        {"type": "conv2d", "filters": 6, "filter_size": 5, "padding": 0},  # 28 → 24
        {"type": "conv2d", "filters": 6, "filter_size": 3, "stride": 2},  # same: ceil(24/2)
        {"type": "conv2d", "filters": 4, "filter_size": [2, 4], "stride": [5, 1]},  # ceil(12/5)
        {"type": "avgpool", "pool_size": 3, "stride": 1, "padding": 1},  # 3×12 → 3×12
        {"type": "maxpool", "pool_size": [3, 2]},  # stride = pool: (3-3)/3+1, (12-2)/2+1
        {"type": "batchnorm"},
        {"type": "fc", "units": 7},  # flattens the image
        {"type": "dropout"},
    )
    assert infer_shapes(model, IMAGE28) == [
        (6, 24, 24),
        (6, 12, 12),
        (4, 3, 12),
        (4, 3, 12),
        (4, 1, 6),
        (4, 1, 6),
        (7,),
        (7,),
    ]


def test_sequence_shapes() -> None:
    model = layers(
        {"type": "fc", "units": 5},  # per time step
        {"type": "batchnorm"},
        {"type": "gru", "hidden_units": 4, "bidirectional": True, "output_mode": "sequence"},
        {"type": "lstm", "hidden_units": 3, "num_layers": 2, "output_mode": "sequence"},
        {"type": "flatten"},
    )
    assert infer_shapes(model, SEQ50) == [(50, 5), (50, 5), (50, 8), (50, 3), (150,)]


@pytest.mark.parametrize(
    ("specs", "info", "message"),
    [
        (
            [{"type": "conv2d", "filters": 4, "filter_size": 3}],
            VECTOR2,
            "layer 1 (conv2d): needs image input (C×H×W); got vector 2",
        ),
        (
            [{"type": "fc", "units": 4}, {"type": "maxpool"}],
            VECTOR2,
            "layer 2 (maxpool): needs image input (C×H×W); got vector 4",
        ),
        (
            [{"type": "avgpool"}],
            SEQ50,
            "layer 1 (avgpool): needs image input (C×H×W); got sequence 50×1",
        ),
        (
            [
                {"type": "conv2d", "filters": 20, "filter_size": 3},
                {"type": "relu"},
                {"type": "maxpool"},
            ],
            DataInfo("classification", (1, 1, 1), 2),
            "layer 3 (maxpool): pool 2 does not fit input image 20×1×1",
        ),
        (
            [{"type": "maxpool", "pool_size": 5, "padding": 1}],
            DataInfo("classification", (1, 2, 2), 2),
            "layer 1 (maxpool): pool 5 with padding 1 does not fit input image 1×2×2",
        ),
        (
            [{"type": "conv2d", "filters": 2, "filter_size": 5, "padding": 0}],
            DataInfo("classification", (3, 4, 9), 2),
            "layer 1 (conv2d): filter 5×5 does not fit input image 3×4×9 (padding 0); "
            'use padding "same" or a smaller filter',
        ),
        (
            [{"type": "lstm", "hidden_units": 8}],
            IMAGE28,
            "layer 1 (lstm): needs sequence input (T×C); got image 1×28×28",
        ),
        (
            [{"type": "lstm", "hidden_units": 8}, {"type": "gru", "hidden_units": 8}],
            SEQ50,
            'layer 2 (gru): needs sequence input (T×C); got vector 8; set output_mode "sequence" '
            "on the lstm layer before it",
        ),
        (
            [{"type": "lstm", "hidden_units": 8, "output_mode": "sequence"}, {"type": "relu"}],
            SEQ50,
            "layer 2 (relu): the network ends in sequence 50×8, but the output layer needs one "
            'vector per sample: set output_mode "last" on the last lstm/gru layer (layer 1)',
        ),
        (
            [{"type": "fc", "units": 3}],
            SEQ50,
            "layer 1 (fc): the network ends in sequence 50×3, but the output layer needs one "
            'vector per sample: add an lstm/gru layer with output_mode "last", or a flatten layer',
        ),
    ],
)
def test_layers_that_do_not_fit_name_the_layer_and_the_shapes(
    specs: list[dict[str, Any]], info: DataInfo, message: str
) -> None:
    model = LayersModel.model_validate({"layers": specs})
    with pytest.raises(ModelShapeError) as caught:
        check_model(model, info)
    assert str(caught.value) == message


def test_pool_fit_error_message_from_a_preset_shape() -> None:
    # The message quoted in the design: a 20-channel 1×1 image cannot be pooled by 2.
    with pytest.raises(ModelShapeError, match=r"^layer 3 \(maxpool\): pool 2 does not fit"):
        infer_shapes(
            [
                Conv2dLayer(filters=20, filter_size=3),
                Conv2dLayer(filters=20, filter_size=1),
                MaxPoolLayer(),
            ],
            DataInfo("classification", (1, 1, 1), 2),
        )


def test_model_shape_error_is_a_value_error() -> None:
    assert issubclass(ModelShapeError, ValueError)


# ---- summary ----------------------------------------------------------------------------


def test_describe_layers_reads_like_analyze_network() -> None:
    model = resolve_layers(PresetModel(preset="simple-cnn"), IMAGE28)
    shapes = infer_shapes(model, IMAGE28)
    plain = describe_layers(model, shapes)
    assert len(plain) == 4
    assert plain[0].split() == [
        "1",
        "conv2d",
        "20",
        "filters",
        "3×3,",
        "stride",
        "1,",
        "padding",
        "same",
        "image",
        "20×28×28",
    ]
    assert "max pooling 2, stride 2, padding 0" in plain[3]
    assert plain[3].endswith("image 20×14×14")

    full = describe_layers(model, shapes, IMAGE28)
    assert full[0].split() == ["input", "image", "1×28×28"]
    assert full[1].endswith("200 learnables")  # 20 × (3·3·1 + 1)
    assert full[2].endswith("40 learnables")  # batchnorm: scale and offset per channel
    assert "learnables" not in full[3]  # relu has none
    assert "fully connected, 10 units (classification)" in full[5]
    assert full[5].endswith("39,210 learnables")  # 10 × (20·14·14 + 1)
    assert full[-1] == "total learnables: 39,450"


def test_count_learnables() -> None:
    assert count_learnables(layers({"type": "fc", "units": 3}), VECTOR2) == 3 * 3 + 2 * 4
    # LSTM as PyTorch counts it: 4 gates × H × (inputs + H + 2 biases), then fc 64 → 1.
    lstm = resolve_layers(PresetModel(preset="lstm"), SEQ50)
    assert count_learnables(lstm, SEQ50) == 4 * 64 * (1 + 64 + 2) + 65
