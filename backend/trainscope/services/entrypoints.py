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

import logging
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
log = logging.getLogger("trainscope.entrypoints")
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
    # Each run starts in a folder of its own (runs/<id>/work) instead of `cwd`: for scripts
    # that write fixed file names (model.pt) where two runs would overwrite each other.
    per_run_folder: bool = False
    # Folders a path-typed option may point into, besides the entry point's own folder.
    path_roots: tuple[str, ...] = ()

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
    per_run_folder: bool = False
    path_roots: tuple[Path, ...] = ()

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
        per_run_folder=spec.per_run_folder,
        path_roots=(cwd, *(Path(p).expanduser().resolve() for p in spec.path_roots)),
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


_FILE_KEYS = {"target", "cwd", "roles", "metric_patterns", "per_run_folder", "path_roots"}


def specs_from_file(path: Path) -> list[EntryPointSpec]:
    """Entry points from a TOML file (docs/own-code.md):

        [entrypoints.mnist]
        target = "examples/mnist/train.py"   # relative paths: to the file's folder
        roles = { learn_rate = "lr" }
        metric_patterns = ['acc=(?P<val_accuracy>[0-9.]+)']
        per_run_folder = true

    RegistrationError naming the file and the entry when it cannot be read."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise RegistrationError(f"{path}: reading TOML needs Python 3.11 or newer") from None
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RegistrationError(f"{path}: {exc}") from None
    table = doc.get("entrypoints")
    if not isinstance(table, dict):
        raise RegistrationError(f"{path}: no [entrypoints.NAME] tables")
    base = path.resolve().parent
    specs = []
    for name, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
            raise RegistrationError(f'{path}: entrypoints.{name} needs target = "..."')
        unknown = sorted(set(entry) - _FILE_KEYS)
        if unknown:
            raise RegistrationError(
                f"{path}: entrypoints.{name}: unknown key {unknown[0]!r} "
                f"(known: {', '.join(sorted(_FILE_KEYS))})"
            )
        target = entry["target"]
        if target.endswith(".py") and not Path(target).is_absolute():
            target = str(base / target)
        cwd = entry.get("cwd")
        specs.append(
            EntryPointSpec(
                name=name,
                target=target,
                cwd=str(base / cwd) if isinstance(cwd, str) else None,
                roles=dict(entry.get("roles") or {}),
                metric_patterns=tuple(entry.get("metric_patterns") or ()),
                per_run_folder=bool(entry.get("per_run_folder", False)),
                path_roots=tuple(str(base / p) for p in entry.get("path_roots") or ()),
            )
        )
    return specs


def load_entrypoints(settings: Any) -> Registry:
    """The server's entry points from its settings (`--entrypoint`, `--entrypoints-file`);
    each refused one is logged with its reason, and the server starts without it."""
    specs: list[EntryPointSpec] = []
    problems: list[str] = []
    for text in settings.entrypoints:
        try:
            specs.append(parse_entrypoint_option(text))
        except RegistrationError as exc:
            problems.append(str(exc))
    if settings.entrypoints_file is not None:
        try:
            specs.extend(specs_from_file(Path(settings.entrypoints_file)))
        except RegistrationError as exc:
            problems.append(str(exc))
    registry = Registry.build(specs)
    for reason in [*problems, *registry.refused.values()]:
        log.error("%s; the server runs without it", reason)
    for ep in registry:
        log.info("entry point %s: %s %s", ep.name, ep.kind, ep.target)
    return registry
