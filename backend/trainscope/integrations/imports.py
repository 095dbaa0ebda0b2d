"""`trainscope import tensorboard | csv`: old runs brought in from files (docs/integrations.md).

Reading (tb_import.py, csv_import.py) and writing (sdk/imports.py) are two phases: every file
is read and checked before the first run is created, so a corrupt file imports nothing rather
than half a logdir. Runs imported before (same source path) are skipped, each said on stderr:
delete the run to import it again.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainscope.schemas.external import MAX_METRICS
from trainscope.schemas.metric_names import canonical, parse_name
from trainscope.sdk.columns import Row
from trainscope.sdk.imports import Unreachable, imported_sources, record_run


class ImportProblem(Exception):
    """Bad input for an import (no such directory, no events, a corrupt file, a missing
    package): printed as one line, exit code 2."""


Event = tuple[int, float, float]  # step, wall_time, value


@dataclass
class ImportedRun:
    """One run as read from the files, before it is recorded."""

    name: str
    source: str  # the absolute path it came from: how a second import recognises it
    config: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[Event]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @property
    def scalars(self) -> int:
        return sum(map(len, self.series.values()))

    def add(self, name: str, events: Iterable[Event]) -> None:
        self.series.setdefault(name, []).extend(events)


def to_rows(series: dict[str, list[Event]]) -> list[Row]:
    """Events by metric name → the SDK's rows (step, epoch, wall_time, values), one per step
    in step order, every event kept: a name logged twice at one step opens a second row there.
    A row's wall time is the earliest of its values'. A series whose name is an epoch axis
    (`epoch`) also gives each row its epoch, carried forward to later steps, and stays a value
    too (no scalar is dropped)."""
    by_step: dict[int, list[tuple[float, dict[str, float]]]] = {}
    for name, events in series.items():
        seen: dict[int, int] = {}
        for step, wall, value in events:
            k = seen.get(step, 0)
            seen[step] = k + 1
            at = by_step.setdefault(step, [])
            if k < len(at):
                t, values = at[k]
                values[name] = value
                if wall < t:
                    at[k] = (wall, values)
            else:
                at.append((wall, {name: value}))
    epoch_names = [n for n in series if parse_name(n).axis == "epoch"]
    rows: list[Row] = []
    epoch = 0
    for step in sorted(by_step):
        for wall, values in by_step[step]:
            for n in epoch_names:
                v = values.get(n)
                if v is not None and math.isfinite(v) and v >= 0:
                    epoch = int(v)
            rows.append((step, epoch, wall, values))
    return rows


def run_imports(
    runs: Sequence[ImportedRun], url: str | None, token: str | None, dir: str | None
) -> int:
    """Record `runs` (skipping those imported before); prints a line per run. The exit code."""
    where = url.rstrip("/") if url else f"the local store in {_shown_dir(dir)}"
    for run in runs:
        if not run.series:  # only images, histograms, or nothing yet: no curve to draw
            print(f"skipped {run.name}: no scalars in it", file=sys.stderr)
    if not any(run.series for run in runs):
        raise ImportProblem("nothing to import: no scalars in any run")
    runs = [run for run in runs if run.series]
    try:
        known = imported_sources(url, token, dir)
    except Unreachable as exc:
        raise ImportProblem(str(exc)) from None
    if url:
        # A server takes at most MAX_METRICS names a request: refused before any run is made.
        for run in runs:
            names = len({*run.series, *(canonical(n) for n in run.series)})
            if names > MAX_METRICS:
                raise ImportProblem(
                    f"{run.name}: {names} metric names (with the dashboard's), more than a "
                    f"server takes ({MAX_METRICS}); import it into a local store (no --url, "
                    "--data-dir DIR) instead"
                )
    made = 0
    for run in runs:
        if run.source in known:
            print(
                f"skipped {run.name}: already imported as run {known[run.source]} "
                f"({run.source}); delete that run to import it again",
                file=sys.stderr,
            )
            continue
        rows = to_rows(run.series)
        try:
            run_id = record_run(
                run.name,
                run.config,
                rows,
                source=run.source,
                tags=run.tags,
                url=url,
                token=token,
                dir=dir,
            )
        except Unreachable as exc:
            raise ImportProblem(f"{run.name}: {exc}") from None
        made += 1
        link = f": {url.rstrip('/')}/runs/{run_id}" if url else ""
        print(
            f"imported {run.name} as run {run_id}: {run.scalars:,} scalars of "
            f"{len(run.series)} metrics at {_plural(len(rows), 'step')}{link}"
        )
    print(f"{made} of {len(runs)} runs imported into {where}", file=sys.stderr)
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _shown_dir(dir: str | None) -> str:
    if dir:
        return dir
    return os.environ.get("TRAINSCOPE_DATA_DIR") or "~/.trainscope"


def tidy_float32(values: list[float]) -> list[float]:
    """Values that were stored as float32 (TensorBoard's scalars) as the shortest decimal that
    is the same float32: 0.1 rather than 0.10000000149011612, as TensorBoard itself shows."""
    import numpy as np

    return [float(s) for s in np.asarray(values, dtype=np.float32).astype(str)]


def lightning_hparams(directory: Path) -> dict[str, Any]:
    """The `hparams.yaml` Lightning's loggers write into a run's directory, or {}."""
    hparams = directory / "hparams.yaml"
    if not hparams.is_file():
        return {}
    try:
        import yaml
    except ImportError:
        print(f"trainscope: {hparams} not read (PyYAML is not installed)", file=sys.stderr)
        return {}
    try:
        data = yaml.safe_load(hparams.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(f"trainscope: {hparams} not read: {exc}", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}
