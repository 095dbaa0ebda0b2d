"""`DoctorWatch`: the doctor on the pipeline's path, in the server process.

The pipeline tells it about each persisted batch (`notice`, on the executor's thread: it only
marks the run). Its own thread diagnoses each marked run at most every `interval_s` while the
run trains, and at once when it ends, from what the store holds (downsampled to `max_points`
rows, min/max per bucket, so a long run costs what a short one does). When the findings
changed — another code, severity or patch, not merely new numbers in a message — they are
stored, then published as `{"type": "findings", "findings": [...]}` on the run's websocket:
persist first, then broadcast, as for points.

Diagnosis never runs on the executor's thread: a slow one must not delay the points.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast

from trainscope.doctor import Curves, Finding, RunContext, diagnose, inconsistent
from trainscope.live.hub import Hub, Message
from trainscope.schemas.events import Event, Status
from trainscope.schemas.messages import findings_message
from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.spec import SCRIPT_KIND, RunSpec
from trainscope.schemas.status import FINAL_STATUSES as ENDED
from trainscope.services.branch_fixes import with_branch_fixes
from trainscope.store import RunRecord, Store

log = logging.getLogger("trainscope.doctor")


INTERVAL_S = 1.0
MAX_POINTS = 20_000


# A script run's roles (spec.launch.roles) → the engine options the doctor reasons with.
ROLE_OPTIONS = {
    "learn_rate": "initial_learn_rate",
    "max_epochs": "max_epochs",
    "batch_size": "mini_batch_size",
    "seed": "seed",
}


def _script_roles(spec: RunSpec) -> dict[str, str]:
    """engine option → the script's own option, for the roles the entry point has."""
    roles = (spec.launch or {}).get("roles") or {}
    return {ROLE_OPTIONS[r]: o for r, o in roles.items() if r in ROLE_OPTIONS and o is not None}


def _options(spec: RunSpec) -> TrainingOptions:
    """The options the doctor reads: a script run's from its args, through its roles (the
    learn rate it was given, not the engine's default)."""
    if spec.kind != SCRIPT_KIND:
        return spec.options
    args = spec.args or {}
    values = {option: args[name] for option, name in _script_roles(spec).items() if name in args}
    try:
        return TrainingOptions.model_validate(values)
    except ValueError:
        return TrainingOptions()


def _in_own_names(found: list[Finding], spec: RunSpec) -> list[Finding]:
    """A script run's fixes in its own option names ({"args": {"lr": 0.001}}); a fix that
    needs an option the script has no role for stays advice, with no patch to apply."""
    if spec.kind != SCRIPT_KIND:
        return found
    names = _script_roles(spec)
    out = []
    for f in found:
        options = (f.patch or {}).get("options")
        if f.patch is not None and (
            set(f.patch) != {"options"}
            or not isinstance(options, dict)
            or set(options) - set(names)
        ):
            out.append(replace(f, patch=None))
        elif options:
            args = {names[k]: v for k, v in options.items()}
            text = ", ".join(
                f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in args.items()
            )
            out.append(replace(f, patch={"args": args}, fix=f"Restart with {text}"))
        else:
            out.append(f)
    return out


def _context(run: RunRecord, spec: RunSpec) -> RunContext:
    return RunContext(
        options=_options(spec),
        kind=spec.kind,
        ended=run.status in ENDED,
        status=run.status,
        finish_reason=run.finish_reason,
        layers=tuple(run.info.get("layers") or ()),
    )


def diagnose_stored(
    store: Store, run_id: int, max_points: int = MAX_POINTS
) -> tuple[RunRecord, list[Finding]] | None:
    """The run as read before its points (so an ended run's points are all there), and every
    finding for it as the store holds it now, its group's included; None when it is gone."""
    run = store.get_run(run_id)
    if run is None:
        return None
    spec = RunSpec.model_validate(run.spec)
    cols = store.read_points(run_id, max_points=max_points)
    curves = Curves.from_columns(cols.iteration, cols.epoch, cols.values, run.info)
    found = _in_own_names(diagnose(curves, _context(run, spec)), spec)
    if run.status in ENDED and run.group:
        group_finding = _group_finding(store, run, spec)
        if group_finding is not None:
            found.append(group_finding)
    return run, found


def _final_metric(run: RunRecord) -> tuple[str, float] | None:
    """The run's last validation accuracy (or RMSE, or loss) from its latest values."""
    for name in ("val_accuracy", "val_rmse", "val_loss"):
        value = run.latest.get(name)
        if isinstance(value, (int, float)):
            return name, float(value)
    return None


def _same_but_seed(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(spec: dict[str, Any]) -> dict[str, Any]:
        options = {k: v for k, v in spec.get("options", {}).items() if k != "seed"}
        return {**spec, "options": options, "name": None, "tags": None}

    return strip(a) == strip(b)


def _group_finding(store: Store, run: RunRecord, spec: RunSpec) -> Finding | None:
    """`inconsistent`: repeats of this run's spec (other seeds, same group) spread wider than
    the difference to the run they were started from."""
    members = [
        r
        for r in store.list_runs(group=run.group, status=["completed"])
        if _same_but_seed(r.spec, run.spec)
    ]
    finals = [m for m in (_final_metric(r) for r in members) if m is not None]
    if len(finals) < 2:
        return None
    metric = finals[0][0]
    values = [v for name, v in finals if name == metric]
    compared: float | None = None
    parents = {r.parent_id for r in members} - {None} - {r.id for r in members}
    if len(parents) == 1:
        parent = store.get_run(parents.pop())  # type: ignore[arg-type]
        parent_final = _final_metric(parent) if parent is not None else None
        if parent_final is not None and parent_final[0] == metric:
            compared = sum(values) / len(values) - parent_final[1]
    return inconsistent(values, compared, metric, iteration=run.iteration or None)


def _signature(findings: Sequence[Finding]) -> tuple[tuple[Any, ...], ...]:
    """What makes findings different for a person: not the numbers in the sentences."""
    return tuple((f.code, f.severity, repr(sorted((f.patch or {}).items()))) for f in findings)


class DoctorWatch:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        interval_s: float = INTERVAL_S,
        max_points: int = MAX_POINTS,
        branchable: Callable[[RunRecord], list[int]] | None = None,
    ) -> None:
        self._store = store
        self._hub = hub
        # The epochs a run can be branched from now (its checkpoints): where a branch is the
        # fix, findings offer it (services/branch_fixes.py).
        self._branchable = branchable
        self._interval_s = interval_s
        self._max_points = max_points
        self._lock = threading.Lock()
        self._dirty: dict[int, bool] = {}  # run id → it has ended (diagnose now)
        self._last: dict[int, tuple[tuple[Any, ...], ...]] = {}
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="trainscope-doctor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=5)

    # -- the executor thread's side: cheap --------------------------------------------------

    def notice(self, events: list[tuple[int, Event]]) -> None:
        """A pipeline listener, given each persisted batch: marks the runs it touched (an
        ended one to diagnose at once). One pass at C speed over a batch of points."""
        ended = [rid for rid, e in events if isinstance(e, Status) and e.status in ENDED]
        touched = dict.fromkeys(rid for rid, _ in events)
        with self._lock:
            for run_id in touched:
                self._dirty.setdefault(run_id, False)
            for run_id in ended:
                self._dirty[run_id] = True
        if ended:
            self._wake.set()

    # -- the doctor's thread --------------------------------------------------------------

    def _run(self) -> None:
        next_round = time.monotonic()
        while not self._closing:
            self._wake.wait(timeout=max(0.0, next_round - time.monotonic()))
            self._wake.clear()
            if self._closing:
                return
            due_all = time.monotonic() >= next_round
            with self._lock:
                ready = [rid for rid, ended in self._dirty.items() if ended or due_all]
                for rid in ready:
                    del self._dirty[rid]
            for run_id in ready:
                self.refresh(run_id)
            if due_all:
                next_round = time.monotonic() + self._interval_s

    def findings(self, run: RunRecord) -> list[dict[str, Any]]:
        """The run's stored findings as the API serves them (GET findings, the websocket)."""
        return self._served(run, self._store.get_findings(run.id))

    def _served(self, run: RunRecord, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not stored:  # most runs, most of the time: no listing of its checkpoints for it
            return []
        epochs = self._branchable(run) if self._branchable is not None else []
        return with_branch_fixes(stored, run, epochs)

    def refresh(self, run_id: int, force: bool = False) -> list[dict[str, Any]] | None:
        """Diagnose the run now; store and publish the findings if they changed (or `force`).
        Returns them as stored, or None when the run is gone or diagnosis failed."""
        try:
            diagnosed = diagnose_stored(self._store, run_id, self._max_points)
            if diagnosed is None:
                return None
            run, found = diagnosed
            signature = _signature(found)
            ended = run.status in ENDED
            # An ended run's findings are written once more with their final numbers.
            # Nothing found before either: no message (a new run starts with no findings).
            if not force and not ended and self._last.get(run_id, ()) == signature:
                return None
            items = [f.to_json() for f in found]
            self._store.put_findings(run_id, items)
            stored = self._served(run, self._store.get_findings(run_id))
        except Exception:
            # A doctor bug must never take the server or the training down with it.
            log.exception("diagnosing run %d failed", run_id)
            return None
        if ended:
            self._last.pop(run_id, None)
        else:
            self._last[run_id] = signature
        self._hub.publish({run_id: [cast(Message, findings_message(stored))]}, [])
        return stored
