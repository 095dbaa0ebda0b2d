"""What a probe child answers: a script's argparse actions, or a function's model schema.

The child writes one JSON document; the server reads it back with `ScriptProbe`/`FunctionProbe`
(pydantic, so a malformed answer is refused with a reason instead of half-read).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ActionKind = Literal[
    "store",
    "store_const",
    "store_true",
    "store_false",
    "boolean_optional",
    "append",
    "append_const",
    "extend",
    "count",
    "custom",
]
# Actions that are not options of a run: --help, --version, and subcommands (not supported).
SKIPPED_KINDS = ("help", "version", "subparsers")


class ArgAction(BaseModel):
    """One `parser.add_argument(...)`, as the probe saw it."""

    dest: str
    option_strings: list[str] = Field(default_factory=list, description="[] for a positional")
    kind: ActionKind
    type: str | None = Field(None, description="int, float, str, Path, or the callable's name")
    default: Any = None
    const: Any = None
    choices: list[Any] | None = None
    help: str | None = None
    nargs: int | str | None = None
    required: bool = False
    metavar: str | None = None

    @property
    def positional(self) -> bool:
        return not self.option_strings


class ScriptProbe(BaseModel):
    """`python -m trainscope.entrypoints.argparse_probe SCRIPT` → this."""

    kind: Literal["script"] = "script"
    script: str
    prog: str | None = None
    description: str | None = None
    method: Literal["parse_args", "parse_known_args"] = "parse_args"
    actions: list[ArgAction]
    warnings: list[str] = Field(default_factory=list)


class FunctionProbe(BaseModel):
    """`python -m trainscope.entrypoints.function_probe package.module:function` → this."""

    kind: Literal["function"] = "function"
    target: str
    model: str = Field(description="the parameter's pydantic model, module.QualName")
    parameter: str
    schema_: dict[str, Any] = Field(alias="schema")
    reads_resume_from: bool = Field(
        False, description="the model has a `resume_from` field: the function can resume"
    )

    model_config = {"populate_by_name": True}


class ProbeFailure(BaseModel):
    """What a probe child answers when it could not probe: the reason, in one paragraph."""

    kind: Literal["failure"] = "failure"
    reason: str
