"""What the run routes do, apart from HTTP: create, restart, resume, stop, delete.

Plain synchronous code (routes that touch the database are plain `def`, run in the threadpool).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from trainscope.config import Settings
from trainscope.jobs.executor import Executor
from trainscope.jobs.job import Job
from trainscope.pipeline import Pipeline
from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.spec import RunSpec
from trainscope.store import RunRecord, Store

ACTIVE = ("queued", "running")
RESUMABLE = ("stopped", "interrupted", "failed")


class RunError(Exception):
    """A request that cannot be done as asked; carries its HTTP status."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunNotFound(RunError):
    status_code = 404


class RunConflict(RunError):
    status_code = 409


def _matlab_to_snake() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in TrainingOptions.model_fields.items():
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []):
            if isinstance(choice, str):
                out[choice] = name
    return out


MATLAB_TO_SNAKE = _matlab_to_snake()


def merge_overrides(spec: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The parent's spec with a restart's overrides applied.

    `options` and `dataset` are merged key by key (MATLAB names mapped to ours so a parent's
    `initial_learn_rate` and an override's `InitialLearnRate` do not both survive); `model`,
    `name`, `tags` and `group` are replaced. Switching solver without naming a learn rate takes
    the new solver's default where the parent had its old solver's default.
    """
    merged = {k: v for k, v in spec.items()}
    for key, value in overrides.items():
        if key == "options" and isinstance(value, dict):
            opts = dict(spec.get("options", {}))
            new = {MATLAB_TO_SNAKE.get(k, k): v for k, v in value.items()}
            if "solver" in new and new["solver"] != opts.get("solver"):
                old = TrainingOptions(solver=opts.get("solver", "sgdm"))
                for derived in ("initial_learn_rate", "squared_gradient_decay_factor"):
                    if derived not in new and opts.get(derived) == getattr(old, derived):
                        opts.pop(derived, None)
            opts.update(new)
            merged["options"] = opts
        elif key == "dataset" and isinstance(value, dict):
            base = dict(spec.get("dataset", {}))
            if "name" in value and value["name"] != base.get("name"):
                base = {}  # another dataset: its own parameters, not the old one's
            merged["dataset"] = {**base, **value}
        else:
            merged[key] = value
    return merged


class RunService:
    def __init__(
        self, settings: Settings, store: Store, executor: Executor, pipeline: Pipeline
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.pipeline = pipeline

    def get(self, run_id: int) -> RunRecord:
        run = self.store.get_run(run_id)
        if run is None:
            raise RunNotFound(f"no run with id {run_id}")
        return run

    def create(self, spec: RunSpec, parent_id: int | None = None) -> RunRecord:
        run = self.store.create_run(
            spec.model_dump(mode="json"),
            name=spec.name,
            parent_id=parent_id,
            group=spec.group,
            tags=spec.tags,
        )
        self.pipeline.announce(run.to_json())
        self._submit(run.id, spec, resume=False)
        return run

    def _submit(
        self, run_id: int, spec: RunSpec, resume: bool, persisted_seq: int | None = None
    ) -> None:
        run_dir = self.settings.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.executor.submit(
            Job(
                run_id=run_id,
                spec_json=spec.model_dump_json(),
                run_dir=str(run_dir),
                data_dir=str(self.settings.data_dir),
                resume=resume,
                persisted_seq=persisted_seq,
            )
        )

    def restart(self, run_id: int, overrides: dict[str, Any]) -> RunRecord:
        parent = self.get(run_id)
        merged = merge_overrides(parent.spec, overrides)
        if "name" not in overrides and parent.name:
            merged["name"] = parent.name
        spec = RunSpec.model_validate(merged)  # ValidationError → 422, like a new spec
        return self.create(spec, parent_id=parent.id)

    def resume(self, run_id: int) -> RunRecord:
        run = self.get(run_id)
        if run.status not in RESUMABLE:
            raise RunConflict(
                f"run {run_id} is {run.status}; only a stopped, interrupted or failed run "
                "can be resumed"
            )
        checkpoint = self.settings.run_dir(run_id) / "checkpoint.pt"
        has_checkpoint = checkpoint.exists()
        if not has_checkpoint and run.last_seq > 0:
            raise RunConflict(
                f"run {run_id} has no checkpoint to resume from (it ends before its first "
                "epoch did); restart it instead"
            )
        self.store.update_run(run_id, status="queued", message=None, finish_reason=None)
        self.pipeline.announce(self.get(run_id).to_json())
        self._submit(
            run_id,
            RunSpec.model_validate(run.spec),
            resume=has_checkpoint,
            persisted_seq=self.store.last_seq(run_id),
        )
        return self.get(run_id)

    def stop(self, run_id: int, wait_s: float | None = None) -> RunRecord:
        run = self.get(run_id)
        if run.status not in ACTIVE:
            raise RunConflict(f"run {run_id} has already ended ({run.status})")
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
        if run.status in ACTIVE:
            self.executor.stop(run_id)
        self.store.delete_run(run_id)
        shutil.rmtree(Path(self.settings.run_dir(run_id)), ignore_errors=True)
        self.pipeline.announce_deleted(run_id)
