"""LocalExecutor with one real, spawned worker, shared by these tests (it takes seconds to warm)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.conftest import LONG, Collector, MakeJob, spec_json, wait_ready
from trainscope.jobs import STOPPED_BEFORE_START, Job, LocalExecutor
from trainscope.schemas.events import (
    Artefact,
    CheckpointSaved,
    Point,
    Started,
    Status,
)

# Real spawned workers that train.
pytestmark = pytest.mark.slow

Fixture = tuple[LocalExecutor, Collector]


@pytest.fixture
def idle(one_slot: Fixture) -> Iterator[Fixture]:
    """The shared executor, with its worker ready and nothing queued or running."""
    executor, collector = one_slot
    wait_ready(executor, 1)
    yield executor, collector
    # Whatever a failed test left running must not hold up the next one.
    for run_id in [*executor.snapshot()["queued"], *executor.snapshot()["busy"]]:
        executor.stop(run_id)


def pid_of(executor: LocalExecutor) -> int:
    pid = executor.snapshot()["workers"][0]["pid"]
    assert pid is not None
    return pid


def test_a_run_streams_started_points_artefact_then_completed(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    job = make_job()
    executor.submit(job)
    status = collector.wait_status(job.run_id)
    assert status.status == "completed" and status.finish_reason == "max-epochs"

    events = collector.events(job.run_id)
    assert isinstance(events[0], Started) and events[0].max_iterations == 18
    assert events[-1] == status
    seqs = [e.seq for e in events if isinstance(e, Point)]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 19  # 18 + the test point
    assert [e.name for e in events if isinstance(e, Artefact)] == ["confusion_matrix"]
    assert any(isinstance(e, CheckpointSaved) for e in events)
    assert (Path(job.run_dir) / "model.pt").exists()
    # Every batch came from the one executor thread.
    assert len(collector.threads) == 1


def test_with_one_slot_runs_go_first_in_first_out(idle: Fixture, make_job: MakeJob) -> None:
    executor, collector = idle
    first, second = make_job(), make_job()
    executor.submit(first)
    executor.submit(second)
    assert executor.snapshot()["queued"][-1] == second.run_id
    assert collector.wait_status(second.run_id).status == "completed"
    assert collector.wait_status(first.run_id).status == "completed"
    assert collector.index_of(second.run_id, Started) > collector.index_of(first.run_id, Status)


def test_stopping_a_running_run_checkpoints_and_reports_stopped(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    job = make_job(spec_json(**LONG))
    executor.submit(job)
    collector.wait_point(job.run_id)
    asked = time.monotonic()
    assert executor.stop(job.run_id)
    status = collector.wait_status(job.run_id, timeout=10)
    took = time.monotonic() - asked
    assert status.status == "stopped" and status.message == "stopped on request"
    assert took < 2.0, f"stop took {took:.2f} s"
    assert (Path(job.run_dir) / "checkpoint.pt").exists()
    assert executor.stop(job.run_id) is False  # over: nothing left to stop


def test_a_stopped_run_resumes_under_the_same_id(idle: Fixture, make_job: MakeJob) -> None:
    executor, collector = idle
    job = make_job(spec_json(max_epochs=100))
    executor.submit(job)
    collector.wait_point(job.run_id)
    executor.stop(job.run_id)
    stopped = collector.wait_status(job.run_id)
    assert stopped.status == "stopped", stopped

    # Same run id: the stop meant for the first attempt must not end the second one.
    mark = len(collector)
    executor.submit(Job(job.run_id, job.spec_json, job.run_dir, job.data_dir, resume=True))
    status = collector.wait_status(job.run_id, since=mark)
    assert status.status == "completed", status
    events = collector.events(job.run_id, since=mark)
    assert isinstance(events[0], Started)
    assert events[0].resumed_from_iteration == stopped.iteration > 0
    first = next(e for e in events if isinstance(e, Point))
    assert first.iteration == stopped.iteration + 1


def test_stopping_a_queued_run_removes_it_before_it_starts(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    running, queued = make_job(spec_json(**LONG)), make_job()
    executor.submit(running)
    executor.submit(queued)
    collector.wait_point(running.run_id)
    assert executor.snapshot()["queued"] == [queued.run_id]

    assert executor.stop(queued.run_id)
    status = collector.wait_status(queued.run_id, timeout=5)
    assert status == Status("stopped", message=STOPPED_BEFORE_START)
    assert collector.events(queued.run_id) == [status]
    assert executor.snapshot()["queued"] == []
    assert executor.stop(queued.run_id) is False

    executor.stop(running.run_id)
    assert collector.wait_status(running.run_id).status == "stopped"
    assert executor.stop(10**9) is False  # never heard of


def test_a_bad_spec_fails_its_run_and_the_worker_carries_on(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    pid = pid_of(executor)
    for spec in ["{not json", '{"dataset": {"name": "no-such-data"}}']:
        bad = make_job(spec)
        executor.submit(bad)
        status = collector.wait_status(bad.run_id)
        assert status.status == "failed"
        assert status.message is not None and status.message.startswith("invalid run spec")

    good = make_job()
    executor.submit(good)
    assert collector.wait_status(good.run_id).status == "completed"
    assert pid_of(executor) == pid  # the same worker process served all three


def test_a_warm_worker_streams_the_first_point_quickly(idle: Fixture, make_job: MakeJob) -> None:
    executor, collector = idle
    job = make_job(spec_json(max_epochs=1), run_id=None)
    submitted = time.monotonic()
    executor.submit(job)
    latency = collector.wait_point(job.run_id) - submitted
    print(f"\nsubmit → first point on a warm worker: {latency * 1000:.1f} ms")
    assert latency < 5.0
    collector.wait_status(job.run_id)


def test_a_worker_killed_mid_run_fails_that_run_and_is_replaced(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    # One sample per mini-batch: the first epoch (and its checkpoint) is seconds away.
    long_epoch = json.loads(spec_json(mini_batch_size=1, **LONG))
    long_epoch["dataset"]["num_samples"] = 3000
    job = make_job(json.dumps(long_epoch))
    executor.submit(job)
    collector.wait_point(job.run_id)
    pid = pid_of(executor)
    os.kill(pid, signal.SIGKILL)

    status = collector.wait_status(job.run_id, timeout=10)
    assert not (Path(job.run_dir) / "checkpoint.pt").exists()
    # Nothing to resume from: the run failed (restart it).
    assert status.status == "failed"
    assert status.message is not None
    assert status.message.startswith("worker process died (exit code -9)"), status.message
    assert collector.events(job.run_id)[-1] == status  # nothing after the verdict

    after = make_job()
    executor.submit(after)  # waits in the queue while the replacement warms up
    assert collector.wait_status(after.run_id, timeout=60).status == "completed"
    assert pid_of(executor) != pid


def test_a_worker_killed_after_a_checkpoint_leaves_its_run_interrupted_and_resumable(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle
    job = make_job(spec_json(max_epochs=200))  # 1200 iterations, a checkpoint every 6
    executor.submit(job)
    collector.wait_for(
        lambda: any(isinstance(e, CheckpointSaved) for e in collector.events(job.run_id)),
        60,
        "the first checkpoint",
    )
    os.kill(pid_of(executor), signal.SIGKILL)

    status = collector.wait_status(job.run_id, timeout=10)
    assert status.status == "interrupted", status
    assert status.message is not None
    assert status.message.startswith("worker process died (exit code -9)"), status.message
    assert status.message.endswith("resume continues from its checkpoint")
    saved = [e for e in collector.events(job.run_id) if isinstance(e, CheckpointSaved)]

    mark = len(collector)
    executor.submit(Job(job.run_id, job.spec_json, job.run_dir, job.data_dir, resume=True))
    resumed = collector.wait_status(job.run_id, timeout=60, since=mark)
    assert resumed.status == "completed", resumed
    events = collector.events(job.run_id, since=mark)
    assert isinstance(events[0], Started)
    # From the last checkpoint the server heard of (or a later one written as it died).
    assert events[0].resumed_from_iteration >= saved[-1].iteration > 0
    first = next(e for e in events if isinstance(e, Point))
    assert first.iteration == events[0].resumed_from_iteration + 1


def test_a_run_whose_events_on_events_refuses_is_stopped(idle: Fixture, make_job: MakeJob) -> None:
    executor, collector = idle
    job = make_job(spec_json(**LONG))
    collector.refuse.add(job.run_id)  # as when the database refuses every batch of the run
    executor.submit(job)
    status = collector.wait_status(job.run_id, timeout=10)
    assert status.status == "stopped" and status.message == "stopped on request"


def test_a_worker_that_ignores_a_stop_is_killed_after_the_grace_period(
    idle: Fixture, make_job: MakeJob
) -> None:
    executor, collector = idle  # grace_s=2 (see the one_slot fixture)
    job = make_job(spec_json(**LONG))
    executor.submit(job)
    collector.wait_point(job.run_id)
    pid = pid_of(executor)
    os.kill(pid, signal.SIGSTOP)  # frozen: it cannot see the stop, let alone answer it
    try:
        asked = time.monotonic()
        assert executor.stop(job.run_id)
        status = collector.wait_status(job.run_id, timeout=10)
        took = time.monotonic() - asked
    finally:
        with contextlib.suppress(ProcessLookupError):  # in case it was not killed after all
            os.kill(pid, signal.SIGCONT)
    assert status == Status("stopped", message="killed after 2 s grace period")
    assert 1.9 < took < 5.0, took

    after = make_job()
    executor.submit(after)
    assert collector.wait_status(after.run_id, timeout=60).status == "completed"
    assert pid_of(executor) != pid
