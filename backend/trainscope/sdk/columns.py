"""Logged rows → columns of floats, on the shipper's thread (never in `log()`).

A row is what `Run.log` appended: `(step, epoch, wall_time, values)`. Values may be Python
floats (the fast path: checked at C speed, nothing converted), ints, bools, numpy scalars or
tensors (anything with `.item()` or `__float__`). Converting a CUDA tensor here still waits for
the GPU (`.item()` synchronises), but on this thread, not in the training loop's `log()` call.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from trainscope.schemas.metric_names import parse_name

Row = tuple[int, int, float, dict[str, Any]]
Column = list[float | None]

_STEP, _EPOCH, _TIME, _VALUES = (itemgetter(i) for i in range(4))
_FLOAT_ONLY = frozenset({float})
_FLOAT_OR_NONE = frozenset({float, type(None)})


def to_float(value: Any) -> float:
    """A logged value as a float; ValueError/TypeError when it is not a number."""
    if type(value) is float:
        return value
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalars, 0-d arrays, one-element tensors
        value = item()
    if isinstance(value, str):  # float("1.5") would accept it: a string is no metric value
        raise TypeError(f"a string ({value[:40]!r})")
    return float(value)


class Problems:
    """Says once per metric on stderr that its values are dropped; training goes on."""

    def __init__(self) -> None:
        self._told: set[str] = set()

    def bad_value(self, name: str, value: Any, exc: Exception) -> None:
        if name in self._told:
            return
        self._told.add(name)
        print(
            f"trainscope: dropping values of {name!r} that are not numbers "
            f"({type(value).__name__}: {exc}); log floats, ints or one-element tensors",
            file=sys.stderr,
        )


def to_columns(
    rows: Sequence[Row], problems: Problems
) -> tuple[list[int], list[int], list[float], dict[str, Column], list[int]]:
    """(steps, epochs, wall_times, values by metric name, indices of rows left with no value).
    Metric names in the order first logged. Every pass is a `map` at C speed: this runs for
    every logged row, competing with the training loop for the GIL."""
    steps = list(map(_STEP, rows))
    epochs = list(map(_EPOCH, rows))
    times = list(map(_TIME, rows))
    dicts = list(map(_VALUES, rows))
    values: dict[str, Column] = {}
    converted = False
    for name in dict.fromkeys(chain.from_iterable(dicts)):
        column: Column = list(map(dict.get, dicts, repeat(name)))
        if not set(map(type, column)) <= _FLOAT_OR_NONE:
            column = _convert(str(name), column, problems)
            converted = True
        values[str(name)] = column
    empty: list[int] = []
    if not values:
        empty = list(range(len(dicts)))
    elif converted or set(map(len, dicts)) != {len(values)}:
        # A row may hold no number at all (values dropped, or an empty dict logged).
        cols = list(values.values())
        empty = [i for i, row in enumerate(zip(*cols, strict=True)) if all(v is None for v in row)]
    return steps, epochs, times, values, empty


def with_canonical_names(values: dict[str, Column]) -> dict[str, Column]:
    """DESIGN §9: a metric logged as `loss`, `val_acc`, `lr-Adam` ... is also sent under its
    canonical name (`train_loss`, `val_accuracy`, `learn_rate`), which the charts and the
    doctor know; the logged name stays too. A canonical name the script logged itself wins.
    `values` itself (no copy) when nothing is added: the common run logs §5's names."""
    extra: dict[str, Column] = {}
    for name, column in values.items():
        m = parse_name(name)
        if m.known and m.axis is None and m.canonical not in values and m.canonical not in extra:
            extra[m.canonical] = column
    return {**values, **extra} if extra else values


def _convert(name: str, column: list[Any], problems: Problems) -> Column:
    out: Column = []
    for v in column:
        if v is None:
            out.append(None)
            continue
        try:
            out.append(to_float(v))
        except (TypeError, ValueError, RuntimeError) as exc:  # RuntimeError: a tensor of many
            problems.bad_value(name, v, exc)
            out.append(None)
    return out


def dense(column: Column) -> bool:
    return set(map(type, column)) <= _FLOAT_ONLY


def json_column(column: Column) -> list[Any]:
    """JSON has no NaN or infinity: those become "NaN", "Infinity", "-Infinity" (as the REST
    API spells them). The common all-finite column is checked at C speed and sent as it is."""
    has_none = None in column
    total = sum(v for v in column if v is not None) if has_none else sum(column)  # type: ignore[arg-type]
    if math.isfinite(total):
        return column
    return [v if v is None or math.isfinite(v) else _name(v) for v in column]


def _name(v: float) -> str:
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"
