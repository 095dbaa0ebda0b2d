"""A run's points as CSV, streamed page by page so a million-point run never sits in memory."""

from __future__ import annotations

import math
from collections.abc import Iterator

from trainscope.store import Store
from trainscope.store.records import PointColumns

PAGE = 20_000
BASE = ("seq", "iteration", "epoch", "wall_time")


def _cell(v: float | None) -> str:
    if v is None:
        return ""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _rows(page: PointColumns, names: list[str]) -> str:
    columns = [page.values.get(name) for name in names]
    lines = []
    for i in range(len(page.seq)):
        cells = [str(page.seq[i]), str(page.iteration[i]), str(page.epoch[i])]
        cells.append(repr(page.wall_time[i]))
        cells += ["" if col is None else _cell(col[i]) for col in columns]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n" if lines else ""


def points_csv(store: Store, run_id: int, names: list[str]) -> Iterator[str]:
    """Header, then every point in seq order: `seq,iteration,epoch,wall_time,<names...>`, an
    empty cell where a point lacks a metric, non-finite values as NaN/Infinity/-Infinity.
    `names` are the run's metrics (its `latest` holds one entry per metric ever recorded)."""
    yield ",".join((*BASE, *names)) + "\n"
    after = 0
    while True:
        page = store.read_points(run_id, after_seq=after, limit=PAGE)
        yield _rows(page, names)
        if not page.has_more or not page.seq:
            return
        after = page.last_seq
