"""Option values checked against an entry point's JSON Schema: every problem at once.

The server checks a run's `args` here, without the user's code (DESIGN §8: a 422 naming each
bad option and why). Errors are pydantic-shaped dicts (`loc`, `msg`, `type`, `input`) with
`loc = ("args", name, ...)`, so `schemas.errors.format_error_list` — what every 422 of the API
uses — turns them into lines like `args.lr: must be a number (got 'fast')`.

The schema is a script's (`script_schema`) or a pydantic model's (`model_json_schema()`): this
reads the parts both use (type, enum, const, anyOf, $ref into $defs, numeric bounds, string
length, items, minItems/maxItems, required, additionalProperties). A function's model still
validates the values itself when the run starts; this is the early, code-free check.

Values are coerced the way pydantic's lax mode does (the CLI's `--arg lr=0.1` sends strings):
"3" for an integer, "0.1" for a number, "true"/"false" for a boolean.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from trainscope.schemas.errors import format_error_list

ArgError = dict[str, Any]
_MISSING = object()
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "infinity": math.inf, "-inf": -math.inf}
_NONFINITE["-infinity"] = -math.inf


class ArgsInvalid(ValueError):
    """`args` the schema refuses: `errors` (pydantic-shaped) and `lines` (one per problem)."""

    def __init__(self, errors: list[ArgError]) -> None:
        self.errors = errors
        self.lines = format_arg_errors(errors)
        super().__init__("; ".join(self.lines))


def format_arg_errors(errors: list[ArgError]) -> list[str]:
    """One line per problem, as the API's 422 `message` has them."""
    return format_error_list(errors)


def _err(loc: tuple[Any, ...], kind: str, msg: str, value: Any = _MISSING) -> ArgError:
    e: ArgError = {"loc": loc, "msg": msg, "type": kind}
    if value is not _MISSING:
        e["input"] = value
    return e


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.split("/")[-1], {})
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _as_type(value: Any, t: str) -> tuple[bool, Any]:
    """(fits, coerced value) for one JSON Schema type name."""
    if t == "null":
        return value is None, None
    if t == "boolean":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return True, value.strip().lower() in _TRUE
        return False, value
    if t == "integer":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str):
            try:
                return True, int(value.strip())
            except ValueError:
                return False, value
        return False, value
    if t == "number":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, (int, float)):
            return True, value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _NONFINITE or text in ("+inf", "+infinity"):
                return True, _NONFINITE.get(text.lstrip("+"), math.inf)
            try:
                return True, float(text)
            except ValueError:
                return False, value
        return False, value
    if t == "string":
        # No number → string coercion: pydantic refuses it too (a function's model is the
        # final word), and the CLI sends every value as a string anyway.
        return isinstance(value, str), value
    if t == "array":
        return isinstance(value, list), value
    if t == "object":
        return isinstance(value, dict), value
    return True, value


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


_BOUNDS = {
    "minimum": "greater than or equal to",
    "exclusiveMinimum": "greater than",
    "maximum": "less than or equal to",
    "exclusiveMaximum": "less than",
}


def _count(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def _within(key: str, value: float, bound: float) -> bool:
    if value != value:  # NaN: no bound says anything about it; the script decides
        return True
    if key == "minimum":
        return value >= bound
    if key == "exclusiveMinimum":
        return value > bound
    if key == "maximum":
        return value <= bound
    return value < bound


def _check(
    value: Any, schema: dict[str, Any], root: dict[str, Any], loc: tuple[Any, ...]
) -> tuple[Any, list[ArgError]]:
    schema = _resolve(schema, root)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        first: list[ArgError] | None = None
        for option in options:
            v, errs = _check(value, option, root, loc)
            if not errs:
                return v, []
            first = first if first is not None else errs
        return value, first or [_err(loc, "value_error", "matches none of the allowed forms")]
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        for t in names:
            fits, coerced = _as_type(value, t)
            if fits:
                value = coerced
                break
        else:
            words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in names)
            return value, [_err(loc, f"{names[0]}_type", f"must be {words}", value)]
        if value is None:
            return value, []
    errors: list[ArgError] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        errors.append(_err(loc, "enum", f"must be one of {allowed}", value))
    if "const" in schema and value != schema["const"]:
        errors.append(_err(loc, "literal_error", f"must be {schema['const']!r}", value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key, words in _BOUNDS.items():
            bound = schema.get(key)
            if isinstance(bound, (int, float)) and not _within(key, value, bound):
                errors.append(_err(loc, key, f"must be {words} {bound}", value))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(_err(loc, "string_too_short", "is too short", value))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(_err(loc, "string_too_long", "is too long", value))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                matches = re.search(pattern, value) is not None
            except re.error:
                matches = True  # a pattern Python cannot read: the model checks it itself
            if not matches:
                errors.append(_err(loc, "string_pattern_mismatch", f"must match {pattern}", value))
    if isinstance(value, list):
        n = len(value)
        low, high = schema.get("minItems"), schema.get("maxItems")
        if isinstance(low, int) and n < low:
            errors.append(_err(loc, "too_short", f"needs at least {_count(low)} (got {n})", value))
        if isinstance(high, int) and n > high:
            errors.append(_err(loc, "too_long", f"takes at most {_count(high)} (got {n})", value))
        if isinstance(schema.get("items"), dict):
            out = []
            for i, item in enumerate(value):
                v, errs = _check(item, schema["items"], root, (*loc, i))
                out.append(v)
                errors += errs
            value = out
    if isinstance(value, dict) and "properties" in schema:
        value, errs = _object(value, schema, root, loc)
        errors += errs
    return value, errors


def _object(
    values: Mapping[str, Any], schema: dict[str, Any], root: dict[str, Any], loc: tuple[Any, ...]
) -> tuple[dict[str, Any], list[ArgError]]:
    props: dict[str, Any] = schema.get("properties", {})
    errors: list[ArgError] = []
    out: dict[str, Any] = {}
    if schema.get("additionalProperties") is False:
        for name in values:
            if name not in props:
                close = difflib.get_close_matches(str(name), list(props), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                errors.append(_err((*loc, name), "value_error", f"unknown option{hint}"))
    for name, prop in props.items():
        if name in values:
            v, errs = _check(values[name], prop, root, (*loc, name))
            out[name] = v
            errors += errs
        elif name in schema.get("required", []):
            errors.append(_err((*loc, name), "missing", "required"))
        else:
            default = _resolve(prop, root).get("default", prop.get("default"))
            out[name] = default
    return out, errors


def validate_args(schema: dict[str, Any], args: Any) -> dict[str, Any]:
    """`args` checked and coerced against `schema`, every option present (defaults filled
    in); ArgsInvalid naming every bad option at once otherwise."""
    if not isinstance(args, dict):
        raise ArgsInvalid([_err(("args",), "dict_type", "must be an object of option values")])
    out, errors = _object(args, schema, schema, ("args",))
    if errors:
        raise ArgsInvalid(errors)
    return out
