"""Child side: run a function entry point with option values, through its own model.

    python -m trainscope.entrypoints.function_run package.module:function ARGS.json

The child the executor starts for a function entry point (in the operator's folder, without
the server's settings). The values are the run's `args` (already checked against the schema on
the server); the model validates them once more — it is the final word, with validators the
schema cannot express — and the function is called with the model instance. Exit 0 when it
returns; exit 1 with the reason on stderr (each refused option on a line of its own) when the
model refuses the values or the target is no model function; an exception in the function is
raised as it is (its traceback on stderr, exit 1), as in any script.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from trainscope.entrypoints.function_probe import TargetError, load_target


def run(target: str, args: dict[str, Any]) -> Any:
    """Validate `args` through the function's model and call it; what it returns."""
    from pydantic import ValidationError

    from trainscope.schemas.errors import format_validation_error

    func, _, model = load_target(target)
    try:
        config = model.model_validate(args)
    except ValidationError as exc:
        lines = format_validation_error(exc)
        text = "\n".join(f"  args.{line}" for line in lines)
        raise SystemExit(f"the options were refused:\n{text}") from None
    return func(config)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m trainscope.entrypoints.function_run")
    ap.add_argument("target", help="package.module:function")
    ap.add_argument("args", help="a JSON file with the option values")
    ns = ap.parse_args(argv)
    try:
        values = json.loads(Path(ns.args).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.exit(f"cannot read the option values from {ns.args}: {exc}")
    if not isinstance(values, dict):
        sys.exit(f"{ns.args}: the option values must be a JSON object")
    try:
        run(ns.target, values)
    except TargetError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
