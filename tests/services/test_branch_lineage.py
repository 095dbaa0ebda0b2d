"""A branch's lineage (GET /api/runs/{id} `lineage`): where its history's points are, read from
its ancestors' stored points (pure: the store's readers are passed in)."""

from __future__ import annotations

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


def test_a_branch_of_a_branch_lists_the_whole_chain_oldest_first() -> None:
    root, mid = _record(1), _record(2, {"run_id": 1, "epoch": 2})
    twig = _record(3, {"run_id": 2, "epoch": 4})
    stored = {1: _points(1, 1, 5, test=True), 2: _points(2 * IPE + 1, 3, 3, test=True)}
    runs = {1: root, 2: mid, 3: twig}
    reads: list[tuple[int, int]] = []

    def read(run_id: int, after: int) -> PointColumns:
        reads.append((run_id, after))
        return stored[run_id]

    assert lineage(twig, runs.get, read) == [
        {"run_id": 1, "epoch": 2, "until_seq": 2 * IPE},
        {"run_id": 2, "epoch": 4, "until_seq": 4 * IPE},
    ]
    assert reads == [(1, 0), (2, 2 * IPE)]  # each ancestor read from where the last one ended
    assert lineage(root, runs.get, read) == []


def test_a_long_parent_is_read_page_by_page_only_up_to_the_branch_epoch() -> None:
    whole = _points(1, 1, 10, test=False)

    def page(run_id: int, after: int) -> PointColumns:
        rows = [i for i, s in enumerate(whole.seq) if s > after][:IPE]  # one epoch a page
        seq = [whole.seq[i] for i in rows]
        return PointColumns(
            seq=seq, iteration=seq, epoch=[whole.epoch[i] for i in rows],
            wall_time=[0.0] * len(rows), values={"train_loss": [1.0] * len(rows)},
            total=len(whole.seq), has_more=rows[-1] < len(whole.seq) - 1, last_seq=seq[-1],
        )  # fmt: skip

    calls: list[int] = []

    def read(run_id: int, after: int) -> PointColumns:
        calls.append(after)
        return page(run_id, after)

    branch = _record(2, {"run_id": 1, "epoch": 3})
    expected = [{"run_id": 1, "epoch": 3, "until_seq": 12}]
    assert lineage(branch, {1: _record(1)}.get, read) == expected
    assert calls == [0, 4, 8, 12]  # stops at the page that reaches epoch 4, not at epoch 10
