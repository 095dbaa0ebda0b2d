"""`trainscope submit --entrypoint NAME --arg lr=0.1 --arg layers=[64,32]` → an args dict.

A value is JSON when it reads as JSON (`[64,32]`, `true`, `null`, `0.1`), else the text as it
is (`adam`, `ckpt/last.pt`): validation against the entry point's schema coerces and checks it
either way (`"0.1"` for a number is fine), so the terminal needs no quoting rules of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


class ArgPairError(ValueError):
    """A `--arg` that is not NAME=VALUE."""


def parse_arg_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """`["lr=0.1", "optimizer=adam"]` → `{"lr": 0.1, "optimizer": "adam"}`; the last wins."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ArgPairError(f"--arg {pair!r}: expected NAME=VALUE, e.g. --arg lr=0.1")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        # A JSON string keeps its quotes' meaning ("3" stays a string); a bare word is text.
        out[name] = value
    return out
