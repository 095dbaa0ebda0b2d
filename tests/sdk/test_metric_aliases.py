"""DESIGN §9 in the SDK: `run.log({"loss": ...})` also reaches the store as `train_loss`."""

from __future__ import annotations

import json
from pathlib import Path

from trainscope.sdk.columns import Problems, Row, with_canonical_names
from trainscope.sdk.sinks import LocalSink, ServerSink

ROWS: list[Row] = [
    (1, 1, 10.0, {"loss": 0.5, "val_acc": 0.8, "lr-Adam": 0.01, "perplexity": 12.0}),
    (2, 1, 11.0, {"loss": 0.4, "train_accuracy": 0.7, "accuracy": 0.6}),
]


def test_canonical_names_are_added_beside_the_logged_ones() -> None:
    values = with_canonical_names({"loss": [1.0], "train_loss": [2.0], "bleu": [3.0]})
    # train_loss was logged under its own name: it is not overwritten by `loss`.
    assert values == {"loss": [1.0], "train_loss": [2.0], "bleu": [3.0]}
    plain = {"train_loss": [1.0], "val_accuracy": [0.5]}
    assert with_canonical_names(plain) is plain  # §5's names: nothing to do, nothing copied


def test_a_server_batch_carries_both_names() -> None:
    sink = ServerSink("http://127.0.0.1:9", None, {}, Problems())
    (body,) = sink.encode(1, ROWS)
    values = json.loads(body.body)["values"]
    assert values["loss"] == values["train_loss"] == [0.5, 0.4]
    assert values["val_acc"] == values["val_accuracy"] == [0.8, None]
    assert values["lr-Adam"] == values["learn_rate"] == [0.01, None]
    assert values["perplexity"] == [12.0, None]  # unknown: kept, under its own name only
    assert values["train_accuracy"] == [None, 0.7]  # logged by that name: `accuracy` adds none
    assert set(values) == {
        "loss", "train_loss", "val_acc", "val_accuracy", "lr-Adam", "learn_rate",
        "perplexity", "train_accuracy", "accuracy",
    }  # fmt: skip


def test_the_local_store_gets_both_names(tmp_path: Path) -> None:
    sink = LocalSink(tmp_path, {"kind": "external", "config": {}}, {}, Problems())
    (payload,) = sink.encode(1, ROWS)
    assert payload.events[0].values == {
        "loss": 0.5,
        "val_acc": 0.8,
        "lr-Adam": 0.01,
        "perplexity": 12.0,
        "train_loss": 0.5,
        "val_accuracy": 0.8,
        "learn_rate": 0.01,
    }
    assert payload.events[1].values == {
        "loss": 0.4,
        "train_accuracy": 0.7,
        "accuracy": 0.6,
        "train_loss": 0.4,
    }
