"""Property: for any values the schema accepts, the script's own parser reads back exactly them.

In process (no child): `describe` is what the probe child writes for a parser, so a parser
built here goes through the same schema and argv code as a probed script's.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainscope.entrypoints.argparse_probe import describe
from trainscope.entrypoints.argv import ArgvError, build_argv
from trainscope.entrypoints.probe import ScriptProbe
from trainscope.entrypoints.script_schema import script_schema
from trainscope.entrypoints.validation import validate_args


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prop")
    p.add_argument("src")
    p.add_argument("extra", nargs="*", type=int)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--name", default=None)
    p.add_argument("--opt", choices=["sgd", "adam", "rmsprop"], default="sgd")
    p.add_argument("--cuda", action="store_true")
    p.add_argument("--no-cuda", dest="cuda", action="store_false")
    p.add_argument("--keep", action="store_false")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--dims", type=int, nargs="+", default=[4])
    p.add_argument("--pair", type=float, nargs=2, default=[0.0, 1.0])
    p.add_argument("--tag", action="append", default=None)
    p.add_argument("-v", action="count", default=0)
    p.add_argument("--level", type=int, nargs="?", const=1, default=0)
    return p


PROBE = ScriptProbe(script="prop.py", **describe(make_parser()))
SCHEMA = script_schema(PROBE)

# Any text but `--`, which argparse drops from every option's values (build_argv refuses it).
words = st.text(alphabet="abcxyz-_ 019.", min_size=1, max_size=8).filter(lambda w: w != "--")
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
ints = st.integers(min_value=-(10**6), max_value=10**6)
values: dict[str, Any] = {
    "src": words,
    "extra": st.lists(ints, max_size=3),
    "lr": floats,
    "epochs": ints,
    "name": st.none() | words,
    "opt": st.sampled_from(["sgd", "adam", "rmsprop"]),
    "cuda": st.booleans(),
    "keep": st.booleans(),
    "amp": st.booleans(),
    "dims": st.lists(ints, min_size=1, max_size=4),
    "pair": st.lists(floats, min_size=2, max_size=2),
    "tag": st.none() | st.lists(words, min_size=1, max_size=3),
    "v": st.integers(min_value=0, max_value=4),
    "level": st.integers(min_value=0, max_value=50),
}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional=values))
def test_the_parser_reads_back_what_was_asked(asked: dict[str, Any]) -> None:
    args = validate_args(SCHEMA, {"src": "data", **asked})
    argv = build_argv(PROBE, args)
    try:
        parsed = vars(make_parser().parse_args(argv))
    except SystemExit:
        raise AssertionError(f"the parser refused {argv}") from None
    assert parsed == args, argv


def test_a_value_argparse_cannot_receive_is_refused() -> None:
    args = validate_args(SCHEMA, {"src": "data", "name": "--"})
    with pytest.raises(ArgvError, match="'--' cannot be passed"):
        build_argv(PROBE, args)
