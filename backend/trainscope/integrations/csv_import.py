"""`trainscope import csv FILE`: Lightning's `CSVLogger` `metrics.csv`, or any CSV of metrics,
→ one trainscope run.

- The x axis: a column the names module calls an iteration axis (`step`, `global_step`,
  `iteration`, ...), else the row's number (1, 2, ...). An `epoch` column gives each point its
  epoch (as written: Lightning counts from 0) and stays a value too.
- Every other column is a metric; an empty cell means "not logged in this row" (Lightning
  writes a row per `log_metrics` call, train and validation metrics in different rows).
  Rows at one step are merged into one point, as tfevents are. A column with a cell that is no
  number (a text column) is skipped, said once.
- Wall times: a `wall_time`, `time` or `timestamp` column of Unix seconds when there is one;
  otherwise the file's modification time for every point (a CSV logger writes no times).
- Lightning's `hparams.yaml` beside `metrics.csv` becomes the run's config (when PyYAML is
  installed, as it is with Lightning).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

from trainscope.integrations.imports import Event, ImportedRun, ImportProblem, lightning_hparams
from trainscope.schemas.metric_names import parse_name

TIME_COLUMNS = ("wall_time", "walltime", "time", "timestamp")


def read_csv(path: str | Path, name: str | None = None) -> ImportedRun:
    file = Path(path).expanduser()
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            table = list(csv.reader(f))
        mtime = file.stat().st_mtime
    except FileNotFoundError:
        raise ImportProblem(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportProblem(f"{path}: a directory, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportProblem(f"{path}: cannot read: {exc}") from None
    except csv.Error as exc:
        raise ImportProblem(f"{path}: not a CSV file: {exc}") from None
    if not table or not any(h.strip() for h in table[0]):
        raise ImportProblem(f"{path}: empty (no header row)")
    header = [h.strip() for h in table[0]]
    body = [r for r in table[1:] if any(c.strip() for c in r)]
    if not body:
        raise ImportProblem(f"{path}: a header but no rows of values")
    for i, r in enumerate(body, start=2):
        if len(r) > len(header):
            raise ImportProblem(
                f"{path}: row {i} has {len(r)} cells but the header has {len(header)} columns"
            )
    columns = {h: [r[i].strip() if i < len(r) else "" for r in body] for i, h in enumerate(header)}
    step_col = next((h for h in header if parse_name(h).axis == "iteration"), None)
    time_col = next((h for h in header if h.lower() in TIME_COLUMNS), None)

    numbers: dict[str, list[float | None]] = {}
    text: list[str] = []
    for h, cells in columns.items():
        parsed = _numbers(cells)
        if parsed is None:
            text.append(h)
        else:
            numbers[h] = parsed
    if step_col is not None and step_col not in numbers:
        raise ImportProblem(f"{path}: the {step_col!r} column holds cells that are not numbers")
    steps = _steps(path, numbers[step_col]) if step_col else list(range(1, len(body) + 1))
    times = numbers.pop(time_col) if time_col in numbers else []
    walls = [t if t is not None and math.isfinite(t) else mtime for t in times] or [mtime] * len(
        body
    )
    if step_col is not None:
        del numbers[step_col]
    shown = ", ".join(repr(t) for t in text)
    if not numbers:
        holds = f"; {shown} hold text" if text else ""
        raise ImportProblem(f"{path}: no metric columns (only {', '.join(header)}{holds})")
    if text:
        print(f"trainscope: skipped columns that are not numbers: {shown}", file=sys.stderr)
    run_name = name or (file.parent.name if file.name == "metrics.csv" else file.stem)
    run = ImportedRun(name=run_name, source=str(file.resolve()), tags=["csv"])
    run.config.update(lightning_hparams(file.parent))
    for h, values in numbers.items():
        events: list[Event] = [
            (s, w, v) for s, w, v in zip(steps, walls, values, strict=True) if v is not None
        ]
        if events:
            run.add(h, events)
    return run


def _numbers(cells: list[str]) -> list[float | None] | None:
    out: list[float | None] = []
    for c in cells:
        if not c:
            out.append(None)
            continue
        try:
            out.append(float(c))
        except ValueError:
            return None
    return out


def _steps(path: str | Path, values: list[float | None]) -> list[int]:
    steps: list[int] = []
    for i, v in enumerate(values, start=2):
        if v is None or not math.isfinite(v) or v < 0 or not v.is_integer():
            raise ImportProblem(f"{path}: row {i}: the step must be a whole number ≥ 0, not {v}")
        steps.append(int(v))
    return steps
