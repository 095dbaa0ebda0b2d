"""Sweeps in the store, on SQLite and PostgreSQL: a sweep's row, and trials claimed once."""

from __future__ import annotations

import pytest

from trainscope.store import Store

from .conftest import new_run

TRIALS = [{"initial_learn_rate": lr} for lr in (0.1, 0.01, 0.001)]


def test_a_sweep_keeps_its_spec_and_trials_and_its_runs_are_found_by_it(store: Store) -> None:
    sweep = store.create_sweep(name="lr", spec={"metric": "val_loss"}, trials=TRIALS)
    assert (sweep.status, sweep.next_trial, sweep.group) == ("running", 0, f"sweep-{sweep.id}")
    assert sweep.trials == TRIALS and sweep.spec == {"metric": "val_loss"}
    first = new_run(store, group=sweep.group, sweep=(sweep.id, 0))
    second = new_run(store, group=sweep.group, sweep=(sweep.id, 1))
    new_run(store)  # not a trial
    assert [r.id for r in store.list_runs(sweep_id=sweep.id)] == [second.id, first.id]
    assert first.to_json()["sweep_id"] == sweep.id and second.sweep_trial == 1
    again = store.get_sweep(sweep.id)
    assert again is not None and again.next_trial == 2
    stopped = store.update_sweep(sweep.id, status="stopped", message="by request", ended_at=5.0)
    assert stopped is not None and (stopped.status, stopped.ended_at) == ("stopped", 5.0)
    assert store.list_sweeps(status=["running"]) == []
    assert [s.id for s in store.list_sweeps()] == [sweep.id]
    assert store.update_sweep(sweep.id + 100, status="stopped") is None


def test_a_trial_becomes_a_run_once(store: Store) -> None:
    sweep = store.create_sweep(name=None, spec={}, trials=TRIALS)
    new_run(store, sweep=(sweep.id, 0))
    with pytest.raises(ValueError, match="not the next one"):
        new_run(store, sweep=(sweep.id, 0))
    with pytest.raises(ValueError, match="not the next one"):
        new_run(store, sweep=(sweep.id, 2))
    assert len(store.list_runs(sweep_id=sweep.id)) == 1  # the refused ones left nothing


def test_a_deleted_trial_run_leaves_the_sweep_as_it_was(store: Store) -> None:
    sweep = store.create_sweep(name=None, spec={}, trials=TRIALS)
    run = new_run(store, sweep=(sweep.id, 0))
    assert store.delete_run(run.id)
    again = store.get_sweep(sweep.id)
    assert again is not None and again.next_trial == 1
