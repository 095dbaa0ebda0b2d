"""Runs of the user's own code (DESIGN §8): a registered entry point started with checked args.

What the runs service asks of a script run that differs from an engine run: its args checked
against the entry point's schema (every bad option named at once), what it ran recorded (argv,
folder, the code's hash and git state), restart as an args merge, repeat through the seed role,
resume through the resume role, and the exact launch the worker runs (jobs/script_runner.py).
The API never names a file, an interpreter, argv or an environment: only a registered name and
option values its schema accepts.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from trainscope.config import Settings
from trainscope.jobs.code_info import code_info
from trainscope.jobs.job import ScriptLaunch
from trainscope.schemas.spec import RunSpec
from trainscope.services.branches import link_or_copy
from trainscope.services.entrypoints import EntryPoint, Registry
from trainscope.services.errors import RunConflict, RunNotFound, SpecRejected
from trainscope.store import RunRecord

log = logging.getLogger("trainscope.scripts")

CHECKPOINT_FOLDER = "script-checkpoints"
# A script's checkpoint of the end of an epoch, as it names it in $TRAINSCOPE_CHECKPOINT_DIR:
# `epoch-3.pt`, `epoch_0003/`, `epoch3.ckpt` (a file or a folder). A branch of the run can go
# on from any of them (docs/own-code.md).
EPOCH_ENTRY = re.compile(r"^epoch[-_]?0*(\d+)(\.[\w.]+)?$", re.IGNORECASE)
# Besides args: what a restart of a script run may change.
RESTART_KEYS = {"args", "name", "tags", "group"}


class ScriptRuns:
    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry

    def entrypoint(self, name: str | None) -> EntryPoint:
        ep = self.registry.get(name or "")
        if ep is None:
            known = ", ".join(e.name for e in self.registry) or "none are registered"
            raise RunNotFound(f"no entry point named {name!r} (this server has: {known})")
        return ep

    # -- a new run ----------------------------------------------------------------------------

    def prepare(self, spec: RunSpec) -> RunSpec:
        """The spec as stored: args checked and complete (ArgsInvalid → 422 naming each bad
        option), path options inside the allowed folders, and what it will run."""
        ep = self.entrypoint(spec.entrypoint)
        args = ep.validate(spec.args or {})
        self._check_paths(ep, args)
        files = [Path(ep.target)] if ep.kind == "script" else _module_files(ep)
        launch = {
            "argv": ep.argv(args)[2:] if ep.kind == "script" else [ep.target],
            "cwd": "<per-run folder>" if ep.per_run_folder else str(ep.cwd),
            "code": code_info(files, ep.cwd if ep.kind == "function" else Path(ep.target).parent),
            # The options that play a role (learn rate, epochs, seed...): the dashboard's
            # progress, fixes and repeats read them from the run itself.
            "roles": dict(ep.roles),
        }
        return spec.model_copy(update={"args": args, "launch": launch})

    def _check_paths(self, ep: EntryPoint, args: dict[str, Any]) -> None:
        """An option of type path stays inside the entry point's folder and the folders the
        operator allowed: the browser must not point a script at the server's files."""
        properties = ep.schema.get("properties", {})
        for name, value in args.items():
            if properties.get(name, {}).get("format") != "path" or not isinstance(value, str):
                continue
            resolved = (ep.cwd / value).resolve()
            if not any(resolved.is_relative_to(root) for root in ep.path_roots):
                allowed = ", ".join(str(r) for r in ep.path_roots)
                raise SpecRejected(
                    ("args", name),
                    f"{value!r} is outside the folders this entry point may read ({allowed})",
                )

    def launch(self, run_id: int, spec: RunSpec, resume: bool) -> ScriptLaunch:
        """Exactly what the worker starts for this run. A branch's first launch resumes from
        the parent's epoch checkpoint (its copy in the branch's folder); a resume, from the
        run's own folder."""
        ep = self.entrypoint(spec.entrypoint)
        args = dict(spec.args or {})
        run_dir = self.settings.run_dir(run_id)
        checkpoints = run_dir / CHECKPOINT_FOLDER
        checkpoints.mkdir(parents=True, exist_ok=True)
        env = {"TRAINSCOPE_CHECKPOINT_DIR": str(checkpoints)}
        resume_from: Path | None = checkpoints if resume else None
        if not resume and spec.branch is not None:
            resume_from = epoch_entries(checkpoints).get(spec.branch["epoch"])
        if resume_from is not None:
            env["TRAINSCOPE_RESUME_FROM"] = str(resume_from)
            role = ep.roles.get("resume")
            if role is not None:
                args[role] = str(resume_from)
        cwd = ep.cwd
        if ep.per_run_folder:
            cwd = run_dir / "work"
            cwd.mkdir(parents=True, exist_ok=True)
        return ScriptLaunch(
            kind=ep.kind,
            target=ep.target,
            argv=tuple(ep.argv(args)[3:]) if ep.kind == "script" else (),
            args_json=json.dumps(args),
            cwd=str(cwd),
            env=tuple(env.items()),
            metric_patterns=ep.metric_patterns,
            stop_grace_s=self.settings.script_stop_grace_s,
        )

    # -- from an earlier run -------------------------------------------------------------------

    def restart_spec(self, parent: dict[str, Any], overrides: dict[str, Any]) -> RunSpec:
        """The parent's spec with its args overridden (`{"args": {"lr": 0.01}}`)."""
        unknown = sorted(set(overrides) - RESTART_KEYS)
        if unknown:
            raise SpecRejected(
                (unknown[0],),
                f"a run of entry point {parent.get('entrypoint')!r} changes through its args "
                f'(`{{"args": {{...}}}}`), not {unknown[0]!r}; its options are '
                + ", ".join(sorted((parent.get("args") or {}).keys())),
            )
        changes = overrides.get("args") or {}
        if not isinstance(changes, dict):
            raise SpecRejected(("args",), "args must be an object of option values")
        merged = {
            **{k: v for k, v in parent.items() if k != "launch"},
            **{k: v for k, v in overrides.items() if k != "args"},
            "args": {**(parent.get("args") or {}), **changes},
        }
        return RunSpec.model_validate(merged)

    def seed_option(self, spec: dict[str, Any], verb: str = "repeated") -> str:
        ep = self.entrypoint(spec.get("entrypoint"))
        role = ep.roles.get("seed")
        if role is None:
            raise RunConflict(
                f"entry point {ep.name} has no seed option, so its runs cannot be {verb} with "
                "other seeds (name one with roles.seed in the entry point's registration)"
            )
        return role

    def seed_of(self, spec: dict[str, Any]) -> Any:
        return (spec.get("args") or {}).get(self.seed_option(spec))

    def with_seed(self, spec: RunSpec, seed: int) -> RunSpec:
        option = self.seed_option(spec.model_dump(mode="json"))
        return spec.model_copy(update={"args": {**(spec.args or {}), option: seed}})

    # -- branches ---------------------------------------------------------------------------

    def branchable_epochs(self, run: RunRecord) -> list[int]:
        """The epochs whose checkpoint the run's script left (EPOCH_ENTRY), when its entry
        point can resume; none otherwise."""
        ep = self.registry.get(run.spec.get("entrypoint") or "")
        if ep is None or not ep.supports.resume:
            return []
        return list(epoch_entries(self.settings.run_dir(run.id) / CHECKPOINT_FOLDER))

    def branch_spec(self, parent: RunRecord, epoch: int, options: dict[str, Any]) -> RunSpec:
        """A branch of a script run at `epoch`: its args with `options` changed (the script's
        own option names), going on from the script's checkpoint of that epoch."""
        ep = self.entrypoint(parent.spec.get("entrypoint"))
        if not ep.supports.resume:
            raise RunConflict(
                f"run {parent.id} cannot be branched: entry point {ep.name} declares no resume "
                "option (a resume role, or a function reading resume_from) to go on from a "
                "checkpoint with; restart it instead"
            )
        epochs = self.branchable_epochs(parent)
        if epoch not in epochs:
            have = ", ".join(map(str, epochs)) or "none"
            raise RunConflict(
                f"run {parent.id} has no checkpoint of epoch {epoch} to branch from (epochs "
                f"with one: {have}); its script keeps them as epoch-N files or folders in "
                "$TRAINSCOPE_CHECKPOINT_DIR"
            )
        spec = self.restart_spec(parent.spec, {"args": options})
        return spec.model_copy(update={"branch": {"run_id": parent.id, "epoch": epoch}})

    def link_origin(self, parent_id: int, epoch: int, run_id: int) -> None:
        """Put the parent's checkpoint of `epoch` in the branch's own checkpoint folder, under
        its name: hard links (no copy, and the parent may delete its own), copies where the
        file system has none."""
        source = epoch_entries(self.settings.run_dir(parent_id) / CHECKPOINT_FOLDER)[epoch]
        folder = self.settings.run_dir(run_id) / CHECKPOINT_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.name
        if source.is_dir():
            shutil.copytree(source, target, copy_function=link_or_copy)
        else:
            link_or_copy(source, target)

    def check_resumable(self, spec: dict[str, Any], run_id: int) -> None:
        ep = self.entrypoint(spec.get("entrypoint"))
        if not ep.supports.resume:
            raise RunConflict(
                f"run {run_id} cannot be resumed: entry point {ep.name} declares no resume "
                "option (a resume role, or a function reading resume_from); restart it instead"
            )

    def args_patch(self, spec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any] | None:
        """The doctor's engine-option fix in the script's own option names, through its roles
        ({"initial_learn_rate": 0.01} → {"args": {"lr": 0.01}}); None when a role is missing
        (the fix is then advice, not a button)."""
        ep = self.registry.get(spec.get("entrypoint") or "")
        if ep is None:
            return None
        roles = {
            "initial_learn_rate": ep.roles.get("learn_rate"),
            "max_epochs": ep.roles.get("max_epochs"),
            "mini_batch_size": ep.roles.get("batch_size"),
            "seed": ep.roles.get("seed"),
        }
        args: dict[str, Any] = {}
        for option, value in options.items():
            target = roles.get(option)
            if target is None:
                return None
            args[target] = value
        return {"args": args}


def _module_files(ep: EntryPoint) -> list[Path]:
    """The file of a function entry point's module, found without importing it."""
    module = ep.target.partition(":")[0]
    relative = Path(*module.split("."))
    for base in (ep.cwd, *ep.path_roots):
        for candidate in (base / f"{relative}.py", base / relative / "__init__.py"):
            if candidate.is_file():
                return [candidate]
    return []


def epoch_entries(folder: Path) -> dict[int, Path]:
    """epoch → the script's checkpoint of its end in `folder` (EPOCH_ENTRY), by epoch."""
    if not folder.is_dir():
        return {}
    found: dict[int, Path] = {}
    for entry in sorted(folder.iterdir()):
        m = EPOCH_ENTRY.match(entry.name)
        if m is not None and not entry.name.endswith((".tmp", ".partial")):
            found.setdefault(int(m.group(1)), entry)
    return dict(sorted(found.items()))
