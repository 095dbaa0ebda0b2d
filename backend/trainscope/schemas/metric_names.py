"""Metric names from elsewhere (DESIGN §9) onto trainscope's own (DESIGN §5): the one mapping.

Scripts' stdout, the SDK and the integrations bring names like `loss`, `train/loss`, `val_acc`,
`eval_accuracy`, `lr-Adam`, `valid loss`. A name is split on `/ _ - . space` into words; a
*split* word (train, val, test and their synonyms) and a *leaf* (loss, accuracy, learn rate,
grad norm, rmse) make the canonical name (`val_accuracy`). A leaf without a split is training's
(`loss` → `train_loss`), except `learn_rate` and `grad_norm`, which have none. Anything else
passes through unchanged: no value is ever dropped because its name is unfamiliar.

Pure stdlib and cached: the stdout parser calls it for every number on every line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Split = Literal["train", "val", "test"]

_SPLITS: dict[str, Split] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "evaluation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
# Leaves as word sequences (after splitting), longest first so `learning rate` wins over nothing.
_LEAVES: dict[tuple[str, ...], str] = {
    ("loss",): "loss",
    ("acc",): "accuracy",
    ("accuracy",): "accuracy",
    ("rmse",): "rmse",
    ("lr",): "learn_rate",
    ("learning", "rate"): "learn_rate",
    ("learn", "rate"): "learn_rate",
    ("grad", "norm"): "grad_norm",
    ("gradient", "norm"): "grad_norm",
}
# Leaves that belong to no split: the optimizer's, not a data set's.
_UNSPLIT = {"learn_rate", "grad_norm"}
# Words that may follow a leaf without changing its meaning (`lr-Adam`, `loss_epoch`,
# `val_loss_mean`): a logger's decoration. Anything else after the leaf makes it another metric.
_DECORATION = {"adam", "adamw", "sgd", "rmsprop", "epoch", "step", "mean", "avg", "average"}
_DECORATION_PREFIX = {"avg", "average", "mean"}

AXES: dict[str, str] = {
    "step": "iteration",
    "global_step": "iteration",
    "globalstep": "iteration",
    "iteration": "iteration",
    "iter": "iteration",
    "it": "iteration",
    "batch": "iteration",
    "epoch": "epoch",
}
"""Names that say *where* a point is (the x axis), not a value: → `iteration` or `epoch`."""

_WORDS = re.compile(r"[/_\-.\s]+")


@dataclass(frozen=True, slots=True)
class MetricName:
    """One name as it came (`raw`) and as trainscope calls it (`canonical`).

    `known`: the canonical name is one of DESIGN §5's (`train_loss`, `learn_rate`, ...);
    otherwise it is the raw name itself. `axis`: `iteration` or `epoch` when the name is an
    axis (`step`, `global_step`, `epoch`, ...) rather than a metric, else None."""

    raw: str
    canonical: str
    known: bool
    axis: Literal["iteration", "epoch"] | None = None


def split_of(word: str) -> Split | None:
    """`valid` → `val`: the split a word names, if any."""
    return _SPLITS.get(word.lower())


def words(name: str) -> list[str]:
    """The lower-case words of a name, split on `/ _ - . space`."""
    return _words(name)


def _words(name: str) -> list[str]:
    return [w for w in _WORDS.split(name.strip().lower()) if w]


def _leaf_at(words: list[str], i: int) -> tuple[str, int] | None:
    for seq, leaf in sorted(_LEAVES.items(), key=lambda kv: -len(kv[0])):
        if tuple(words[i : i + len(seq)]) == seq:
            return leaf, len(seq)
    return None


@lru_cache(maxsize=4096)
def parse_name(raw: str, default_split: Split = "train") -> MetricName:
    """`raw` mapped onto trainscope's names; see the module's docstring for the rules.
    `default_split`: the split of a leaf that names none (`loss`); a stdout line that starts
    `Test set:` makes its `Average loss` a test loss."""
    words = _words(raw)
    joined = "_".join(words)
    if joined in AXES:
        axis = AXES[joined]
        return MetricName(raw, axis, True, "epoch" if axis == "epoch" else "iteration")
    split: Split | None = None
    rest = words
    if rest and rest[0] in _SPLITS:
        split, rest = _SPLITS[rest[0]], rest[1:]
    while rest and rest[0] in _DECORATION_PREFIX:
        rest = rest[1:]
    if not rest:
        return MetricName(raw, raw, False)
    found = _leaf_at(rest, 0)
    if found is None:
        return MetricName(raw, raw, False)
    leaf, used = found
    tail = rest[used:]
    tail_split: Split | None = None
    # `loss_val`, `acc_test`: the split after the leaf (some loggers write it that way).
    if tail and tail[0] in _SPLITS and split is None:
        tail_split, tail = _SPLITS[tail[0]], tail[1:]
    if any(w not in _DECORATION for w in tail):
        return MetricName(raw, raw, False)
    split = split or tail_split
    if leaf in _UNSPLIT:
        # `train_lr` is still the learn rate; a `val_grad_norm` is no name of ours.
        if split is not None and leaf == "grad_norm":
            return MetricName(raw, raw, False)
        return MetricName(raw, leaf, True)
    return MetricName(raw, f"{split or default_split}_{leaf}", True)


def canonical(raw: str) -> str:
    """Just the canonical name: `canonical("val acc") == "val_accuracy"`, `canonical("foo")
    == "foo"`, `canonical("step") == "iteration"`."""
    return parse_name(raw).canonical


def canonical_values(values: dict[str, float]) -> dict[str, float]:
    """`values` with each known metric under its canonical name *as well* as its raw one (the
    raw name is never dropped; a canonical name already present is left alone). Axes stay as
    they are: the caller decides what a `step` among values means."""
    out = dict(values)
    for raw, value in values.items():
        m = parse_name(raw)
        if m.known and m.axis is None and m.canonical not in out:
            out[m.canonical] = value
    return out
