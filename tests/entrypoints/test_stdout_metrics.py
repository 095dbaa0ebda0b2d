"""Metric values off a script's stdout lines: the forms people print, and nothing crashes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainscope.entrypoints.stdout_metrics import (
    LineMetrics,
    PatternError,
    StdoutParser,
    parse_line,
)


def said(line: str) -> tuple[dict[str, float], int | None, int | None]:
    m = parse_line(line)
    assert m is not None, line
    return m.values, m.iteration, m.epoch


@pytest.mark.parametrize(
    ("line", "values", "iteration", "epoch"),
    [
        ("loss: 0.31", {"train_loss": 0.31}, None, None),
        ("loss=0.31", {"train_loss": 0.31}, None, None),
        ("step 20 loss 0.5", {"train_loss": 0.5}, 20, None),
        ("val_loss = 0.4, val_acc = 0.9", {"val_loss": 0.4, "val_accuracy": 0.9}, None, None),
        (
            "| epoch 3 | 120/500 batches | lr 0.10 | loss 0.31 | acc 0.91 |",
            {"learn_rate": 0.1, "train_loss": 0.31, "train_accuracy": 0.91},
            120,
            3,
        ),
        # PyTorch's MNIST example, both lines.
        ("Train Epoch: 1 [640/60000 (1%)]  Loss: 0.300000", {"train_loss": 0.3}, None, 1),
        (
            "Test set: Average loss: 0.0335, Accuracy: 9890/10000 (99%)",
            {"test_loss": 0.0335, "test_accuracy": 0.989},
            None,
            None,
        ),
        # PyTorch's word_language_model example: the unknown `valid ppl` is kept as it is.
        (
            "| end of epoch   1 | time: 12.50s | valid loss  5.53 | valid ppl   252.67",
            {"time": 12.5, "val_loss": 5.53, "valid ppl": 252.67},
            None,
            1,
        ),
        # Hugging Face's Trainer logs dicts; its epoch is fractional.
        (
            "{'loss': 0.31, 'grad_norm': 1.5, 'learning_rate': 5e-05, 'epoch': 0.5}",
            {"train_loss": 0.31, "grad_norm": 1.5, "learn_rate": 5e-05},
            None,
            1,
        ),
        (
            "{'eval_loss': 0.2, 'eval_accuracy': 0.93, 'eval_runtime': 1.2, 'epoch': 2.0}",
            {"val_loss": 0.2, "val_accuracy": 0.93, "eval_runtime": 1.2},
            None,
            2,
        ),
        (
            "INFO Epoch 2: step=100 loss=0.3 val_acc=91.5%",
            {"train_loss": 0.3, "val_accuracy": 0.915},
            100,
            2,
        ),
        (
            "iteration 7: loss 1e-3, lr-Adam 0.001",
            {"train_loss": 0.001, "learn_rate": 0.001},
            7,
            None,
        ),
        ("global_step=50 train/loss=nan", {"train_loss": float("inf") * 0}, 50, None),
        ("accuracy: 87.5", {"train_accuracy": 0.875}, None, None),
        (
            "Epoch 5/10 - 3s - loss: 0.21 - accuracy: 0.93",
            {"train_loss": 0.21, "train_accuracy": 0.93},
            None,
            5,
        ),
        ("| epoch 1 | ms/batch 25.30 | loss 5.1 |", {"ms/batch": 25.3, "train_loss": 5.1}, None, 1),
        (
            "Epoch 1: 100%|####| 100/100 [00:01<00:00, 50.0it/s, loss=0.31]",
            {"train_loss": 0.31},
            None,
            1,
        ),
    ],
)
def test_lines_people_print(
    line: str, values: dict[str, float], iteration: int | None, epoch: int | None
) -> None:
    got, it, ep = said(line)
    assert (it, ep) == (iteration, epoch)
    assert got.keys() == values.keys()
    for k, v in values.items():
        assert got[k] == v or (v != v and got[k] != got[k]), k


@pytest.mark.parametrize(
    "line",
    ["", "   ", "Found 60000 images", "Downloading the data set", "Saving model to ckpt_3.pt", "{"],
)
def test_prose_gives_nothing(line: str) -> None:
    assert parse_line(line) is None


def test_raw_names_are_kept_beside_the_canonical_ones() -> None:
    m = parse_line("valid loss 0.5 | Accuracy: 50%")
    assert m == LineMetrics(
        {"val_loss": 0.5, "train_accuracy": 0.5},
        {"val_loss": "valid loss", "train_accuracy": "Accuracy"},
    )


def test_a_progress_bar_redraw_reads_its_last_drawing() -> None:
    assert said("loss: 0.9\rloss: 0.5\r") == ({"train_loss": 0.5}, None, None)


def test_an_axis_alone_is_reported_for_the_next_points() -> None:
    assert said("Epoch 3") == ({}, None, 3)


def test_entry_point_patterns_come_first_and_use_named_groups() -> None:
    parser = StdoutParser([r"it (?P<step>\d+) => (?P<val_loss>[\d.]+) / (?P<bleu>[\d.]+)"])
    m = parser.parse("it 40 => 0.25 / 31.5 loss: 9")
    assert m == LineMetrics(
        {"val_loss": 0.25, "bleu": 31.5}, {"val_loss": "val_loss", "bleu": "bleu"}, 40
    )
    # A line the pattern does not match is read by the built-in forms.
    assert parser.parse("loss: 9") == LineMetrics({"train_loss": 9.0}, {"train_loss": "loss"})


def test_a_bad_pattern_is_refused_with_the_reason() -> None:
    with pytest.raises(PatternError, match="not a regular expression"):
        StdoutParser(["(unclosed"])
    with pytest.raises(PatternError, match="no named group"):
        StdoutParser([r"loss (\d+)"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_line_crashes_the_parser(line: str) -> None:
    m = parse_line(line)
    assert m is None or isinstance(m, LineMetrics)
    if m is not None:
        assert all(isinstance(v, float) for v in m.values.values())
        assert set(m.raw_names) == set(m.values)


_PIECES = st.sampled_from(
    ["loss", "val", "acc", ":", "=", " ", "|", "/", "{", "}", "'", "%", "epoch", "1", "0.5",
     "e-3", "nan", "\r", "\t", "-", ",", "Test set:", "batches"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_near_miss_lines_never_crash(line: str) -> None:
    m = parse_line(line)
    assert m is None or isinstance(m, LineMetrics)


@pytest.mark.parametrize(
    "line",
    [
        "Namespace(batch_size=64, epochs=14, lr=1.0, gamma=0.7, seed=1)",
        "args: lr=0.25 epochs=10 batch_size=64",
        "Config: {'lr': 0.25, 'epochs': 10}",
        "hyperparameters = lr 0.25, momentum 0.9",
        "Options: --lr 0.25 --epochs 10",
    ],
)
def test_a_configuration_echo_is_not_read_as_metrics(line: str) -> None:
    assert parse_line(line) is None, line


def test_a_line_that_only_repeats_the_runs_options_is_not_read_as_metrics() -> None:
    parser = StdoutParser(options={"lr": 0.25, "epochs": 10, "batch-size": 64, "quiet": True})
    # Printed at the start of the run: the learn-rate chart must not get a point, nor the
    # epoch axis jump to 10.
    assert parser.parse("lr: 0.25  epochs: 10  batch size: 64") is None
    assert parser.parse("Training with lr=0.25 for 10 epochs") is None
    # A line with any number that is not an option is read whole.
    got = parser.parse("epoch: 10  loss: 0.31  lr: 0.25")
    assert got is not None and got.epoch == 10
    assert got.values == {"train_loss": 0.31, "learn_rate": 0.25}
    # Once training has printed metrics, the learn rate each epoch is its curve.
    assert parser.parse("lr: 0.25") == LineMetrics({"learn_rate": 0.25}, {"learn_rate": "lr"})
    # Without the run's options (an SDK run, a registration check) the line is a point.
    assert StdoutParser().parse("lr: 0.25") == LineMetrics(
        {"learn_rate": 0.25}, {"learn_rate": "lr"}
    )
