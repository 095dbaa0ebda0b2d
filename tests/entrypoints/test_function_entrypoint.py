"""A function `package.module:function` whose one parameter is a pydantic model."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from trainscope.entrypoints.function_probe import TargetError, validate_in_child
from trainscope.entrypoints.validation import ArgsInvalid, validate_args
from trainscope.jobs.probe_runner import ProbeError, probe_function

from .conftest import HERE


def test_probe_gives_the_models_schema_without_importing_it_here() -> None:
    probe = probe_function("fnpkg.train_fn:train", cwd=HERE)
    assert "fnpkg.train_fn" not in sys.modules  # the child imported it, not this process
    assert probe.model == "fnpkg.train_fn.Config" and probe.parameter == "config"
    props = probe.schema_["properties"]
    assert props["lr"] == {
        "default": 0.1,
        "description": "learning rate",
        "exclusiveMinimum": 0,
        "title": "Lr",
        "type": "number",
    }
    assert props["optimizer"]["enum"] == ["sgd", "adam"]
    assert probe.reads_resume_from


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("fnpkg.train_fn:not_a_model", "is not annotated with a pydantic model"),
        ("fnpkg.train_fn:nope", "fnpkg.train_fn has no nope"),
        ("fnpkg.missing:train", "No module named 'fnpkg.missing'"),
        ("fnpkg.train_fn", "is not package.module:function"),
    ],
)
def test_a_target_that_is_no_model_function_says_why(target: str, reason: str) -> None:
    with pytest.raises(ProbeError, match=reason):
        probe_function(target, cwd=HERE)


def test_schema_validation_names_every_bad_field() -> None:
    schema = probe_function("fnpkg.train_fn:train", cwd=HERE).schema_
    assert validate_args(schema, {"lr": "0.5"}) == {
        "lr": 0.5,
        "epochs": 3,
        "batch_size": 32,
        "optimizer": "sgd",
        "seed": 0,
        "resume_from": None,
    }
    with pytest.raises(ArgsInvalid) as info:
        validate_args(schema, {"lr": -1, "epochs": 0, "optimizer": "lbfgs", "resume_from": 3.5})
    assert info.value.lines == [
        "args.lr: must be greater than 0 (got -1)",
        "args.epochs: must be greater than or equal to 1 (got 0)",
        "args.optimizer: must be one of 'sgd', 'adam' (got 'lbfgs')",
        "args.resume_from: must be a string (got 3.5)",
    ]


def test_the_model_itself_validates_in_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the run's child does before calling the function (this test is that child)."""
    monkeypatch.chdir(HERE)
    config = validate_in_child("fnpkg.train_fn:train", {"lr": 0.2, "epochs": 2})
    assert (config.lr, config.epochs, config.optimizer) == (0.2, 2, "sgd")
    with pytest.raises(ValidationError):
        validate_in_child("fnpkg.train_fn:train", {"lr": 0})
    with pytest.raises(TargetError):
        validate_in_child("fnpkg.train_fn:not_a_model", {})


def test_schema_validation_follows_refs_and_nested_models() -> None:
    """pydantic puts an Enum and a nested model behind $ref; both are checked."""
    import enum

    from pydantic import BaseModel, Field

    class Opt(enum.Enum):
        sgd = "sgd"
        adam = "adam"

    class Sched(BaseModel):
        kind: str = Field("cosine", pattern="^(cosine|step)$")
        warmup: int = Field(0, ge=0)

    class Cfg(BaseModel):
        opt: Opt = Opt.sgd
        sched: Sched = Sched()
        dims: list[int] = Field(default_factory=lambda: [8], min_length=1)

    schema = Cfg.model_json_schema()
    ok = validate_args(schema, {"opt": "adam", "sched": {"warmup": "2"}, "dims": [1, 2]})
    assert ok == {"opt": "adam", "sched": {"kind": "cosine", "warmup": 2}, "dims": [1, 2]}
    with pytest.raises(ArgsInvalid) as info:
        validate_args(
            schema, {"opt": "lbfgs", "sched": {"kind": "linear", "warmup": -1}, "dims": ["x"]}
        )
    assert info.value.lines == [
        "args.opt: must be one of 'sgd', 'adam' (got 'lbfgs')",
        "args.sched.kind: must match ^(cosine|step)$ (got 'linear')",
        "args.sched.warmup: must be greater than or equal to 0 (got -1)",
        "args.dims[0]: must be an integer (got 'x')",
    ]
    # What the schema lets through, the model takes too.
    assert Cfg.model_validate(ok).sched.warmup == 2
