"""A probed script's options as JSON Schema, checked values, and the argv that gives them back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trainscope.entrypoints.argv import ArgvError, build_argv
from trainscope.entrypoints.probe import ScriptProbe
from trainscope.entrypoints.script_schema import script_schema
from trainscope.entrypoints.validation import ArgsInvalid, validate_args

from .conftest import run_for_real


def test_schema_types_defaults_enums_and_descriptions(toplevel_probe: ScriptProbe) -> None:
    schema = script_schema(toplevel_probe)
    p = schema["properties"]
    assert schema["additionalProperties"] is False and schema["required"] == []
    assert (p["lr"]["type"], p["lr"]["default"], p["lr"]["description"]) == (
        "number",
        0.01,
        "learning rate",
    )
    assert (p["epochs"]["type"], p["epochs"]["default"]) == ("integer", 3)
    assert p["optimizer"]["enum"] == ["sgd", "adam"] and p["optimizer"]["type"] == "string"
    assert p["dry_run"]["type"] == "boolean" and p["dry_run"]["default"] is False
    assert p["shuffle"]["type"] == "boolean" and p["shuffle"]["default"] is True
    assert p["augment"]["type"] == "boolean"
    assert p["layers"] == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "default": [32, 16],
        "x-argparse": {"flags": ["--layers"], "kinds": ["store"], "positional": False},
    }
    assert p["tag"]["type"] == "array" and p["tag"]["items"] == {"type": "string"}
    assert p["verbose"]["type"] == "integer" and p["verbose"]["minimum"] == 0
    # An unknown type= callable: a string, its name noted; default None → may be null.
    assert p["schedule"]["type"] == ["string", "null"]
    assert p["schedule"]["x-argparse-type"] == "schedule"
    assert p["resume"]["format"] == "path"
    assert p["mode"]["enum"] == ["slow", "fast"]
    assert p["data"]["x-argparse"]["positional"] is True and p["data"]["default"] == "data"


def test_required_options_and_positionals(main_probe: ScriptProbe) -> None:
    schema = script_schema(main_probe)
    assert schema["required"] == ["data_dir", "sizes", "out"]
    assert schema["properties"]["sizes"]["minItems"] == schema["properties"]["sizes"]["maxItems"]
    assert "default" not in schema["properties"]["out"]


def test_every_problem_at_once_each_naming_its_option(toplevel_probe: ScriptProbe) -> None:
    schema = script_schema(toplevel_probe)
    bad = {
        "lr": "fast",
        "epochs": 2.5,
        "optimizer": "lbfgs",
        "layers": [],
        "dry_run": "maybe",
        "lrr": 0.1,
        "verbose": -1,
    }
    with pytest.raises(ArgsInvalid) as info:
        validate_args(schema, bad)
    assert sorted(info.value.lines) == sorted(
        [
            "args.lr: must be a number (got 'fast')",
            "args.epochs: must be an integer (got 2.5)",
            "args.optimizer: must be one of 'sgd', 'adam' (got 'lbfgs')",
            "args.layers: needs at least 1 value (got 0)",
            "args.dry_run: must be true or false (got 'maybe')",
            "args.lrr: unknown option; did you mean 'lr'?",
            "args.verbose: must be greater than or equal to 0 (got -1)",
        ]
    )
    # The errors are pydantic-shaped: the API's 422 handler formats them like a spec's.
    assert {tuple(e["loc"]) for e in info.value.errors} >= {("args", "lr"), ("args", "lrr")}


def test_missing_required_and_not_an_object(main_probe: ScriptProbe) -> None:
    schema = script_schema(main_probe)
    with pytest.raises(ArgsInvalid) as info:
        validate_args(schema, {"sizes": [1]})
    assert info.value.lines == [
        "args.data_dir: required",
        "args.sizes: needs at least 2 values (got 1)",
        "args.out: required",
    ]
    with pytest.raises(ArgsInvalid, match="must be an object"):
        validate_args(schema, [1, 2])


def test_values_are_coerced_and_defaults_filled(toplevel_probe: ScriptProbe) -> None:
    schema = script_schema(toplevel_probe)
    # What `trainscope submit --arg lr=0.1 --arg epochs=5` sends: strings.
    args = validate_args(schema, {"lr": "0.1", "epochs": "5", "dry_run": "true", "seed": 7.0})
    assert (args["lr"], args["epochs"], args["dry_run"], args["seed"]) == (0.1, 5, True, 7)
    assert args["layers"] == [32, 16] and args["schedule"] is None and len(args) == 16


CASES: list[dict[str, Any]] = [
    {},
    {"lr": 0.1, "epochs": 5},
    {"lr": 1e-5, "dry_run": True, "shuffle": False, "augment": False},
    {"layers": [8], "tag": ["a", "b"], "verbose": 2, "optimizer": "adam"},
    {"layers": [4, 3, 2], "data": "-weird", "seed": -3, "schedule": "10:20"},
    {"mode": "fast", "resume": "ckpt/last.pt", "device": "cuda:1", "data": "elsewhere"},
]


@pytest.mark.parametrize("case", CASES)
def test_argv_gives_the_script_exactly_those_values(
    toplevel_probe: ScriptProbe, case: dict[str, Any], tmp_path: Path
) -> None:
    """The round trip a restart depends on: values → argv → the script's own parser."""
    args = validate_args(script_schema(toplevel_probe), case)
    argv = build_argv(toplevel_probe, args)
    parsed = run_for_real("train_toplevel.py", argv, tmp_path)
    expected = dict(args)
    if args["schedule"] is not None:
        expected["schedule"] = args["schedule"].split(":")  # the script's own type= ran
    assert parsed == expected


def test_argv_is_what_a_person_would_type(toplevel_probe: ScriptProbe) -> None:
    schema = script_schema(toplevel_probe)
    args = validate_args(schema, {"lr": 0.1, "dry_run": True, "shuffle": False, "seed": -3})
    argv = build_argv(toplevel_probe, args)
    assert argv == ["--lr", "0.1", "--dry-run", "--no-shuffle", "--seed=-3", "data"]
    assert build_argv(toplevel_probe, validate_args(schema, {"augment": False})) == [
        "--no-augment",
        "data",
    ]
    with pytest.raises(ArgvError, match="not options of the script: nope"):
        build_argv(toplevel_probe, {"nope": 1})


def test_required_and_positional_lists(main_probe: ScriptProbe, tmp_path: Path) -> None:
    args = validate_args(
        script_schema(main_probe),
        {"data_dir": "d", "sizes": [2, 3], "out": "o", "num_train_epochs": 2},
    )
    argv = build_argv(main_probe, args)
    assert argv == ["--out", "o", "--num_train_epochs", "2", "d", "2", "3"]
    parsed, unknown = run_for_real("train_main.py", argv, tmp_path)
    assert parsed == args and unknown == []
