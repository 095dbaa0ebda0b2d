"""A script's argparse actions (`ScriptProbe`) → JSON Schema of its options, and back to argv.

Properties are keyed by `dest` (what `args.<name>` reads, DESIGN §8). Types: `int` → integer,
`float` → number, `str`/none → string, `Path` → string with `format: path`; any other `type=`
callable → string, its name in `x-argparse-type` (the server never runs user code, so the
script's own parse is what checks such a value). `store_true`/`store_false`/`--x/--no-x` →
boolean; `choices` → enum; `nargs` `*`/`+`/N and `append`/`extend` → array; `count` →
integer ≥ its default. An option whose default is None may be null (the flag is then left out).
"""

from __future__ import annotations

from typing import Any

from trainscope.entrypoints.probe import ArgAction, ScriptProbe

_JSON_TYPES = {"int": "integer", "float": "number", "str": "string", None: "string"}
_BOOL_KINDS = ("store_true", "store_false", "boolean_optional")
_ARRAY_KINDS = ("append", "extend")


def _scalar(action: ArgAction) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = action.type
    if t in _JSON_TYPES:
        out["type"] = _JSON_TYPES[t]
    elif t == "Path":
        out.update(type="string", format="path")
    else:
        out["type"] = "string"
        out["x-argparse-type"] = t
    if action.choices is not None:
        out["enum"] = list(action.choices)
    return out


def _is_array(action: ArgAction) -> bool:
    if action.kind in _ARRAY_KINDS:
        return True
    return action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.kind == "store")


def _items(action: ArgAction) -> dict[str, Any]:
    """The array of an nargs option or an append's list of values."""
    item = _scalar(action)
    n = action.nargs
    if action.kind in _ARRAY_KINDS and (n in ("*", "+") or isinstance(n, int)):
        item = {"type": "array", "items": item}  # append with nargs: a list of lists
    arr: dict[str, Any] = {"type": "array", "items": item}
    if action.kind == "store" or action.kind == "extend":
        if n == "+":
            arr["minItems"] = 1
        elif isinstance(n, int):
            arr["minItems"] = arr["maxItems"] = n
    return arr


def _property(actions: list[ArgAction]) -> dict[str, Any]:
    """One dest's property; several actions may share a dest (`--cuda` / `--no-cuda`)."""
    first = actions[0]
    kinds = {a.kind for a in actions}
    prop: dict[str, Any]
    if kinds <= set(_BOOL_KINDS):
        prop = {"type": "boolean"}
    elif kinds <= {"store_const", "store_true", "store_false"}:
        values = [first.default, *(a.const for a in actions if a.kind == "store_const")]
        values += [True for a in actions if a.kind == "store_true"]
        values += [False for a in actions if a.kind == "store_false"]
        prop = {"enum": _unique(values)}
    elif first.kind == "count":
        prop = {"type": "integer", "minimum": int(first.default or 0)}
    elif first.kind == "append_const":
        prop = {"type": "array", "items": {"enum": _unique([a.const for a in actions])}}
    elif _is_array(first):
        prop = _items(first)
    else:
        prop = _scalar(first)
    required = _required(actions)
    if not required:
        prop["default"] = first.default
    if first.default is None and not required and "type" in prop:
        prop["type"] = [prop["type"], "null"]
    helps = [a.help for a in actions if a.help]
    if helps:
        prop["description"] = " / ".join(helps)
    flags = [s for a in actions for s in a.option_strings]
    prop["x-argparse"] = {
        "flags": flags,
        "kinds": [a.kind for a in actions],
        "positional": first.positional,
        **({"metavar": first.metavar} if first.metavar else {}),
    }
    return prop


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for v in values:
        if _hashable(v) not in seen:
            seen.add(_hashable(v))
            out.append(v)
    return out


def by_dest(probe: ScriptProbe) -> dict[str, list[ArgAction]]:
    groups: dict[str, list[ArgAction]] = {}
    for a in probe.actions:
        groups.setdefault(a.dest, []).append(a)
    return groups


def _required(actions: list[ArgAction]) -> bool:
    a = actions[0]
    if a.positional:
        return a.nargs not in ("?", "*")
    return any(x.required for x in actions)


def script_schema(probe: ScriptProbe) -> dict[str, Any]:
    """The JSON Schema of a probed script's options (see the module's docstring)."""
    groups = by_dest(probe)
    schema: dict[str, Any] = {
        "type": "object",
        "title": probe.prog or "options",
        "properties": {dest: _property(actions) for dest, actions in groups.items()},
        "required": [dest for dest, actions in groups.items() if _required(actions)],
        "additionalProperties": False,
    }
    if probe.description:
        schema["description"] = probe.description
    return schema
