"""Option values → the argv a script's own parser reads back into exactly those values.

`build_argv(probe, args)` uses the parser's own flags (the first long one): a value equal to the
script's default is left out (the script's default applies, and argv stays what a person would
type); booleans are a bare flag or nothing (`store_false` inverted, `--x/--no-x` either way);
lists are `--flag a b` (append: `--flag a --flag b`); positionals come last, after `--` when a
value starts with `-` or a variable-length option precedes them. A value that starts with `-` is
written `--flag=-1` so that argparse cannot take it for an option.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from trainscope.entrypoints.probe import ArgAction, ScriptProbe
from trainscope.entrypoints.script_schema import by_dest


class ArgvError(ValueError):
    """A value that no flag of the script's parser can produce (validate first to avoid it)."""


def _flag(action: ArgAction) -> str:
    longs = [s for s in action.option_strings if s.startswith("--")]
    return (longs or action.option_strings)[0]


def _text(v: Any) -> str:
    if v == "--":
        # argparse drops a `--` from any option's values: no argv can hand it to the script.
        raise ArgvError("'--' cannot be passed to an argparse script as a value")
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if v != v else ("inf" if v > 0 else "-inf")
        return repr(v)  # repr round-trips through float() exactly
    return str(v)


def _list_text(v: Any) -> str:
    """A value among several after one flag: argparse takes `-1e-05` there for an option (its
    negative-number test knows no exponent), so such a float is written out, `-0.00001`."""
    text = _text(v)
    if isinstance(v, float) and text.startswith("-") and "e" in text:
        return format(Decimal(text), "f")  # the same decimal, so float() reads the same value
    return text


def _option(flag: str, value: Any) -> list[str]:
    text = _text(value)
    return [f"{flag}={text}"] if text.startswith("-") else [flag, text]


def _values(action: ArgAction, value: Any) -> list[str]:
    """An option that takes values: `--flag v` or `--flag v1 v2`."""
    flag = _flag(action)
    if isinstance(value, list):
        if not value:
            return [flag]  # nargs="*": the bare flag is an empty list
        texts = [_list_text(v) for v in value]
        if len(texts) == 1:
            return _option(flag, value[0])
        return [flag, *texts]
    return _option(flag, value)


def _for_dest(dest: str, actions: list[ArgAction], value: Any) -> list[str]:
    first = actions[0]
    kinds = {a.kind for a in actions}
    if "count" in kinds:
        n = int(value or 0) - int(first.default or 0)
        if n < 0:
            raise ArgvError(f"{dest}: {value} is below the script's default {first.default}")
        return [_flag(first)] * n
    if kinds & {"store_true", "store_false", "store_const", "boolean_optional"}:
        for a in actions:
            if a.kind == "boolean_optional":
                positive = [s for s in a.option_strings if not s.startswith("--no-")]
                negative = [s for s in a.option_strings if s.startswith("--no-")]
                if value is True and positive:
                    return [positive[0]]
                if value is False and negative:
                    return [negative[0]]
            produced = {"store_true": True, "store_false": False}.get(a.kind, a.const)
            if a.kind in ("store_true", "store_false", "store_const") and produced == value:
                return [_flag(a)]
        raise ArgvError(f"{dest}: no flag of the script sets it to {value!r}")
    if "append_const" in kinds:
        out: list[str] = []
        for v in value or []:
            match = next((a for a in actions if a.const == v), None)
            if match is None:
                raise ArgvError(f"{dest}: no flag of the script appends {v!r}")
            out.append(_flag(match))
        return out
    if first.kind == "append":
        out = []
        for v in value or []:
            out += _values(first, v)
        return out
    return _values(first, value)


def build_argv(probe: ScriptProbe, args: Mapping[str, Any]) -> list[str]:
    """The arguments after `python SCRIPT` that make the script parse `args` (values already
    validated, e.g. by `validate_args`). Keys not in the parser raise ArgvError."""
    groups = by_dest(probe)
    unknown = sorted(set(args) - set(groups))
    if unknown:
        raise ArgvError(f"not options of the script: {', '.join(unknown)}")
    options: list[str] = []
    variable = False
    positionals: list[str] = []
    for dest, actions in groups.items():
        first = actions[0]
        if first.positional:
            if dest not in args or args[dest] is None:
                continue
            value = args[dest]
            positionals += (
                [_list_text(v) for v in value] if isinstance(value, list) else [_text(value)]
            )
            continue
        if dest not in args:
            continue
        value = args[dest]
        if value == first.default and not first.required:
            continue
        if value is None:
            continue  # "leave it out": the script's default applies
        part = _for_dest(dest, actions, value)
        if part and first.nargs in ("?", "*", "+"):
            variable = True
        options += part
    if positionals and (variable or any(p.startswith("-") for p in positionals)):
        return [*options, "--", *positionals]
    return options + positionals
