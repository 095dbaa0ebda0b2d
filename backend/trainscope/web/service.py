"""What the run routes do, apart from HTTP: create, restart, resume, stop, delete.

Plain synchronous code (routes that touch the database are plain `def`, run in the threadpool).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from trainscope.config import Settings
from trainscope.engine.checkpoint_files import has_checkpoint
from trainscope.jobs.executor import Executor
from trainscope.jobs.job import Job
from trainscope.pipeline import Pipeline
from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.spec import EXTERNAL_KIND, RunSpec
from trainscope.schemas.status import RESUMABLE_STATUSES as RESUMABLE
from trainscope.store import RunRecord, Store
from trainscope.web.external import ExternalRuns, is_external
from trainscope.web.limits import RateLimiter

ACTIVE = ("queued", "running")


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


class SpecRejected(RunError):
    """A spec (or upload) that validates but this server will not run: a 422 naming the field,
    shaped like a validation error so the dashboard shows it at that field."""

    status_code = 422

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(f"{'.'.join(loc)}: {message}")
        self.loc = loc
        self.msg = message


class TooManyRuns(RunError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


UPLOADS = "uploads"
# What a run's `dataset.path` must look like when it names an upload (routes_datasets.py).
UPLOAD_PATH = re.compile(r"uploads/[0-9a-f]{32}\.(npz|csv)")


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
        self.rate = RateLimiter(settings.runs_per_minute)
        # Runs logged by scripts through the SDK: no executor involved (web/external.py).
        self.external = ExternalRuns(store, pipeline)

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

    def admit(self, spec: RunSpec, client: str | None, count: int = 1) -> None:
        """The server's limits on starting a run (docs/security.md): the queue's length, the
        client's rate, the work a spec asks for, the files it may read. `count`: runs this
        request starts at once (a repeat): the queue must hold them all, and they count as
        one request against the client's rate."""
        s = self.settings
        queued = len(self.store.list_runs(status=["queued"], limit=s.max_queued_runs + 1))
        if queued + count > s.max_queued_runs:
            raise TooManyRuns(
                f"{queued} runs are already waiting for a worker (this server's limit, "
                "TRAINSCOPE_MAX_QUEUED_RUNS); stop some or wait for them to start",
                retry_after_s=30,
            )
        self.check_spec(spec)
        if client is not None:
            self.take_rate(client)

    def take_rate(self, client: str) -> None:
        """Count one request that starts runs against the client's per-minute limit."""
        s = self.settings
        wait = self.rate.take(client)
        if wait is not None:
            raise TooManyRuns(
                f"more than {s.runs_per_minute} runs started in a minute from {client} "
                f"(TRAINSCOPE_RUNS_PER_MINUTE); try again in {wait:.0f} s",
                retry_after_s=wait,
            )

    def check_spec(self, spec: RunSpec) -> None:
        """The limits on what one spec may ask: the work (max_epochs × samples) and the files
        it may read. SpecRejected (a 422 naming the field) when it asks too much."""
        s = self.settings
        if spec.kind == EXTERNAL_KIND or spec.dataset is None:
            raise SpecRejected(
                ("kind",),
                "an external run is logged by its own script, not trained here: create it "
                "with trainscope.init() (POST /api/runs/external), see docs/sdk.md",
            )
        samples = spec.dataset.train_samples()
        work = spec.options.max_epochs * samples if samples else 0
        if work > s.max_epoch_samples:
            raise SpecRejected(
                ("options", "max_epochs"),
                f"{spec.options.max_epochs:,} epochs × ~{samples:,} training samples = "
                f"{work:.3g} sample passes, more than this server allows "
                f"({s.max_epoch_samples:.3g}, TRAINSCOPE_MAX_EPOCH_SAMPLES); lower max_epochs "
                "or dataset.max_train_samples",
            )
        path = getattr(spec.dataset, "path", None)
        uploaded = (
            isinstance(path, str)
            and UPLOAD_PATH.fullmatch(path) is not None
            and (s.data_dir / path).is_file()
        )
        if spec.dataset.name == "file" and not s.allow_local_files and not uploaded:
            raise SpecRejected(
                ("dataset", "path"),
                "this server reads only uploaded datasets: upload the file with "
                "POST /api/datasets?filename=NAME (trainscope submit does it for you) and "
                "use the path it answers, like uploads/<hash>.npz",
            )

    def create(
        self,
        spec: RunSpec,
        parent_id: int | None = None,
        client: str | None = None,
        sweep: tuple[int, int] | None = None,
        admitted: bool = False,
    ) -> RunRecord:
        """Record and queue a run. `sweep`: (sweep id, trial) for a sweep's trial; `admitted`:
        the caller has already checked the limits (a repeat, for all its runs at once)."""
        if not admitted:
            self.admit(spec, client)
        run = self.store.create_run(
            spec.model_dump(mode="json"),
            name=spec.name,
            parent_id=parent_id,
            group=spec.group,
            tags=spec.tags,
            sweep=sweep,
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

    def restart(
        self, run_id: int, overrides: dict[str, Any], client: str | None = None
    ) -> RunRecord:
        parent = self.get_trainable(run_id, "restarted")
        merged = merge_overrides(parent.spec, overrides)
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
        group = parent.group or f"repeats-{parent.id}"
        spec = RunSpec.model_validate({**parent.spec, "group": group})
        self.admit(spec, client, count=count)
        if parent.group is None:
            updated = self.store.update_run(
                parent.id, group=group, spec={**parent.spec, "group": group}
            )
            parent = updated or parent
            self.pipeline.announce(parent.to_json())
        used = {spec.options.seed}
        for member in self.store.list_runs(group=group, limit=None):
            seed = member.spec.get("options", {}).get("seed")
            if isinstance(seed, int):
                used.add(seed)
        seeds = [n for n in range(len(used) + count) if n not in used][:count]
        made = []
        for seed in seeds:
            options = spec.options.model_copy(update={"seed": seed})
            made.append(
                self.create(
                    spec.model_copy(update={"options": options}),
                    parent_id=parent.id,
                    admitted=True,
                )
            )
        return group, parent, made

    def resume(self, run_id: int) -> RunRecord:
        run = self.get_trainable(run_id, "resumed")
        if run.status not in RESUMABLE:
            raise RunConflict(
                f"run {run_id} is {run.status}; only a stopped, interrupted or failed run "
                "can be resumed"
            )
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
        if run.status in ACTIVE and not is_external(run):
            self.executor.stop(run_id)
        self.store.delete_run(run_id)
        self.external.forget(run_id)
        shutil.rmtree(Path(self.settings.run_dir(run_id)), ignore_errors=True)
        self.pipeline.announce_deleted(run_id)
