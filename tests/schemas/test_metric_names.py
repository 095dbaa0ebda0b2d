"""DESIGN §9: names from scripts and loggers onto §5's, raw name kept, unknown ones untouched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainscope.schemas.metric_names import canonical, canonical_values, parse_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("loss", "train_loss"),
        ("train/loss", "train_loss"),
        ("training_loss", "train_loss"),
        ("Train Loss", "train_loss"),
        ("val_loss", "val_loss"),
        ("valid loss", "val_loss"),
        ("validation-loss", "val_loss"),
        ("eval_loss", "val_loss"),
        ("dev.loss", "val_loss"),
        ("val_acc", "val_accuracy"),
        ("eval_accuracy", "val_accuracy"),
        ("accuracy", "train_accuracy"),
        ("acc", "train_accuracy"),
        ("train/acc", "train_accuracy"),
        ("test_loss", "test_loss"),
        ("test accuracy", "test_accuracy"),
        ("test/rmse", "test_rmse"),
        ("rmse", "train_rmse"),
        ("lr", "learn_rate"),
        ("LR", "learn_rate"),
        ("learning_rate", "learn_rate"),
        ("lr-Adam", "learn_rate"),
        ("lr-SGD", "learn_rate"),
        ("train/lr", "learn_rate"),
        ("grad_norm", "grad_norm"),
        ("gradient norm", "grad_norm"),
        ("loss_epoch", "train_loss"),
        ("val_loss_epoch", "val_loss"),
        ("avg loss", "train_loss"),
        ("Average loss", "train_loss"),
        ("loss_val", "val_loss"),
    ],
)
def test_known_forms_map_onto_design_names(raw: str, expected: str) -> None:
    m = parse_name(raw)
    assert (m.canonical, m.raw, m.known, m.axis) == (expected, raw, True, None)


@pytest.mark.parametrize(
    "raw",
    ["perplexity", "bleu", "loss_weight", "val_grad_norm", "f1", "train_time", "my metric", ""],
)
def test_unknown_names_pass_through_unchanged(raw: str) -> None:
    m = parse_name(raw)
    assert (m.canonical, m.known, m.axis) == (raw, False, None)


@pytest.mark.parametrize(
    ("raw", "axis"),
    [
        ("step", "iteration"),
        ("global_step", "iteration"),
        ("Global Step", "iteration"),
        ("iteration", "iteration"),
        ("batch", "iteration"),
        ("epoch", "epoch"),
        ("Epoch", "epoch"),
    ],
)
def test_axes_are_told_apart(raw: str, axis: str) -> None:
    m = parse_name(raw)
    assert m.axis == axis and m.canonical == axis and m.known


def test_canonical_values_adds_canonical_names_and_keeps_raw_ones() -> None:
    values = {"loss": 0.3, "val_acc": 0.9, "train_loss": 0.4, "bleu": 12.0, "step": 5.0}
    out = canonical_values(values)
    # train_loss was logged by that name already: the script's own value wins over `loss`.
    assert out == {**values, "val_accuracy": 0.9}
    assert canonical("lr-Adam") == "learn_rate" and canonical("nonsense") == "nonsense"


@given(st.text(max_size=40))
def test_any_name_maps_to_something_and_keeps_raw(raw: str) -> None:
    m = parse_name(raw)
    assert m.raw == raw
    assert m.canonical == raw or m.known
