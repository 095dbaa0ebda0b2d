"""PyTorch networks built from layer lists: shapes, parameters, seeding, and that they train."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from trainscope.engine.models import build_model, count_parameters
from trainscope.schemas.model import (
    LayersModel,
    LayerSpec,
    ModelShapeError,
    PresetModel,
    count_learnables,
    infer_shapes,
    resolve_layers,
)
from trainscope.schemas.shapes import DataInfo

IMAGE28 = DataInfo("classification", (1, 28, 28), num_classes=10)
IMAGE8 = DataInfo("classification", (1, 8, 8), num_classes=10)
VECTOR2 = DataInfo("classification", (2,), num_classes=2)
SEQ50 = DataInfo("regression", (50, 1))
SEQ50_CLASSES = DataInfo("classification", (50, 1), num_classes=3)
VECTOR2_REGRESSION = DataInfo("regression", (2,), num_targets=3)

PRESET_CASES = [
    ("mlp", IMAGE28),
    ("mlp", IMAGE8),
    ("mlp", VECTOR2),
    ("mlp", SEQ50),
    ("mlp", VECTOR2_REGRESSION),
    ("simple-cnn", IMAGE28),
    ("simple-cnn", IMAGE8),
    ("deeper-cnn", IMAGE28),
    ("deeper-cnn", IMAGE8),
    ("lstm", SEQ50),
    ("lstm", SEQ50_CLASSES),
    ("gru", SEQ50),
    ("gru", SEQ50_CLASSES),
]


def preset(name: str, info: DataInfo) -> list[LayerSpec]:
    return resolve_layers(PresetModel.model_validate({"preset": name}), info)


def layers(*specs: dict[str, Any]) -> list[LayerSpec]:
    return LayersModel.model_validate({"layers": list(specs)}).layers


CUSTOM_CASES: dict[str, tuple[list[LayerSpec], DataInfo]] = {
    "strided same convs on odd sizes": (
        layers(
            {"type": "conv2d", "filters": 4, "filter_size": 3, "stride": 2},  # 7×9 → 4×5
            {"type": "conv2d", "filters": 5, "filter_size": 2},  # even filter: uneven padding
            {"type": "conv2d", "filters": 3, "filter_size": [1, 4], "stride": [3, 2]},
            {"type": "leaky-relu", "scale": 0.1},
        ),
        DataInfo("classification", (2, 7, 9), 5),
    ),
    "valid convs and padded pools": (
        layers(
            {"type": "conv2d", "filters": 6, "filter_size": 5, "padding": 0},
            {"type": "tanh"},
            {"type": "avgpool", "pool_size": 3, "stride": 2, "padding": 1},
            {"type": "conv2d", "filters": 6, "filter_size": 3, "padding": 2},
            {"type": "maxpool", "pool_size": [3, 2], "stride": 1, "padding": 1},
            {"type": "batchnorm"},
            {"type": "gelu"},
            {"type": "fc", "units": 12},
            {"type": "batchnorm"},
            {"type": "sigmoid"},
            {"type": "dropout", "probability": 0.2},
        ),
        IMAGE28,
    ),
    "image flattened then fc": (
        layers(
            {"type": "conv2d", "filters": 3, "filter_size": 3},
            {"type": "flatten"},
            {"type": "fc", "units": 5},
        ),
        IMAGE8,
    ),
    "per-step fc, stacked bidirectional recurrences": (
        layers(
            {"type": "fc", "units": 6},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "gru", "hidden_units": 5, "bidirectional": True, "output_mode": "sequence"},
            {"type": "lstm", "hidden_units": 4, "num_layers": 2, "bidirectional": True},
        ),
        SEQ50_CLASSES,
    ),
    "sequence flattened": (
        layers(
            {"type": "lstm", "hidden_units": 3, "output_mode": "sequence"},
            {"type": "flatten"},
            {"type": "batchnorm"},
        ),
        SEQ50,
    ),
    "vector batchnorm": (
        layers(
            {"type": "batchnorm"},
            {"type": "fc", "units": 8},
            {"type": "relu"},
        ),
        VECTOR2_REGRESSION,
    ),
}


def traced_shapes(net: nn.Module, x: torch.Tensor) -> tuple[list[tuple[int, ...]], torch.Tensor]:
    """The per-sample output shape of each body layer, and the network's output."""
    seen: list[tuple[int, ...]] = []

    def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        seen.append(tuple(output.shape[1:]))

    handles = [layer.register_forward_hook(hook) for layer in net.body]  # type: ignore[union-attr]
    try:
        out = net(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen, out


def check_network(model: list[LayerSpec], info: DataInfo) -> None:
    torch.manual_seed(0)
    net = build_model(model, info)
    x = torch.randn(4, *info.input_shape)
    seen, out = traced_shapes(net, x)
    assert seen == infer_shapes(model, info)
    assert out.shape == (4, info.output_size)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert count_parameters(net) == count_learnables(model, info)
    net.eval()  # inference mode works too (batchnorm running stats, dropout off)
    with torch.no_grad():
        assert net(x).shape == (4, info.output_size)


@pytest.mark.parametrize(("name", "info"), PRESET_CASES)
def test_presets_build_what_infer_shapes_describes(name: str, info: DataInfo) -> None:
    check_network(preset(name, info), info)


@pytest.mark.parametrize("case", list(CUSTOM_CASES))
def test_layer_lists_build_what_infer_shapes_describes(case: str) -> None:
    check_network(*CUSTOM_CASES[case])


@pytest.mark.parametrize("size", range(1, 10))
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_same_padding_gives_ceil_of_size_over_stride(size: int, stride: int, kernel: int) -> None:
    model = layers(
        {"type": "conv2d", "filters": 2, "filter_size": [kernel, 2], "stride": [stride, 1]}
    )
    info = DataInfo("classification", (1, size, 3), 2)
    net = build_model(model, info)
    assert net.body[0](torch.zeros(1, 1, size, 3)).shape == (1, 2, math.ceil(size / stride), 3)


def test_same_padding_puts_the_odd_pad_at_the_bottom_and_right() -> None:
    # MATLAB: an odd amount of "same" padding puts the extra row/column after the data.
    model = layers({"type": "conv2d", "filters": 1, "filter_size": 2})
    net = build_model(model, DataInfo("classification", (1, 3, 3), 2))
    conv = net.body[0]
    nn.init.ones_(conv[1].weight)  # type: ignore[index]
    nn.init.zeros_(conv[1].bias)  # type: ignore[index]
    out = conv(torch.ones(1, 1, 3, 3))[0, 0]
    assert out.tolist() == [[4, 4, 2], [4, 4, 2], [2, 2, 1]]


def test_lstm_last_output_is_the_final_hidden_state() -> None:
    torch.manual_seed(0)
    info = DataInfo("classification", (7, 2), 2)
    one_way = layers({"type": "lstm", "hidden_units": 3})
    both_ways = layers({"type": "gru", "hidden_units": 3, "bidirectional": True})
    x = torch.randn(4, 7, 2)
    for model in (one_way, both_ways):
        net = build_model(model, info)
        recurrent = net.body[0]
        with torch.no_grad():
            last = recurrent(x)
            sequence, _ = recurrent.rnn(x)  # type: ignore[operator]
        torch.testing.assert_close(last[:, :3], sequence[:, -1, :3])  # forward: last step
        if model is both_ways:
            torch.testing.assert_close(last[:, 3:], sequence[:, 0, 3:])  # backward: first step


def test_weights_start_as_matlab_initialises_them() -> None:
    torch.manual_seed(0)
    net = build_model(
        layers({"type": "lstm", "hidden_units": 4}, {"type": "fc", "units": 3}),
        DataInfo("classification", (5, 2), 2),
    )
    params = dict(net.named_parameters())
    assert params["body.0.rnn.bias_ih_l0"][4:8].tolist() == [1.0] * 4  # unit forget gate
    assert params["body.0.rnn.bias_ih_l0"][:4].abs().sum() == 0
    assert params["body.0.rnn.bias_hh_l0"].abs().sum() == 0
    assert params["body.1.bias"].abs().sum() == 0  # fc
    assert params["output.bias"].abs().sum() == 0


@pytest.mark.parametrize(("name", "info"), PRESET_CASES)
def test_same_seed_gives_identical_parameters(name: str, info: DataInfo) -> None:
    model = preset(name, info)
    torch.manual_seed(7)
    first = build_model(model, info).state_dict()
    torch.manual_seed(7)
    second = build_model(model, info).state_dict()
    torch.manual_seed(8)
    other = build_model(model, info).state_dict()
    assert list(first) == list(second)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "info"), PRESET_CASES)
def test_a_few_sgd_steps_reduce_the_loss(name: str, info: DataInfo) -> None:
    torch.manual_seed(0)
    net = build_model(preset(name, info), info)
    x = torch.randn(16, *info.input_shape)
    # Targets a fixed random linear function of the input: learnable by every preset (random
    # labels are too, by memorising, but a recurrent net needs far more steps for that).
    scores = x.flatten(1) @ torch.randn(x[0].numel(), info.output_size)
    if info.task == "classification":
        y = scores.argmax(1)
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    else:
        y = scores / math.sqrt(x[0].numel())
        loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize(
    ("specs", "info", "message"),
    [
        (
            [{"type": "conv2d", "filters": 4, "filter_size": 3}],
            VECTOR2,
            r"^layer 1 \(conv2d\): needs image input \(C×H×W\); got vector 2$",
        ),
        (
            [{"type": "lstm", "hidden_units": 4}],
            IMAGE8,
            r"^layer 1 \(lstm\): needs sequence input \(T×C\); got image 1×8×8$",
        ),
        (
            [{"type": "gru", "hidden_units": 4, "output_mode": "sequence"}],
            SEQ50,
            r"^layer 1 \(gru\): the network ends in sequence 50×4",
        ),
    ],
)
def test_build_model_refuses_layers_that_do_not_fit(
    specs: list[dict[str, Any]], info: DataInfo, message: str
) -> None:
    with pytest.raises(ModelShapeError, match=message):
        build_model(layers(*specs), info)


def test_count_parameters_counts_learnables_only() -> None:
    net = build_model(layers({"type": "batchnorm"}), VECTOR2)  # running stats are buffers
    assert count_parameters(net) == 2 * 2 + (2 * 2 + 2)
