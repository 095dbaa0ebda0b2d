"""Child side: run a training script until it parses its arguments, record the parser, exit.

    python -m trainscope.entrypoints.argparse_probe SCRIPT [--out FILE]

The script runs as `__main__` (so a `main()` behind `if __name__ == "__main__"` is reached) with
`sys.argv = [SCRIPT]`. `ArgumentParser.parse_known_args` — which `parse_args` calls too — is
replaced by a recorder that writes the parser's actions as JSON (`probe.ScriptProbe`'s shape) and
ends the process with `os._exit(0)` on the spot: nothing after the parse (data loading, the
training loop, the script's own `finally`) runs. Exit 0 with the probe; exit 2 with a
`ProbeFailure` when the script crashed, exited or ended before it parsed anything.

Stdlib only: this is the first thing a fresh interpreter runs, and the server imports it in
tests. The script's own prints go to stderr, so stdout holds only the JSON when no --out.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

_KINDS: list[tuple[type[argparse.Action], str]] = [
    (argparse._HelpAction, "help"),
    (argparse._VersionAction, "version"),
    (argparse._SubParsersAction, "subparsers"),
    # StoreTrue/StoreFalse derive from StoreConst: check them first.
    (argparse._StoreTrueAction, "store_true"),
    (argparse._StoreFalseAction, "store_false"),
    (argparse._StoreConstAction, "store_const"),
    (argparse.BooleanOptionalAction, "boolean_optional"),
    (argparse._AppendConstAction, "append_const"),
    (argparse._ExtendAction, "extend"),  # derives from _AppendAction
    (argparse._AppendAction, "append"),
    (argparse._CountAction, "count"),
    (argparse._StoreAction, "store"),
]
_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", Path: "Path"}


def _kind(action: argparse.Action) -> str:
    for cls, name in _KINDS:
        if isinstance(action, cls):
            return name
    return "custom"


def _type_name(t: Any) -> str | None:
    if t is None:
        return None
    if t in _TYPE_NAMES:
        return _TYPE_NAMES[t]
    if isinstance(t, argparse.FileType):
        return "FileType"
    return str(getattr(t, "__name__", None) or type(t).__name__)


def _json_value(v: Any) -> Any:
    """A default or choice as JSON: numbers, strings, bools, None and lists of them as they
    are; anything else (a Path, an enum member, an object) as its str."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        # JSON has no inf/nan: the REST API's strings for them (the schema layer reads them).
        if math.isfinite(v):
            return v
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return str(v)


def _default(action: argparse.Action) -> Any:
    d = action.default
    if d is argparse.SUPPRESS:
        return None
    if d is None and not action.option_strings and action.nargs == argparse.ZERO_OR_MORE:
        return []  # what argparse gives a `*` positional that got no value
    # argparse runs a string default through type= (parse_args does, for store actions): the
    # script sees the converted value, so the schema should too.
    convert = action.type
    if isinstance(d, str) and callable(convert) and _kind(action) == "store":
        with contextlib.suppress(Exception):
            d = convert(d)
    return _json_value(d)


def describe(parser: argparse.ArgumentParser) -> dict[str, Any]:
    actions: list[dict[str, Any]] = []
    warnings: list[str] = []
    for a in parser._actions:
        kind = _kind(a)
        if kind in ("help", "version"):
            continue
        if kind == "subparsers":
            warnings.append("subcommands (add_subparsers) are not supported; they are left out")
            continue
        help_text = a.help if isinstance(a.help, str) and a.help != argparse.SUPPRESS else None
        if help_text and "%(" in help_text:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                help_text = help_text % {**vars(a), "prog": parser.prog, "default": a.default}
        metavar = a.metavar if isinstance(a.metavar, str) else None
        actions.append(
            {
                "dest": a.dest,
                "option_strings": list(a.option_strings),
                "kind": kind,
                "type": _type_name(a.type),
                "default": _default(a),
                "const": _json_value(a.const),
                "choices": None if a.choices is None else [_json_value(c) for c in a.choices],
                "help": help_text,
                "nargs": a.nargs if isinstance(a.nargs, (int, str)) else None,
                "required": bool(a.required),
                "metavar": metavar,
            }
        )
    return {
        "prog": parser.prog,
        "description": parser.description,
        "actions": actions,
        "warnings": warnings,
    }


class _Out:
    def __init__(self, path: str | None, stdout: Any) -> None:
        self.path = path
        self.stdout = stdout

    def write(self, doc: dict[str, Any]) -> None:
        text = json.dumps(doc)
        if self.path:
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)  # the reader never sees half a file
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()


_HERE = str(Path(__file__).parent)
_IMPORTLIB = str(Path(importlib.__file__).parent)


def user_traceback(exc: BaseException, limit: int = 8) -> str:
    """The traceback from the user's code on (the probe's and runpy's frames left out)."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith((_HERE, "<frozen", _IMPORTLIB))
    ]
    lines = traceback.format_list(frames[-limit:])
    lines += traceback.format_exception_only(type(exc), exc)
    return ("Traceback (most recent call last):\n" + "".join(lines)).strip()


def _fail(out: _Out, reason: str) -> NoReturn:
    out.write({"kind": "failure", "reason": reason})
    sys.stderr.flush()
    os._exit(2)


def probe(script: str, out: _Out) -> NoReturn:
    path = Path(script).resolve()
    if not path.is_file():
        _fail(out, f"no such script: {script}")
    method_used: list[str] = []
    original = argparse.ArgumentParser.parse_known_args

    def recorder(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        doc = {"kind": "script", "script": str(path), "method": method_used[-1], **describe(self)}
        out.write(doc)
        sys.stderr.flush()
        os._exit(0)  # before anything after the parse runs, the script's finally blocks too

    def parse_args(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        method_used.append("parse_args")
        return recorder(self)

    def parse_known_args(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        method_used.append("parse_known_args")
        return recorder(self)

    argparse.ArgumentParser.parse_args = parse_args  # type: ignore[method-assign]
    argparse.ArgumentParser.parse_known_args = parse_known_args  # type: ignore[method-assign]
    sys.argv = [str(path)]
    # As `python SCRIPT` does: the script's folder first on sys.path (its sibling modules).
    sys.path.insert(0, str(path.parent))
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        _fail(out, f"the script exited (code {exc.code!r}) before it parsed its arguments")
    except BaseException as exc:  # any crash is the answer
        _fail(out, f"the script crashed before it parsed its arguments:\n{user_traceback(exc)}")
    finally:
        argparse.ArgumentParser.parse_known_args = original  # type: ignore[method-assign]
    _fail(
        out,
        "the script ended without calling ArgumentParser.parse_args or parse_known_args "
        "(it reads no options with argparse, or only under a condition the probe did not meet)",
    )


def main(argv: list[str] | None = None) -> NoReturn:
    ap = argparse.ArgumentParser(prog="python -m trainscope.entrypoints.argparse_probe")
    ap.add_argument("script")
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    ns = ap.parse_args(argv)
    out = _Out(ns.out, sys.stdout)
    sys.stdout = sys.stderr  # the script's prints must not mix with the JSON
    probe(ns.script, out)


if __name__ == "__main__":
    main()
