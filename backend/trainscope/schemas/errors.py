"""Turn pydantic validation errors into one line per problem, naming the field and the range."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

_PREFIXES = ("Value error, ", "Assertion failed, ")


def _field_path(loc: Iterable[Any], tags: set[str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in tags:
            # Discriminated unions put the chosen tag in the location; people don't type it.
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _got(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return f" (got {text if len(text) <= 60 else text[:57] + '...'})"


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Best effort: the field names that were allowed where an unknown one appeared."""
    # by_alias=False: suggest the snake_case names, which the docs use, over the MATLAB ones.
    schema = model.model_json_schema(by_alias=False)
    defs = schema.get("$defs", {})
    names: set[str] = set()
    for d in [schema, *defs.values()]:
        names.update(d.get("properties", {}).keys())
    return sorted(names)


def format_validation_error(
    exc: ValidationError, model: type[BaseModel] | None = None, tags: Iterable[str] = ()
) -> list[str]:
    """One line per problem, e.g. 'options.momentum: must be less than 1 (got 1.5)'."""
    return format_error_list(list(exc.errors()), model, tags)


def format_error_list(
    errors: list[Any], model: type[BaseModel] | None = None, tags: Iterable[str] = ()
) -> list[str]:
    """format_validation_error for error dicts (pydantic's or FastAPI's request errors)."""
    tag_set = set(tags)
    lines: list[str] = []
    for err in errors:
        path = _field_path(err["loc"], tag_set)
        msg = err["msg"]
        for prefix in _PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        kind = err["type"]
        if kind == "extra_forbidden":
            parent, _, name = path.rpartition(".")
            hint = ""
            if model is not None:
                close = difflib.get_close_matches(name, _known_fields(model, err["loc"]), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
            where = f" in {parent}" if parent else ""
            lines.append(f"unknown field '{name}'{where}{hint}")
            continue
        if kind == "missing":
            lines.append(f"{path}: required")
            continue
        msg = msg.replace("Input should be", "must be")
        got = "" if kind.startswith("value_error") else _got(err.get("input"))
        lines.append(f"{path}: {msg}{got}" if path else f"{msg}{got}")
    return lines
