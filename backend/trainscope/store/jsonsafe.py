"""JSON for values that may be NaN or ±Inf.

JSON has no literal for them, yet a NaN loss is the most important point of a diverged run. On
the wire they become the strings "NaN", "Infinity" and "-Infinity", which JavaScript's
`Number(s)` turns back into the numbers. In the database (Text columns written by us and read by
us) Python's own `NaN`/`Infinity` tokens are kept, so nothing is lost on the way through.

No numpy and no SQLAlchemy here: the websocket code reuses `json_safe`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import partial
from operator import is_not
from typing import Any

_not_none = partial(is_not, None)


def _float_name(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (nested in dicts, lists, tuples) replaced by "NaN",
    "Infinity" or "-Infinity", so that `json.dumps(..., allow_nan=False)` accepts it. Everything
    else is returned as it is (containers are copied only where something changed is inside)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_name(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (float, int, type(None))):
            return safe_float_list(value)
        return [json_safe(v) for v in value]
    return value


def safe_float_list(values: Sequence[Any]) -> list[Any]:
    """A list of numbers (and None) made JSON-safe. The common case, nothing non-finite, is
    checked at C speed so that a backlog of a million values costs milliseconds, not a
    Python-level loop over every one."""
    try:
        finite = all(map(math.isfinite, filter(_not_none, values)))
    except TypeError:  # not all numbers: the general path
        return [json_safe(v) for v in values]
    if finite:
        return values if isinstance(values, list) else list(values)
    return [
        v if v is None or not isinstance(v, float) or math.isfinite(v) else _float_name(v)
        for v in values
    ]


def db_dumps(value: Any) -> str:
    """JSON text for a Text column. NaN/Infinity stay Python's tokens so they read back as
    floats; `db_loads` is its inverse."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def db_loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
