"""Child side: import `package.module:function`, check its one pydantic parameter, answer JSON.

    python -m trainscope.entrypoints.function_probe package.module:function [--out FILE]

Importing the user's module runs their code (which may import torch): the server never does it,
it starts this in a child (jobs/probe_runner.py). The answer is `probe.FunctionProbe`'s shape
(the model's `model_json_schema()`), or a `ProbeFailure` with the reason and exit 2.

`validate_in_child(target, args)` is the model's own validation, for the child that runs the
function: it returns the model instance or raises pydantic's ValidationError.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import typing
from collections.abc import Callable
from typing import Any, NoReturn

from trainscope.entrypoints.argparse_probe import _Out, user_traceback


class TargetError(ValueError):
    """The target does not name a function whose one parameter is a pydantic model."""


def load_target(target: str) -> tuple[Callable[..., Any], str, type[Any]]:
    """(the function, its parameter's name, the pydantic model class) for `module:function`."""
    from pydantic import BaseModel

    module_name, sep, func_name = target.partition(":")
    if not sep or not module_name or not func_name:
        raise TargetError(f"{target!r} is not package.module:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the operator's folder, as `python -m` would have it
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in func_name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise TargetError(f"{module_name} has no {func_name}")
    if not callable(obj):
        raise TargetError(f"{target} is not a function")
    params = list(inspect.signature(obj).parameters.values())
    if len(params) != 1:
        raise TargetError(f"{target} takes {len(params)} parameters; it needs exactly one")
    try:
        hints = typing.get_type_hints(obj)
    except Exception as exc:  # an annotation that names something not importable
        raise TargetError(f"{target}: its annotations cannot be read ({exc})") from None
    model = hints.get(params[0].name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TargetError(
            f"{target}: its parameter {params[0].name!r} is not annotated with a pydantic model"
        )
    return obj, params[0].name, model


def describe(target: str) -> dict[str, Any]:
    _, param, model = load_target(target)
    return {
        "kind": "function",
        "target": target,
        "model": f"{model.__module__}.{model.__qualname__}",
        "parameter": param,
        "schema": model.model_json_schema(),
        "reads_resume_from": "resume_from" in model.model_fields,
    }


def validate_in_child(target: str, args: dict[str, Any]) -> Any:
    """The model instance for `args` (pydantic's ValidationError when it refuses them)."""
    _, _, model = load_target(target)
    return model.model_validate(args)


def main(argv: list[str] | None = None) -> NoReturn:
    ap = argparse.ArgumentParser(prog="python -m trainscope.entrypoints.function_probe")
    ap.add_argument("target", help="package.module:function")
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    ns = ap.parse_args(argv)
    out = _Out(ns.out, sys.stdout)
    sys.stdout = sys.stderr  # the module's prints at import must not mix with the JSON
    try:
        doc = describe(ns.target)
    except TargetError as exc:
        out.write({"kind": "failure", "reason": str(exc)})
        os._exit(2)
    except BaseException as exc:  # importing user code may raise anything
        out.write(
            {"kind": "failure", "reason": f"importing {ns.target} failed:\n{user_traceback(exc)}"}
        )
        os._exit(2)
    out.write(doc)
    os._exit(0)


if __name__ == "__main__":
    main()
