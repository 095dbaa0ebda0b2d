"""Entry points the operator registered (DESIGN §8), each probed once, at registration.

`EntryPointSpec` is what the operator said (`trainscope serve --entrypoint NAME=TARGET`, or a
configuration file's entry): a name, a script path or `package.module:function`, the folder to
run in, role overrides, extra metric patterns. `register(spec)` probes it in a child process
(jobs/probe_runner.py: the server never imports user code) and gives an `EntryPoint`: its
schema, its roles, what it supports, how to check args and build argv. `Registry.build(specs)`
registers them all; one that cannot be probed is *refused* with its reason — kept in
`registry.refused` for the server to log — and the others are served.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trainscope.entrypoints.argv import build_argv
from trainscope.entrypoints.probe import FunctionProbe, ScriptProbe
from trainscope.entrypoints.roles import Role, RoleError, guess_roles
from trainscope.entrypoints.script_schema import script_schema
from trainscope.entrypoints.stdout_metrics import PatternError, StdoutParser
from trainscope.entrypoints.validation import validate_args
from trainscope.jobs.probe_runner import PROBE_TIMEOUT_S, ProbeError, probe_function, probe_script

Kind = Literal["script", "function"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class RegistrationError(ValueError):
    """An entry point that cannot be registered; `str(exc)` is the reason, for the log."""


@dataclass(frozen=True)
class EntryPointSpec:
    """What the operator registered, before probing."""

    name: str
    target: str
    cwd: str | None = None
    roles: Mapping[str, str | None] = field(default_factory=dict)
    metric_patterns: tuple[str, ...] = ()
    python: str = sys.executable

    @property
    def kind(self) -> Kind:
        return (
            "function"
            if _FUNCTION.match(self.target) and not self.target.endswith(".py")
            else "script"
        )


@dataclass(frozen=True)
class Supports:
    stop: bool = True  # should_stop, then SIGINT, SIGTERM, SIGKILL: every entry point
    resume: bool = False
    seed: bool = False


@dataclass(frozen=True)
class EntryPoint:
    """A registered, probed entry point."""

    name: str
    kind: Kind
    target: str  # the script's absolute path, or package.module:function
    schema: dict[str, Any]
    roles: dict[Role, str | None]
    supports: Supports
    cwd: Path  # where its runs start (the lead's executor may copy it per run)
    metric_patterns: tuple[str, ...]
    probe: ScriptProbe | FunctionProbe
    python: str = sys.executable

    def validate(self, args: Any) -> dict[str, Any]:
        """`args` checked against the schema, defaults filled in; ArgsInvalid naming every bad
        option otherwise. A function's model checks them again when its run starts."""
        return validate_args(self.schema, args)

    def argv(self, args: Mapping[str, Any]) -> list[str]:
        """The command line of a run of a script entry point with (validated) `args`."""
        if not isinstance(self.probe, ScriptProbe):
            raise TypeError(f"{self.name} is a function; it has no argv")
        return [self.python, "-u", self.target, *build_argv(self.probe, args)]

    def parser(self) -> StdoutParser:
        """A stdout parser with this entry point's own patterns."""
        return StdoutParser(self.metric_patterns)

    def public(self) -> dict[str, Any]:
        """What `GET /api/entrypoints` shows of it (DESIGN §8): no path, no interpreter."""
        return {
            "name": self.name,
            "kind": self.kind,
            "schema": self.schema,
            "roles": dict(self.roles),
            "supports": {
                "stop": self.supports.stop,
                "resume": self.supports.resume,
                "seed": self.supports.seed,
            },
        }


def parse_entrypoint_option(text: str) -> EntryPointSpec:
    """`NAME=path/to/train.py` or `NAME=package.module:function` (the serve option)."""
    name, sep, target = text.partition("=")
    name, target = name.strip(), target.strip()
    if not sep or not name or not target:
        raise RegistrationError(
            f"--entrypoint {text!r}: expected NAME=path/to/train.py or NAME=package.module:function"
        )
    return EntryPointSpec(name=name, target=target)


def register(spec: EntryPointSpec, *, timeout_s: float = PROBE_TIMEOUT_S) -> EntryPoint:
    """Probe `spec` in a child and build its EntryPoint; RegistrationError with the reason."""
    if not NAME.match(spec.name):
        raise RegistrationError(
            f"entry point name {spec.name!r}: letters, digits, '_', '.', '-' (at most 64)"
        )
    try:
        parser = StdoutParser(spec.metric_patterns)
    except PatternError as exc:
        raise RegistrationError(f"entry point {spec.name}: {exc}") from None
    del parser
    try:
        if spec.kind == "script":
            path = Path(spec.target).expanduser().resolve()
            cwd = Path(spec.cwd).expanduser().resolve() if spec.cwd else path.parent
            script = probe_script(path, cwd=cwd, python=spec.python, timeout_s=timeout_s)
            probe: ScriptProbe | FunctionProbe = script
            schema = script_schema(script)
            target = str(path)
        else:
            cwd = Path(spec.cwd or ".").expanduser().resolve()
            probe = probe_function(spec.target, cwd=cwd, python=spec.python, timeout_s=timeout_s)
            schema = _closed(probe.schema_)
            target = spec.target
    except ProbeError as exc:
        raise RegistrationError(f"entry point {spec.name}: {exc}") from None
    try:
        roles = guess_roles(schema, spec.roles)
    except RoleError as exc:
        raise RegistrationError(f"entry point {spec.name}: {exc}") from None
    reads_resume = isinstance(probe, FunctionProbe) and probe.reads_resume_from
    supports = Supports(
        resume=roles["resume"] is not None or reads_resume, seed=roles["seed"] is not None
    )
    return EntryPoint(
        name=spec.name,
        kind=spec.kind,
        target=target,
        schema=schema,
        roles=roles,
        supports=supports,
        cwd=cwd,
        metric_patterns=tuple(spec.metric_patterns),
        probe=probe,
        python=spec.python,
    )


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's schema with unknown options refused (pydantic ignores extra fields by
    default; a mistyped option name must be a 422, not silently the default)."""
    if "additionalProperties" in schema:
        return schema
    return {**schema, "additionalProperties": False}


class Registry:
    """The server's entry points by name, plus those refused and why."""

    def __init__(self, entrypoints: Iterable[EntryPoint] = ()) -> None:
        self._by_name: dict[str, EntryPoint] = {}
        self.refused: dict[str, str] = {}
        for ep in entrypoints:
            self.add(ep)

    @classmethod
    def build(
        cls, specs: Iterable[EntryPointSpec], *, timeout_s: float = PROBE_TIMEOUT_S
    ) -> Registry:
        """Register every spec; a failure lands in `refused` (name → reason), never raises."""
        reg = cls()
        for spec in specs:
            if spec.name in reg._by_name or spec.name in reg.refused:
                reg.refused[spec.name] = f"entry point {spec.name}: registered twice"
                reg._by_name.pop(spec.name, None)
                continue
            try:
                reg.add(register(spec, timeout_s=timeout_s))
            except RegistrationError as exc:
                reg.refused[spec.name] = str(exc)
        return reg

    def add(self, ep: EntryPoint) -> None:
        if ep.name in self._by_name:
            raise RegistrationError(f"entry point {ep.name}: registered twice")
        self._by_name[ep.name] = ep

    def get(self, name: str) -> EntryPoint | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[EntryPoint]:
        return iter(sorted(self._by_name.values(), key=lambda ep: ep.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name
