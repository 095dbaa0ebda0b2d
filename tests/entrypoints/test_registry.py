"""Registering entry points: probed once, refused with a reason, the rest served."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trainscope.entrypoints.validation import ArgsInvalid
from trainscope.services.entrypoints import (
    EntryPointSpec,
    RegistrationError,
    Registry,
    parse_entrypoint_option,
    register,
)

from .conftest import HERE, SCRIPTS, run_for_real


def test_a_registry_serves_what_probes_and_refuses_the_rest(tmp_path: Path) -> None:
    specs = [
        parse_entrypoint_option(f"toy={SCRIPTS / 'train_toplevel.py'}"),
        EntryPointSpec("fn", "fnpkg.train_fn:train", cwd=str(HERE)),
        parse_entrypoint_option(f"broken={SCRIPTS / 'crash_at_import.py'}"),
        parse_entrypoint_option(f"plain={SCRIPTS / 'no_args.py'}"),
        EntryPointSpec("bad name!", str(SCRIPTS / "train_toplevel.py")),
        EntryPointSpec("badrole", str(SCRIPTS / "train_main.py"), roles={"seed": "sed"}),
        EntryPointSpec("badpattern", str(SCRIPTS / "train_main.py"), metric_patterns=("(",)),
    ]
    reg = Registry.build(specs)
    assert [ep.name for ep in reg] == ["fn", "toy"] and "toy" in reg and len(reg) == 2
    assert set(reg.refused) == {"broken", "plain", "bad name!", "badrole", "badpattern"}
    assert "No module named 'a_module_that_does_not_exist'" in reg.refused["broken"]
    assert "without calling ArgumentParser.parse_args" in reg.refused["plain"]
    assert "'sed' is not an option" in reg.refused["badrole"]
    assert "not a regular expression" in reg.refused["badpattern"]

    toy = reg.get("toy")
    assert toy is not None and reg.get("nope") is None
    public = toy.public()
    assert public["kind"] == "script" and public["roles"]["seed"] == "seed"
    assert public["supports"] == {"stop": True, "resume": True, "seed": True}
    assert str(SCRIPTS) not in repr(public)  # the API shows no paths
    assert toy.cwd == SCRIPTS

    args = toy.validate({"lr": "0.2", "epochs": 2})
    argv = toy.argv(args)
    assert argv[:3] == [sys.executable, "-u", str(SCRIPTS / "train_toplevel.py")]
    assert run_for_real("train_toplevel.py", argv[3:], tmp_path) == args
    with pytest.raises(ArgsInvalid, match=r"args\.lr: must be a number"):
        toy.validate({"lr": "x"})

    fn = reg.get("fn")
    assert fn is not None and fn.kind == "function"
    assert fn.public()["supports"] == {"stop": True, "resume": True, "seed": True}
    with pytest.raises(ArgsInvalid, match=r"args\.lrr: unknown option; did you mean 'lr'"):
        fn.validate({"lrr": 0.1})  # pydantic would ignore it; a typo must not pass
    with pytest.raises(TypeError):
        fn.argv({})


def test_registered_twice_is_refused() -> None:
    spec = EntryPointSpec("twice", str(SCRIPTS / "train_main.py"))
    reg = Registry.build([spec, spec])
    assert len(reg) == 0 and "registered twice" in reg.refused["twice"]


def test_roles_missing_means_unsupported() -> None:
    ep = register(EntryPointSpec("hf", str(SCRIPTS / "train_main.py")))
    assert ep.public()["supports"] == {"stop": True, "resume": False, "seed": False}
    assert ep.parser().parse("loss: 1") is not None


@pytest.mark.parametrize("text", ["noequals", "=x.py", "name="])
def test_the_serve_option_is_checked(text: str) -> None:
    with pytest.raises(RegistrationError, match=r"expected NAME=path/to/train\.py"):
        parse_entrypoint_option(text)


def test_kind_from_target() -> None:
    assert parse_entrypoint_option("a=pkg.mod:train").kind == "function"
    assert parse_entrypoint_option("a=train.py").kind == "script"
    assert parse_entrypoint_option("a=dir/train").kind == "script"
