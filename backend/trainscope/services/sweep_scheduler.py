"""`SweepScheduler`: turns sweeps' trials into runs on the executor every run uses.

Server side, one thread of its own. It wakes when the pipeline records a run starting or ending
(a listener, like the doctor's) and at least every POLL_S anyway: the poll is what notices a
single run waiting in the queue, a trial far enough along to be judged by the early-stopping
rule, and sweeps left running by a previous server (their pending trials are in the database,
so a restart carries on where it stopped). Waking on events keeps the gap between one trial
ending and the next starting short; polling keeps it correct whatever events were missed.

Fair share, so a sweep never starves single runs:
- no trial is started while a run that is not a trial waits in the queue;
- trials of all sweeps together never take more than the executor's free slots, so a single
  run submitted meanwhile waits at most for the first trial to end, never behind a queue of
  trials;
- several sweeps share the free slots round-robin (the one with fewest active trials first),
  each within its own `max_parallel`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from pydantic import ValidationError

from trainscope.entrypoints.validation import ArgsInvalid
from trainscope.schemas.events import Event, Started, Status
from trainscope.schemas.spec import SCRIPT_KIND
from trainscope.services.errors import RunConflict, RunError, RunNotFound, SpecRejected
from trainscope.services.runs import RunService
from trainscope.store import FINAL_STATUSES, RunRecord, Store
from trainscope.store.sweeps import SweepRecord
from trainscope.sweeps.early_stop import Series, median_stop
from trainscope.sweeps.spec import EARLY_STOPPED_TAG, SweepSpec, TrialRejected, check_trials
from trainscope.sweeps.spec import trial_spec as make_trial_spec

log = logging.getLogger("trainscope.sweeps")

POLL_S = 0.5
ACTIVE = ("queued", "running")
# Points read per trial for the early-stopping rule (downsampled keeps each bucket's extremes,
# so a best value is never lost).
SERIES_POINTS = 5000


class SweepScheduler:
    def __init__(self, store: Store, runs: RunService) -> None:
        self.store = store
        self.runs = runs
        self._lock = threading.RLock()  # one tick at a time; create/stop take it too
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._specs: dict[int, SweepSpec] = {}
        # Finished trials' target series, by (run id, metric): they no longer change.
        self._series: dict[tuple[int, str], Series] = {}
        # Early-stopped runs → the reason, until their final status is recorded with it.
        self._early: dict[int, str] = {}
        self._resumed: set[int] = set()  # interrupted trials tried once after a restart

    # ---- the server's side -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trainscope-sweeps", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Start no more trials (the executor's shutdown deals with the running ones)."""
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def notice(self, events: list[tuple[int, Event]]) -> None:
        """A pipeline listener, on the executor's thread: only wakes the scheduler when a run
        started or ended."""
        if any(isinstance(e, (Started, Status)) for _, e in events):
            self._wake.set()

    def create(self, spec: SweepSpec, client: str | None) -> SweepRecord:
        """Validate every trial, record the sweep, start its first trials. The request counts
        once against the client's per-minute rate, however many trials it has: the trials are
        started by the scheduler, a few at a time, not by the client."""
        try:
            specs = check_trials(spec)
        except TrialRejected as exc:
            raise SpecRejected(exc.loc, exc.message) from None
        for index, trial in enumerate(specs):
            try:
                if trial.kind == SCRIPT_KIND:
                    self.runs.scripts.prepare(trial)  # its args against the entry point's schema
                self.runs.admission.check_spec(trial)
            except ArgsInvalid as exc:
                name = str(exc.errors[0]["loc"][1]) if len(exc.errors[0]["loc"]) > 1 else ""
                loc: tuple[str, ...] = (
                    ("space", name) if name in spec.space else ("base", "args", name)
                )
                raise SpecRejected(loc, f"trial {index}: {exc.lines[0]}") from None
            except SpecRejected as exc:
                loc = ("base", *exc.loc)
                raise SpecRejected(loc, f"trial {index}: {exc.msg}") from None
        if client is not None:
            self.runs.admission.take_rate(client)
        sweep = self.store.create_sweep(name=spec.name, spec=spec.stored(), trials=spec.proposals())
        with self._lock:
            self._specs[sweep.id] = spec
            self._tick()
        return self.store.get_sweep(sweep.id) or sweep

    def stop(self, sweep_id: int, wait_s: float) -> SweepRecord:
        """Propose no more trials and stop the sweep's queued and running ones."""
        with self._lock:
            sweep = self.store.get_sweep(sweep_id)
            if sweep is None:
                raise RunNotFound(f"no sweep with id {sweep_id}")
            if sweep.status != "running":
                raise RunConflict(f"sweep {sweep_id} has already ended ({sweep.status})")
            self.store.update_sweep(
                sweep_id, status="stopped", message="stopped by request", ended_at=time.time()
            )
        active = self.store.list_runs(sweep_id=sweep_id, status=ACTIVE, limit=None)
        for run in active:
            self.runs.executor.stop(run.id)
        deadline = time.monotonic() + wait_s
        while active and time.monotonic() < deadline:
            time.sleep(0.05)
            active = self.store.list_runs(sweep_id=sweep_id, status=ACTIVE, limit=None)
        found = self.store.get_sweep(sweep_id)
        assert found is not None
        return found

    # ---- the scheduler's thread --------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._wake.wait(POLL_S)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                try:
                    self._tick()
                except Exception:
                    log.exception("the sweep scheduler's tick failed; trying again")

    def _spec(self, sweep: SweepRecord) -> SweepSpec:
        spec = self._specs.get(sweep.id)
        if spec is None:
            spec = self._specs[sweep.id] = SweepSpec.model_validate(sweep.spec)
        return spec

    def _tick(self) -> None:
        """With the lock held: record early stops, judge trials, start trials, end sweeps."""
        self._record_early_stops()
        if self._closed:
            return
        sweeps = self.store.list_sweeps(status=["running"], limit=None)
        if not sweeps:
            return
        active = self.store.list_runs(status=ACTIVE, limit=None)
        single_waiting = any(r.sweep_id is None and r.status == "queued" for r in active)
        slots = max(1, self.runs.executor.snapshot()["slots"])
        budget = 0 if single_waiting else slots - len(active)
        per_sweep = Counter(r.sweep_id for r in active if r.sweep_id is not None)
        wanting: list[SweepRecord] = []
        for sweep in sweeps:
            spec = self._spec(sweep)
            trial_runs = self.store.list_runs(sweep_id=sweep.id, limit=None)
            if spec.early_stop is not None:
                self._judge(spec, trial_runs)
            resumable = [
                r for r in trial_runs if r.status == "interrupted" and r.id not in self._resumed
            ]
            for run in resumable:
                if budget <= 0 or per_sweep[sweep.id] >= spec.parallel:
                    break
                self._resumed.add(run.id)
                if self._resume(run):
                    budget -= 1
                    per_sweep[sweep.id] += 1
            if sweep.next_trial < len(sweep.trials):
                wanting.append(sweep)
            elif not any(r.status in ACTIVE for r in trial_runs) and not resumable:
                self.store.update_sweep(sweep.id, status="completed", ended_at=time.time())
        while budget > 0 and wanting:
            wanting.sort(key=lambda s: (per_sweep[s.id], s.id))
            sweep = wanting[0]
            if per_sweep[sweep.id] >= self._spec(sweep).parallel:
                wanting.pop(0)
                continue
            self._launch(sweep)
            budget -= 1
            per_sweep[sweep.id] += 1
            fresh = self.store.get_sweep(sweep.id)
            if fresh is None or fresh.next_trial >= len(fresh.trials):
                wanting.pop(0)
            else:
                wanting[0] = fresh

    def _launch(self, sweep: SweepRecord) -> None:
        """Make the sweep's next trial a run and queue it. A trial this server will no longer
        run (its limits changed since the sweep was made) becomes a failed run saying why."""
        index = sweep.next_trial
        spec = self._spec(sweep)
        params = sweep.trials[index]
        try:
            run_spec = make_trial_spec(spec, params, group=sweep.group)
            self.runs.admission.check_spec(run_spec)
        except (ValidationError, RunError) as exc:
            reason = f"this trial cannot run here: {exc}"
            failed = self.store.create_run(
                {**spec.base.model_dump(mode="json"), "group": sweep.group},
                name=f"{sweep.name or 'sweep'} · trial {index}",
                parent_id=None,
                group=sweep.group,
                tags=["sweep"],
                status="failed",
                sweep=(sweep.id, index),
            )
            self.store.update_run(failed.id, message=reason[:2000], ended_at=time.time())
            return
        self.runs.create(run_spec, sweep=(sweep.id, index), admitted=True)

    def _resume(self, run: RunRecord) -> bool:
        try:
            self.runs.resume(run.id)
        except RunError as exc:
            log.info("trial run %d stays interrupted: %s", run.id, exc)
            return False
        return True

    # ---- early stopping ----------------------------------------------------------------------

    def _judge(self, spec: SweepSpec, trial_runs: list[RunRecord]) -> None:
        rule = spec.early_stop
        assert rule is not None
        series = {r.id: self._target(r, spec.metric) for r in trial_runs if r.last_seq > 0}
        for run in trial_runs:
            if run.status != "running" or run.id in self._early or not run.max_iterations:
                continue
            mine = series.get(run.id)
            if mine is None:
                continue
            decision = median_stop(
                mine,
                [s for rid, s in series.items() if rid != run.id],
                goal=spec.target_goal,
                max_iterations=run.max_iterations,
                grace_fraction=rule.grace_fraction,
                min_trials=rule.min_trials,
            )
            if decision is None:
                continue
            reason = decision.reason(spec.metric)
            log.info("run %d: %s", run.id, reason)
            self._early[run.id] = reason
            updated = self.store.update_run(
                run.id, tags=[*run.tags, EARLY_STOPPED_TAG], message=reason
            )
            if updated is not None:
                self.runs.pipeline.announce(updated.to_json())
            self.runs.executor.stop(run.id)

    def _target(self, run: RunRecord, metric: str) -> Series:
        key = (run.id, metric)
        cached = self._series.get(key)
        if cached is not None:
            return cached
        cols = self.store.read_points(run.id, max_points=SERIES_POINTS)
        values = cols.values.get(metric, [])
        pairs = [(i, v) for i, v in zip(cols.iteration, values, strict=True) if v is not None]
        series = Series([i for i, _ in pairs], [v for _, v in pairs])
        if run.status in FINAL_STATUSES:
            self._series[key] = series
        return series

    def _record_early_stops(self) -> None:
        """An early-stopped run's final status came with the worker's words: give it the
        rule's reason again, with the numbers."""
        for run_id, reason in list(self._early.items()):
            run = self.store.get_run(run_id)
            if run is None:
                self._early.pop(run_id)
                continue
            if run.status not in FINAL_STATUSES:
                continue
            self._early.pop(run_id)
            if run.status == "stopped":
                updated = self.store.update_run(run_id, message=reason)
            else:  # it ended on its own before the stop reached it
                tags = [t for t in run.tags if t != EARLY_STOPPED_TAG]
                updated = self.store.update_run(run_id, tags=tags)
            if updated is not None:
                self.runs.pipeline.announce(updated.to_json())
