"""Which option is the learn rate, the epochs, the batch size, the seed, the resume path, the
device: guessed from names people use, overridable, None where there is none."""

from __future__ import annotations

from typing import Any

import pytest

from trainscope.entrypoints.probe import ScriptProbe
from trainscope.entrypoints.roles import RoleError, guess_roles
from trainscope.entrypoints.script_schema import script_schema


def schema(**props: str | list[str]) -> dict[str, Any]:
    return {"properties": {k: {"type": t} for k, t in props.items()}}


def test_the_test_script_roles(toplevel_probe: ScriptProbe) -> None:
    assert guess_roles(script_schema(toplevel_probe)) == {
        "learn_rate": "lr",
        "max_epochs": "epochs",
        "batch_size": "batch_size",
        "seed": "seed",
        "resume": "resume",
        "device": "device",
    }


def test_hugging_face_style_names(main_probe: ScriptProbe) -> None:
    roles = guess_roles(script_schema(main_probe))
    assert roles["learn_rate"] == "learning_rate"
    assert roles["max_epochs"] == "num_train_epochs"
    assert roles["batch_size"] == "per_device_train_batch_size"
    assert roles["seed"] is None and roles["resume"] is None and roles["device"] is None


@pytest.mark.parametrize(
    ("props", "role", "expected"),
    [
        ({"n_epochs": "integer"}, "max_epochs", "n_epochs"),
        ({"max-epochs": "integer"}, "max_epochs", "max-epochs"),
        ({"bs": "integer"}, "batch_size", "bs"),
        ({"resume_from": ["string", "null"]}, "resume", "resume_from"),
        ({"checkpoint": "string"}, "resume", "checkpoint"),
        ({"LR": "number"}, "learn_rate", "LR"),
        # A seed must be an integer and a batch size too: a string `--seed` plays no role.
        ({"seed": "string"}, "seed", None),
        ({"batch_size": "number"}, "batch_size", None),
        # The more telling name wins when both are there.
        ({"epoch": "integer", "epochs": "integer"}, "max_epochs", "epochs"),
    ],
)
def test_guesses(props: dict[str, Any], role: str, expected: str | None) -> None:
    assert guess_roles(schema(**props))[role] == expected  # type: ignore[literal-required]


def test_pydantic_optional_fields_are_typed_through_any_of() -> None:
    s = {"properties": {"seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}
    assert guess_roles(s)["seed"] == "seed"


def test_overrides_win_and_are_checked() -> None:
    s = schema(seed="integer", random_state="integer", lr="number")
    roles = guess_roles(s, {"seed": "random_state", "learn_rate": None})
    assert roles["seed"] == "random_state" and roles["learn_rate"] is None
    with pytest.raises(RoleError, match="no role 'speed'"):
        guess_roles(s, {"speed": "lr"})
    with pytest.raises(RoleError, match="'sed' is not an option"):
        guess_roles(s, {"seed": "sed"})
