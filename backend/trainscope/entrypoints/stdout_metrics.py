"""Metrics from a script's stdout, line by line, with no change to the script (DESIGN §8).

Understood without configuration:

- `loss: 0.31`, `loss=0.31`, `val_loss = 0.4, val_acc = 0.9` (any name with `:` or `=`);
- pipe tables, `| epoch 3 | 120/500 batches | lr 0.10 | loss 0.31 | acc 0.91 |` (a cell that is
  just a name and a number; `120/500 batches` is the iteration);
- PyTorch's MNIST example: `Train Epoch: 1 [640/60000 (1%)]  Loss: 0.300000` and
  `Test set: Average loss: 0.0335, Accuracy: 9890/10000 (99%)` (a line that starts with a split
  word gives it to the leaves that name none; `9890/10000` is a fraction for an accuracy);
- Hugging Face's dict lines, `{'loss': 0.31, 'learning_rate': 5e-05, 'epoch': 0.5}`;
- plus the entry point's own regular expressions, with named groups (`(?P<val_loss>...)`),
  tried first; a line one of them matches is read by it alone.

Names go through `schemas.metric_names` (`loss` → `train_loss`, `lr` → `learn_rate`, ...);
a number under a name that maps onto nothing is kept under its own name (with `:`/`=` or in a
table cell: a bare `Found 60000 images` is prose, not a metric). Axis names (`epoch`, `step`,
`iteration`, `batch`, `global_step`) with a whole number give the point's iteration or epoch
(an epoch of 0.5 is the first epoch). An accuracy given in percent (`99%`, or a number in
(1, 100]) becomes a fraction, as DESIGN §5 has accuracies.

Not metrics: a script echoing its configuration (`Namespace(lr=0.1, epochs=10)`,
`args: lr=0.1 epochs=10`, `config = {...}`), told by a line that starts with such a word, or,
given the run's options, by a line whose every number is one of them under its own name
(`lr: 0.1  epochs: 10` before the first metric of a run with lr=0.1 and epochs=10; after it,
`lr: 0.1` is the learn rate's curve). Read as metrics, such
a line would put a false point on the learn-rate chart and move the epoch axis to 10.

`parse` never raises: any text, any bytes decoded any way, gives a result or None.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from trainscope.schemas.metric_names import Split, parse_name, split_of, words

MAX_LINE = 10_000  # longer lines are read up to here: a regex must not spend seconds on one
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)\b"
_NAME = r"[A-Za-z][\w/.\-]*(?:[ \t]+[A-Za-z][\w/.\-]*){0,3}"
_PAIR = re.compile(
    rf"(?<![\w.\-/])(?P<name>{_NAME})['\"]?(?P<sep>\s*[:=]\s*|[ \t]+)"
    rf"(?P<value>{_NUMBER})(?:(?P<pct>%)|\s*/\s*(?P<total>\d+)(?![\d.]))?",
    re.IGNORECASE,
)
_COUNTED = re.compile(
    r"(?<![\w.])(?P<n>\d+)\s*/\s*\d+\s+"
    r"(?:batches|batch|steps|step|iterations|iteration|iters|iter|it)\b",
    re.IGNORECASE,
)
# A line headed by a split (`Test set:`, `Validation:`, `Train Epoch: 1`) gives that split to
# the leaves that name none; a name that merely starts the line (`valid loss 0.5`) does not.
_DIGIT = re.compile(r"\d")
_NONFINITE_WORD = re.compile(r"nan|inf", re.IGNORECASE)
_LEAD_SPLIT = re.compile(r"^\W*([A-Za-z]+)\b[A-Za-z \t]*:")
# A line headed by one of these echoes the configuration (`Namespace(lr=0.1)`, `args: ...`).
_ECHO = re.compile(
    r"^\W*(?:namespace\s*\(|(?:args|arguments|config|configuration|options|hparams|"
    r"hyper[-_ ]?parameters|params|parameters|settings|flags)\b\s*[:=(]?)",
    re.IGNORECASE,
)
# Words before a name that a logger puts there (`INFO loss: 0.3`): not part of the name.
_NOISE = {"info", "debug", "warning", "warn", "error", "log", "logging", "metrics", "stats"}


class PatternError(ValueError):
    """An entry point's metric pattern that is not a valid regular expression."""


@dataclass(frozen=True, slots=True)
class LineMetrics:
    """What one line said. `values`: canonical name (or the raw one, when unmapped) → value;
    `raw_names`: each of those → the name as the line wrote it. `iteration`/`epoch`: None
    when the line says none (the caller counts lines then). `values` may be empty when the
    line only gave an axis (`Epoch 3`), which the caller may keep for the next points."""

    values: dict[str, float] = field(default_factory=dict)
    raw_names: dict[str, str] = field(default_factory=dict)
    iteration: int | None = None
    epoch: int | None = None


class _Builder:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.raw: dict[str, str] = {}
        self.iteration: int | None = None
        self.epoch: int | None = None
        # Every (name as written, value) the line gave, metric or axis: for the echo check.
        self.said: list[tuple[str, float]] = []

    def axis(self, axis: str, value: float, raw: str = "") -> None:
        self.said.append((raw, value))
        if not math.isfinite(value) or value < 0 or value > 2**62:
            return
        if axis == "epoch":
            if self.epoch is None:
                self.epoch = math.ceil(value)  # HF's epoch 0.5: inside the first epoch
        elif self.iteration is None and float(value).is_integer():
            self.iteration = int(value)

    def metric(self, raw: str, default_split: Split, value: float, percent: bool) -> None:
        self.said.append((raw, value))
        name = _metric_name(raw, default_split)
        if name is None:
            return
        canonical, known = name
        if known and canonical.endswith("accuracy") and (percent or 1 < value <= 100):
            value = value / 100
        if canonical not in self.values:  # the first mention of a name on a line wins
            self.values[canonical] = value
            self.raw[canonical] = raw

    def result(self) -> LineMetrics | None:
        if not self.values and self.iteration is None and self.epoch is None:
            return None
        return LineMetrics(self.values, self.raw, self.iteration, self.epoch)


@lru_cache(maxsize=4096)
def _metric_name(raw: str, default_split: Split) -> tuple[str, bool] | None:
    raw = raw.strip()
    ws = words(raw)
    while ws and ws[0] in _NOISE:
        ws = ws[1:]
        raw = raw.split(None, 1)[1] if " " in raw.strip() else raw
    if not ws:
        return None
    m = parse_name(raw, default_split)
    return m.canonical, m.known


def _float(text: str) -> float | None:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return None


def _line_split(line: str) -> Split:
    m = _LEAD_SPLIT.match(line)
    return (split_of(m.group(1)) if m else None) or "train"


_LEAF_WORDS = {"loss", "acc", "accuracy", "lr", "rmse", "rate", "norm"}


@lru_cache(maxsize=4096)
def _axis_of(name: str, whole_number: bool) -> str | None:
    """`epoch`, `step`, `global_step` → their axis; `Train Epoch 1`, `end of epoch 3` too,
    with a whole number (`ms/batch 25.3` is a metric, not an iteration)."""
    whole = parse_name(name.strip())
    if whole.axis is not None:
        return whole.axis
    ws = words(name)
    if whole_number and ws and not any(w in _LEAF_WORDS for w in ws):
        return parse_name(ws[-1]).axis
    return None


def _dict_line(text: str, b: _Builder) -> bool:
    if not (text.startswith("{") and text.endswith("}")) or len(text) > MAX_LINE:
        return False
    try:
        doc = ast.literal_eval(text)  # literals only: never runs code
    except Exception:  # SyntaxError, ValueError, RecursionError, MemoryError's cousins
        return False
    if not isinstance(doc, dict):
        return False
    for key, value in doc.items():
        if not isinstance(key, str) or isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)):
            continue
        value = float(value)
        m = parse_name(key)
        if m.axis is not None:
            b.axis(m.axis, value, key)
        else:
            b.metric(key, "train", value, False)
    return True


def _pairs(text: str, b: _Builder) -> None:
    split = _line_split(text)
    cells = [c.strip() for c in text.split("|")] if text.count("|") >= 2 else []
    lone_cells = {c for c in cells if c}
    for m in _COUNTED.finditer(text):
        b.axis("iteration", float(m.group("n")))
    for m in _PAIR.finditer(text):
        name, value_text = m.group("name"), m.group("value")
        value = _float(value_text)
        if value is None:
            continue
        explicit = ":" in m.group("sep") or "=" in m.group("sep")
        axis = _axis_of(name, value.is_integer())
        if axis is not None:
            b.axis(axis, value, name)
            continue
        whole_cell = m.group(0).strip() in lone_cells
        known = _metric_name(name, split)
        if known is None:
            continue
        if not (explicit or whole_cell or known[1]):
            continue  # `Found 60000 images`: prose
        total = m.group("total")
        if total is not None and known[0].endswith("accuracy") and int(total) > 0:
            if value <= int(total):  # 9890/10000 correct: the fraction
                b.metric(name, split, value / int(total), False)
            continue
        b.metric(name, split, value, m.group("pct") is not None)


def _option_key(name: str) -> str:
    """`--learning-rate`, `learning_rate`, `Learning Rate` → `learning_rate`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("-").lower())


def _numeric_options(options: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in options.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[_option_key(key)] = float(value)
    return out


class StdoutParser:
    """Reads metric values off a script's stdout lines; `patterns`: the entry point's own
    regular expressions (named groups are metric or axis names), tried before the rest;
    `options`: the run's own option values (its args), so that a line echoing them is not
    read as metrics."""

    def __init__(
        self, patterns: Iterable[str] = (), options: Mapping[str, Any] | None = None
    ) -> None:
        self._options = _numeric_options(options or {})
        self._metrics_seen = False  # the echo check by options holds until the first metric
        self.patterns: list[re.Pattern[str]] = []
        for p in patterns:
            try:
                compiled = re.compile(p)
            except re.error as exc:
                raise PatternError(
                    f"metric pattern {p!r} is not a regular expression: {exc}"
                ) from None
            if not compiled.groupindex:
                raise PatternError(f"metric pattern {p!r} has no named group (?P<name>...)")
            self.patterns.append(compiled)

    def parse(self, line: str) -> LineMetrics | None:
        """What `line` says (see the module's docstring), or None when it gives no number."""
        try:
            return self._parse(line)
        except Exception:  # a line is never worth a crash of the run's log reader
            return None

    def _parse(self, line: str) -> LineMetrics | None:
        text = line[:MAX_LINE]
        if "\r" in text:  # a progress bar redraws itself: the last drawing is what it says
            text = next((t for t in reversed(text.split("\r")) if t.strip()), "")
        text = text.strip()
        if not _DIGIT.search(text) and not _NONFINITE_WORD.search(text):
            return None  # most prose: no number, nothing to read (and no regex run over it)
        if _ECHO.match(text):
            return None
        b = _Builder()
        for pattern in self.patterns:
            m = pattern.search(text)
            if m is None:
                continue
            for name, got in m.groupdict().items():
                value = None if got is None else _float(got)
                if value is None:
                    continue
                axis = parse_name(name).axis
                if axis is not None:
                    b.axis(axis, value, name)
                else:
                    b.metric(name, "train", value, False)
            found = b.result()
            if found is not None:
                return found
        if not _dict_line(text, b):
            _pairs(text, b)
        if not self._metrics_seen:
            if self._echoes_options(b.said):
                return None
            # Once training prints metrics, `lr: 0.25` each epoch is the learn rate's curve.
            self._metrics_seen = bool(b.values)
        return b.result()

    def _echoes_options(self, said: list[tuple[str, float]]) -> bool:
        """Whether every number of the line is one of the run's options, under its name."""
        if not said or not self._options:
            return False
        for raw, value in said:
            option = self._option_named(raw)
            if option is None or not math.isclose(option, value, rel_tol=1e-9, abs_tol=1e-12):
                return False
        return True

    def _option_named(self, raw: str) -> float | None:
        """The option `raw` names, or ends with (`Training with lr` → `lr`), if any."""
        ws = _option_key(raw).split("_")
        for start in range(len(ws)):
            option = self._options.get("_".join(ws[start:]))
            if option is not None:
                return option
        return None


def parse_line(line: str) -> LineMetrics | None:
    """`StdoutParser().parse(line)`: the built-in forms only."""
    return _DEFAULT.parse(line)


_DEFAULT = StdoutParser()
