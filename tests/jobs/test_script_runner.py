"""A user's script run by a worker (jobs/script_runner.py), with real child processes."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from trainscope.jobs import script_runner
from trainscope.jobs.job import Job, ScriptLaunch
from trainscope.schemas.events import Event, LogLines, Point, Started, Status

SCRIPTS = Path(__file__).parents[1] / "own_code"


def launch(script: str, argv: list[str], args: dict[str, Any], **kw: Any) -> ScriptLaunch:
    return ScriptLaunch(
        kind="script",
        target=str(SCRIPTS / script),
        argv=tuple(argv),
        args_json=json.dumps(args),
        cwd=str(SCRIPTS),
        **kw,
    )


def run(
    tmp_path: Path, how: ScriptLaunch, stop_after_points: int | None = None
) -> tuple[list[Event], float]:
    """Run it to its end; with `stop_after_points`, ask it to stop once it logged that many
    (a stop before the script runs at all is another case). Returns (events, seconds from the
    stop request to the end, or from the start without one)."""
    events: list[Event] = []
    lock = threading.Lock()
    seen = 0

    def emit(event: Event) -> None:
        nonlocal seen
        with lock:
            events.append(event)
            seen += isinstance(event, Point)

    started = time.monotonic()

    def should_stop() -> bool:
        nonlocal started
        if stop_after_points is None or seen < stop_after_points:
            return False
        if started < 1e12:
            started = time.monotonic() + 1e12  # marks the request's time, once
        return True

    job = Job(run_id=7, spec_json="{}", run_dir=str(tmp_path), data_dir=str(tmp_path), script=how)
    script_runner.run_script(job, emit, should_stop)
    end = time.monotonic()
    return events, end - (started - 1e12 if started > 1e12 else started)


def console(events: list[Event], stream: str = "stdout") -> list[str]:
    return [
        line for e in events if isinstance(e, LogLines) and e.stream == stream for line in e.lines
    ]


def points(events: list[Event]) -> list[Point]:
    return [e for e in events if isinstance(e, Point)]


@pytest.fixture(autouse=True)
def _no_spare() -> Any:
    yield
    script_runner.discard_spare()


def test_a_plain_script_gets_its_args_and_its_stdout_becomes_curves(tmp_path: Path) -> None:
    args = {"lr": 0.5, "epochs": 2, "steps_per_epoch": 5, "sleep": 0.0, "seed": 0}
    events, _ = run(tmp_path, launch("plain_train.py", ["--lr", "0.5", "--epochs", "2"], args))
    assert isinstance(events[0], Started)
    final = events[-1]
    assert isinstance(final, Status) and final.status == "completed", final
    lines = console(events)
    assert lines[0] == "training with a learn rate of 0.5" and lines[-1] == "done"
    pts = points(events)
    assert "lr: 0.5  epochs: 2" in lines  # its echo of its options: shown, not a point
    assert len(pts) == 10  # 2 epochs × 5 steps, one point per metric line
    assert [p.seq for p in pts] == list(range(1, 11))
    assert [p.iteration for p in pts] == list(range(1, 11))
    assert [p.epoch for p in pts] == [1] * 5 + [2] * 5
    assert pts[0].values["learn_rate"] == pytest.approx(0.5)
    assert "train_loss" in pts[0].values


def test_an_sdk_script_attaches_to_its_run(tmp_path: Path) -> None:
    events, _ = run(
        tmp_path, launch("sdk_train.py", ["--lr", "0.2", "--steps", "6"], {"lr": 0.2, "steps": 6})
    )
    assert isinstance(events[-1], Status) and events[-1].status == "completed", events[-1]
    assert "config seen by the run: lr=0.2" in console(events)
    pts = points(events)
    # Its run.log calls are the curve; its `loss:` prints are not a second one.
    assert [p.iteration for p in pts] == [1, 2, 3, 4, 5, 6]
    assert pts[1].values["loss"] == pytest.approx(0.5)
    assert pts[-1].values["val_acc"] == pytest.approx(1.0)
    assert pts[0].values["ppl"] != pts[0].values["ppl"]  # NaN survives the trip


def test_stop_reaches_the_scripts_keyboard_interrupt_handler(tmp_path: Path) -> None:
    out = tmp_path / "saved.txt"
    how = launch("plain_train.py", ["--epochs", "1000", "--sleep", "0.01", "--out", str(out)], {})
    events, _ = run(tmp_path, how, stop_after_points=5)
    assert isinstance(events[-1], Status) and events[-1].status == "stopped"
    assert "interrupted: saving and ending cleanly" in console(events)
    assert out.read_text().startswith("saved at step")


def test_an_attached_script_ends_itself_on_should_stop(tmp_path: Path) -> None:
    how = launch("sdk_train.py", ["--steps", "100000", "--sleep", "0.01"], {})
    events, _ = run(tmp_path, how, stop_after_points=5)
    assert isinstance(events[-1], Status) and events[-1].status == "stopped"
    assert "stop requested: ending" in console(events)
    # It ended by itself: no SIGINT reached it.
    assert not any("KeyboardInterrupt" in line for line in console(events, "stderr"))


def test_a_crash_fails_the_run_with_the_traceback(tmp_path: Path) -> None:
    events, _ = run(tmp_path, launch("crash_train.py", [], {}))
    final = events[-1]
    assert isinstance(final, Status) and final.status == "failed"
    assert final.message is not None
    assert final.message.startswith("exited with code 1")
    assert "ValueError: shapes do not match at lr 0.1" in final.message
    assert any("Traceback" in line for line in console(events, "stderr"))
    assert len(points(events)) == 1  # the point before the crash is kept


def test_a_script_that_ignores_signals_is_killed_after_the_grace(tmp_path: Path) -> None:
    how = launch("stubborn_train.py", [], {}, stop_grace_s=0.5)
    old = script_runner.KILL_AFTER_S
    script_runner.KILL_AFTER_S = 0.5
    try:
        events, took = run(tmp_path, how, stop_after_points=1)
    finally:
        script_runner.KILL_AFTER_S = old
    assert isinstance(events[-1], Status) and events[-1].status == "stopped"
    assert took < 10


def test_the_child_gets_no_server_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINSCOPE_API_TOKEN", "s3cret")
    script_runner.discard_spare()  # a spare started before the variable was set would not know
    script = tmp_path / "env_train.py"
    script.write_text("import os\nprint('token:', os.environ.get('TRAINSCOPE_API_TOKEN'))\n")
    how = ScriptLaunch(
        kind="script", target=str(script), argv=(), args_json="{}", cwd=str(tmp_path)
    )
    events, _ = run(tmp_path, how)
    assert "token: None" in console(events)
    assert sys.executable  # the child ran on this interpreter
