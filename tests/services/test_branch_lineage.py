"""A branch's lineage (GET /api/runs/{id} `lineage`): where its history's points are, read from
its ancestors' stored points (pure: the store's readers are passed in)."""

from __future__ import annotations

from dataclasses import replace

from trainscope.services.branches import last_training_seq, lineage
from trainscope.store import PointColumns, RunRecord

IPE = 4  # iterations per epoch of the made-up runs


def _record(run_id: int, branch: dict[str, int] | None = None) -> RunRecord:
    return RunRecord(
        id=run_id, name=None, status="completed", finish_reason=None, message=None,
        spec={"branch": branch} if branch else {}, parent_id=branch["run_id"] if branch else None,
        group=None, tags=[], created_at=0.0, started_at=None, ended_at=None, iteration=0,
        epoch=0, max_iterations=None, iterations_per_epoch=IPE, last_seq=0, device=None,
        info={}, latest={}, best=None, checkpoint=None,
    )  # fmt: skip


def _points(first_seq: int, first_epoch: int, epochs: int, test: bool) -> PointColumns:
    """IPE training points per epoch (seq = iteration), then a final test point (no train_loss)."""
    n = epochs * IPE
    seq = list(range(first_seq, first_seq + n))
    epoch = [first_epoch + i // IPE for i in range(n)]
    train: list[float | None] = [1.0] * n
    if test:
        seq.append(seq[-1] + 1)
        epoch.append(epoch[-1])
        train.append(None)
    return PointColumns(
        seq=seq, iteration=seq, epoch=epoch, wall_time=[0.0] * len(seq),
        values={"train_loss": train}, total=len(seq), last_seq=seq[-1],
    )  # fmt: skip


def test_the_branch_point_is_the_last_training_point_of_its_epoch_not_the_test_point() -> None:
    cols = _points(1, 1, 5, test=True)
    assert last_training_seq(cols, 2) == 2 * IPE
    assert last_training_seq(cols, 5) == 5 * IPE  # the test point (seq 21) comes after
    assert last_training_seq(cols, 0) is None


class FakeStore:
    """Store.read_points over made-up runs, counting the points it hands out."""

    def __init__(self, stored: dict[int, PointColumns]) -> None:
        self.stored = stored
        self.rows_read = 0

    def read_points(
        self, run_id: int, *, after_seq: int, before_seq: int | None, limit: int | None
    ) -> PointColumns:
        cols = self.stored[run_id]
        rows = [
            i
            for i, s in enumerate(cols.seq)
            if s > after_seq and (before_seq is None or s < before_seq)
        ]
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        self.rows_read += len(rows)
        seq = [cols.seq[i] for i in rows]
        values = {k: [v[i] for i in rows] for k, v in cols.values.items()}
        return PointColumns(
            seq=seq, iteration=seq, epoch=[cols.epoch[i] for i in rows],
            wall_time=[0.0] * len(rows), values=values, total=len(rows), has_more=more,
            last_seq=seq[-1] if seq else after_seq,
        )  # fmt: skip


def _stored(run_id: int, cols: PointColumns, branch: dict[str, int] | None = None) -> RunRecord:
    return replace(_record(run_id, branch), last_seq=cols.seq[-1])


def test_a_branch_of_a_branch_lists_the_whole_chain_oldest_first() -> None:
    stored = {1: _points(1, 1, 5, test=True), 2: _points(2 * IPE + 1, 3, 3, test=True)}
    root = _stored(1, stored[1])
    mid = _stored(2, stored[2], {"run_id": 1, "epoch": 2})
    twig = _record(3, {"run_id": 2, "epoch": 4})
    runs = {1: root, 2: mid, 3: twig}
    store = FakeStore(stored)
    assert lineage(twig, runs.get, store.read_points) == [
        {"run_id": 1, "epoch": 2, "until_seq": 2 * IPE},
        {"run_id": 2, "epoch": 4, "until_seq": 4 * IPE},
    ]
    assert lineage(mid, runs.get, store.read_points) == [
        {"run_id": 1, "epoch": 2, "until_seq": 2 * IPE}
    ]
    assert lineage(root, runs.get, store.read_points) == []


def test_a_branch_at_the_last_epoch_ends_its_history_before_the_test_point() -> None:
    stored = {1: _points(1, 1, 5, test=True)}
    branch = _record(2, {"run_id": 1, "epoch": 5})
    store = FakeStore(stored)
    assert lineage(branch, {1: _stored(1, stored[1])}.get, store.read_points) == [
        {"run_id": 1, "epoch": 5, "until_seq": 5 * IPE}
    ]


def test_a_long_parent_is_probed_not_read_whole() -> None:
    stored = {1: _points(1, 1, 25_000, test=True)}  # 100,000 points
    store = FakeStore(stored)
    for epoch in (1, 12_345, 25_000):
        branch = _record(2, {"run_id": 1, "epoch": epoch})
        assert lineage(branch, {1: _stored(1, stored[1])}.get, store.read_points) == [
            {"run_id": 1, "epoch": epoch, "until_seq": epoch * IPE}
        ]
    assert store.rows_read < 3 * 60  # a binary search of single points and a short tail each
