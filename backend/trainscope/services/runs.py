"""The runs service: what the run routes do, apart from HTTP: create (within the admission
limits), restart, repeat, resume, stop, delete.

Plain synchronous code (routes that touch the database are plain `def`, run in the threadpool).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainscope.config import Settings
from trainscope.data_layout import BRANCH_ORIGIN, has_checkpoint
from trainscope.jobs.executor import Executor
from trainscope.jobs.job import Job
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import SCRIPT_KIND, RunSpec
from trainscope.schemas.status import ACTIVE_STATUSES as ACTIVE
from trainscope.schemas.status import RESUMABLE_STATUSES as RESUMABLE
from trainscope.services.admission import Admission
from trainscope.services.branches import (
    branch_spec,
    branchable_epochs,
    lineage,
    link_origin,
)
from trainscope.services.entrypoints import Registry
from trainscope.services.errors import RunConflict, RunNotFound
from trainscope.services.external import ExternalRuns, is_external
from trainscope.services.pipeline import Pipeline
from trainscope.services.script_runs import ScriptRuns
from trainscope.store import RunRecord, Store

# Every launch of user code, at INFO, whatever the server's log level (cli.py shows it).
audit = logging.getLogger("trainscope.audit")


def is_script(run: RunRecord) -> bool:
    return run.spec.get("kind") == SCRIPT_KIND


class RunService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        executor: Executor,
        pipeline: Pipeline,
        entrypoints: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.pipeline = pipeline
        self.admission = Admission(settings, store)
        # Runs logged by scripts through the SDK: no executor involved (services/external.py).
        self.external = ExternalRuns(store, pipeline)
        # Runs of the operator's registered entry points (the user's own code).
        self.scripts = ScriptRuns(settings, entrypoints or Registry())

    def get(self, run_id: int) -> RunRecord:
        run = self.store.get_run(run_id)
        if run is None:
            raise RunNotFound(f"no run with id {run_id}")
        return run

    def get_trainable(self, run_id: int, verb: str) -> RunRecord:
        """The run, unless it is an external one: trainscope has nothing to train it with (its
        script holds the data, the model and the loop), so restart, resume and repeat are
        refused with a 409 that says so."""
        run = self.get(run_id)
        if is_external(run):
            raise RunConflict(
                f"run {run_id} is an external run (logged by its own script through "
                f"trainscope.init): it cannot be {verb} here; run the script again instead"
            )
        return run

    def create(
        self,
        spec: RunSpec,
        parent_id: int | None = None,
        client: str | None = None,
        sweep: tuple[int, int] | None = None,
        admitted: bool = False,
        before_start: Callable[[int], None] | None = None,
    ) -> RunRecord:
        """Record and queue a run. `sweep`: (sweep id, trial) for a sweep's trial; `admitted`:
        the caller has already checked the limits (a repeat, for all its runs at once);
        `before_start(run_id)`: called once the run exists, before it is queued (a branch's
        checkpoint put in its folder)."""
        if spec.kind == SCRIPT_KIND:
            spec = self.scripts.prepare(spec)  # args checked, complete; what it will run
        elif spec.launch is not None:
            spec = spec.model_copy(update={"launch": None})  # the server's record, not input
        if not admitted:
            self.admission.admit(spec, client)
        # A script run's options are its args: the engine's options would only mislead.
        own_code = {"options", "lr_range", "config"} if spec.kind == SCRIPT_KIND else None
        run = self.store.create_run(
            spec.model_dump(mode="json", exclude=own_code),
            name=spec.name,
            parent_id=parent_id,
            group=spec.group,
            tags=spec.tags,
            sweep=sweep,
        )
        self.pipeline.announce(run.to_json())
        if spec.kind == SCRIPT_KIND and spec.launch is not None:
            # Every launch of user code is logged: who asked for what (docs/security.md).
            audit.info(
                "run %d: entry point %s for %s: %s",
                run.id,
                spec.entrypoint,
                client or "the server",
                " ".join(spec.launch["argv"]),
            )
        if before_start is not None:
            before_start(run.id)
        self._submit(run.id, spec, resume=False)
        return run

    def _submit(
        self, run_id: int, spec: RunSpec, resume: bool, persisted_seq: int | None = None
    ) -> None:
        run_dir = self.settings.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        script = self.scripts.launch(run_id, spec, resume) if spec.kind == SCRIPT_KIND else None
        origin = run_dir / BRANCH_ORIGIN
        self.executor.submit(
            Job(
                run_id=run_id,
                spec_json=spec.model_dump_json(),
                run_dir=str(run_dir),
                data_dir=str(self.settings.data_dir),
                resume=resume,
                persisted_seq=persisted_seq,
                script=script,
                # An engine branch's checkpoint; a script's goes through its resume option.
                branch_from=str(origin) if spec.branch is not None and script is None else None,
                checkpoint_budget=self.settings.checkpoint_budget_bytes,
            )
        )

    def restart(
        self, run_id: int, overrides: dict[str, Any], client: str | None = None
    ) -> RunRecord:
        parent = self.get_trainable(run_id, "restarted")
        if is_script(parent):
            spec = self.scripts.restart_spec(parent.spec, overrides)
            return self.create(spec, parent_id=parent.id, client=client)
        merged = merge_overrides(parent.spec, overrides)
        merged.pop("branch", None)  # a restart starts from scratch, whatever its parent was
        if "name" not in overrides and parent.name:
            merged["name"] = parent.name
        spec = RunSpec.model_validate(merged)  # ValidationError → 422, like a new spec
        return self.create(spec, parent_id=parent.id, client=client)

    def repeat(
        self, run_id: int, count: int, client: str | None = None
    ) -> tuple[str, RunRecord, list[RunRecord]]:
        """`count` runs identical to `run_id` but for their seeds, all in one group with it:
        its group, or `repeats-<id>` (given to the parent too) when it has none. The seeds are
        the smallest non-negative ones no member of the group has used, so each member's
        differs (seed 0, then 1, 2… for repeats of a run with the default seed). Returns
        (group, parent, the new runs)."""
        parent = self.get_trainable(run_id, "repeated")
        script = is_script(parent)
        if script:
            self.scripts.seed_option(parent.spec)  # 409 when the entry point has no seed option
        group = parent.group or f"repeats-{parent.id}"
        spec = RunSpec.model_validate({**parent.spec, "group": group})
        self.admission.admit(spec, client, count=count)
        if parent.group is None:
            updated = self.store.update_run(
                parent.id, group=group, spec={**parent.spec, "group": group}
            )
            parent = updated or parent
            self.pipeline.announce(parent.to_json())

        def seed_of(member_spec: dict[str, Any]) -> Any:
            if script:
                return self.scripts.seed_of(member_spec)
            return member_spec.get("options", {}).get("seed")

        used = {seed_of(parent.spec)}
        for member in self.store.list_runs(group=group, limit=None):
            used.add(seed_of(member.spec))
        used = {seed for seed in used if isinstance(seed, int)}
        seeds = [n for n in range(len(used) + count) if n not in used][:count]
        made = []
        for seed in seeds:
            if script:
                seeded = self.scripts.with_seed(spec, seed)
            else:
                options = spec.options.model_copy(update={"seed": seed})
                seeded = spec.model_copy(update={"options": options})
            made.append(self.create(seeded, parent_id=parent.id, admitted=True))
        return group, parent, made

    def branchable_epochs(self, run: RunRecord) -> list[int]:
        if is_script(run):
            return self.scripts.branchable_epochs(run)
        return branchable_epochs(self.settings.run_dir(run.id))

    def lineage(self, run: RunRecord) -> list[dict[str, int]]:
        """The runs and seqs a branch's history is read from (services/branches.py)."""
        return lineage(run, self.store.get_run, self.store.read_points)

    def branch(
        self, run_id: int, epoch: int, options: dict[str, Any], client: str | None = None
    ) -> RunRecord:
        """A new run going on from `run_id`'s checkpoint at the end of `epoch` with `options`
        changed (services/branches.py says what may change, docs/api.md why)."""
        parent = self.get_trainable(run_id, "branched")
        if is_script(parent):
            spec = self.scripts.branch_spec(parent, epoch, options)
            return self.create(
                spec,
                parent_id=parent.id,
                client=client,
                before_start=lambda new_id: self.scripts.link_origin(parent.id, epoch, new_id),
            )
        parent_dir = self.settings.run_dir(run_id)
        spec = branch_spec(parent.spec, parent.name, run_id, parent_dir, epoch, options)
        self.admission.admit(spec, client)
        run = self.store.create_run(
            spec.model_dump(mode="json"),
            name=spec.name,
            parent_id=parent.id,
            group=spec.group,
            tags=spec.tags,
        )
        link_origin(parent_dir, epoch, self.settings.run_dir(run.id))
        self.pipeline.announce(run.to_json())
        self._submit(run.id, spec, resume=False)
        return run

    def resume(self, run_id: int) -> RunRecord:
        run = self.get_trainable(run_id, "resumed")
        if run.status not in RESUMABLE:
            raise RunConflict(
                f"run {run_id} is {run.status}; only a stopped, interrupted or failed run "
                "can be resumed"
            )
        if is_script(run):
            self.scripts.check_resumable(run.spec, run_id)
            resumable = True  # the script finds (or not) its checkpoint in its folder
        else:
            resumable = has_checkpoint(self.settings.run_dir(run_id))
        if not resumable and run.last_seq > 0:
            raise RunConflict(
                f"run {run_id} has no checkpoint to resume from (it ends before its first "
                "epoch did); restart it instead"
            )
        self.store.update_run(run_id, status="queued", message=None, finish_reason=None)
        try:
            self._submit(
                run_id,
                RunSpec.model_validate(run.spec),
                resume=resumable,
                persisted_seq=self.store.last_seq(run_id),
            )
        except (RuntimeError, ValueError) as exc:
            # The executor refused it (shutting down, or the run is still on a worker): put
            # the run back as it was rather than leave it queued with nothing to start it.
            self.store.update_run(
                run_id, status=run.status, message=run.message, finish_reason=run.finish_reason
            )
            raise RunConflict(f"run {run_id} cannot be resumed now: {exc}") from None
        self.pipeline.announce(self.get(run_id).to_json())
        return self.get(run_id)

    def stop(self, run_id: int, wait_s: float | None = None) -> RunRecord:
        run = self.get(run_id)
        if run.status not in ACTIVE:
            raise RunConflict(f"run {run_id} has already ended ({run.status})")
        if is_external(run):
            # No worker to wait for: the script hears it in its next points response
            # (run.should_stop) and ends the run itself, as `stopped`, when it gets there.
            return self.external.request_stop(run)
        self.executor.stop(run_id)
        # Wait for the worker's own word: the loop sees the flag within one iteration.
        deadline = time.monotonic() + (wait_s if wait_s is not None else self.settings.stop_grace_s)
        while time.monotonic() < deadline:
            run = self.get(run_id)
            if run.status not in ACTIVE:
                break
            time.sleep(0.02)
        return run

    def delete(self, run_id: int) -> None:
        run = self.get(run_id)
        # A branch's history is its parent's points up to the branch (referenced, not copied):
        # deleting the parent would cut it, so it is refused while branches remain.
        branches = [
            r.id
            for r in self.store.list_runs(limit=None)
            if (r.spec.get("branch") or {}).get("run_id") == run_id
        ]
        if branches:
            raise RunConflict(
                f"run {run_id} has branches ({', '.join(map(str, sorted(branches)))}) whose "
                "history is its points; delete them first"
            )
        if run.status in ACTIVE and not is_external(run):
            self.executor.stop(run_id)
        self.store.delete_run(run_id)
        self.external.forget(run_id)
        shutil.rmtree(Path(self.settings.run_dir(run_id)), ignore_errors=True)
        self.pipeline.announce_deleted(run_id)
