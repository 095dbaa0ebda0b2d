"""`ExecutorCore` under a third executor, written here as small as its docstring says it can be:
each job a real Python script in its own process group, its stdout lines read live. Stops
escalate as a script executor's will: SIGINT (the ask), SIGTERM after the grace period, then
SIGKILL. The local and Ray executors are tested on the same core in their own modules."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.jobs.conftest import Collector
from trainscope.jobs import STOPPED_BEFORE_START, Job
from trainscope.jobs.executor_core import ExecutorCore, Seat
from trainscope.jobs.messages import Control, Message, RunEvent
from trainscope.schemas.events import Point, Status

TERM_WAIT_S = 0.5  # SIGTERM to SIGKILL


@dataclass(eq=False)
class Script(Seat):
    job: Job
    popen: subprocess.Popen[str]
    lines: queue.SimpleQueue[str | None] = field(default_factory=queue.SimpleQueue)
    eof: bool = False
    points: int = 0

    def current(self) -> Job:
        return self.job


class ScriptExecutor(ExecutorCore[Script]):
    """Runs `<run_dir>/train.py`; a stdout line `loss=<v>` is a point, the rest is output."""

    kind = "script"
    shutdown_extra_s = 10.0

    def __init__(self, grace_s: float) -> None:
        super().__init__(grace_s)
        self._scripts: list[Script] = []
        self._woken = threading.Event()
        self.output: dict[int, list[str]] = {}

    def _seats(self) -> Iterable[Script]:
        return self._scripts

    def _prepare(self) -> None:
        pass

    def _wake(self) -> None:
        self._woken.set()

    def _extra_deadlines(self, now: float) -> Iterable[float]:
        # Its output's end can come a moment before the process can be reaped: look again soon.
        return [now + 0.05] if any(s.eof for s in self._scripts) else []

    def _wait(self, timeout: float | None) -> None:
        self._woken.wait(timeout)
        self._woken.clear()

    def _collect(self, ready: None, out: list[RunEvent]) -> None:
        for script in list(self._scripts):
            run_id = script.job.run_id
            messages: list[Message] = []
            while not script.lines.empty():
                line = script.lines.get()
                if line is None:
                    script.eof = True
                elif line.startswith("loss="):
                    script.points += 1
                    n, loss = script.points, float(line[5:])
                    messages.append((run_id, Point(n, n, 0, 0.0, {"loss": loss})))
                else:
                    self.output.setdefault(run_id, []).append(line)
            self._route(script, messages, out)
            if script.eof and script.popen.poll() is not None:
                self._scripts.remove(script)
                if not script.run_ended:
                    code = script.popen.returncode
                    status = (
                        Status("stopped", message=script.killed_for)
                        if script.killed_for
                        else Status("completed" if code == 0 else "failed")
                    )
                    out.append((run_id, status))

    def _control(self, seat: Script, message: Control, out: list[RunEvent]) -> None:
        pass  # a script sends no control messages

    def _advance(self, now: float, out: list[RunEvent]) -> None:
        while self._queue and not self._scripts and not self._closing:  # one at a time
            job = self._queue.popleft()
            popen = subprocess.Popen(
                [sys.executable, "-u", str(Path(job.run_dir) / "train.py")],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            script = Script(job=job, popen=popen)
            threading.Thread(target=self._read, args=(script,), daemon=True).start()
            self._scripts.append(script)
        if self._closing and not self._scripts:
            self._finished = True

    def _read(self, script: Script) -> None:
        assert script.popen.stdout is not None
        for line in script.popen.stdout:
            script.lines.put(line.rstrip("\n"))
            self._wake()
        script.lines.put(None)
        self._wake()

    def _ask_stop(self, seat: Script) -> None:
        os.killpg(seat.popen.pid, signal.SIGINT)

    def _alive(self, seat: Script) -> bool:
        return seat.popen.poll() is None

    def _kill(self, seat: Script) -> float | None:
        if seat.kills == 0:
            os.killpg(seat.popen.pid, signal.SIGTERM)
            return TERM_WAIT_S
        os.killpg(seat.popen.pid, signal.SIGKILL)
        return None


STUBBORN = """
import signal, sys, time
def say(signum, frame):
    print("got", signal.Signals(signum).name, flush=True)
signal.signal(signal.SIGINT, say)
signal.signal(signal.SIGTERM, say)
for i in range(100000):
    print(f"loss={1 / (i + 1)}", flush=True)
    time.sleep(0.05)
"""

QUICK = """
for i in range(3):
    print(f"loss={i}")
print("done")
"""


def script_job(tmp_path: Path, run_id: int, source: str) -> Job:
    run_dir = tmp_path / f"run-{run_id}"
    run_dir.mkdir()
    (run_dir / "train.py").write_text(source)
    return Job(run_id=run_id, spec_json="{}", run_dir=str(run_dir), data_dir=str(tmp_path))


def test_a_script_that_ignores_sigint_and_sigterm_is_killed_in_steps(tmp_path: Path) -> None:
    executor, collector = ScriptExecutor(grace_s=0.5), Collector()
    executor.start(collector)
    try:
        executor.submit(script_job(tmp_path, 1, STUBBORN))
        collector.wait_point(1, timeout=30)  # read live, while the script runs
        asked = time.monotonic()
        assert executor.stop(1)
        status = collector.wait_status(1, timeout=30)
        took = time.monotonic() - asked
    finally:
        executor.shutdown(grace_s=2.0)
    assert status == Status("stopped", message="killed after 0.5 s grace period")
    assert executor.output[1] == ["got SIGINT", "got SIGTERM"]
    assert 0.5 + TERM_WAIT_S <= took < 10
    assert len(collector.threads) == 1  # one executor thread delivers everything


def test_a_queued_script_stopped_before_it_starts_never_runs(tmp_path: Path) -> None:
    executor, collector = ScriptExecutor(grace_s=0.5), Collector()
    executor.start(collector)
    try:
        executor.submit(script_job(tmp_path, 1, QUICK))
        executor.submit(script_job(tmp_path, 2, QUICK))
        assert executor.stop(2)
        first = collector.wait_status(1, timeout=30)
        second = collector.wait_status(2, timeout=30)
    finally:
        executor.shutdown(grace_s=2.0)
    assert first == Status("completed")
    assert [e.values["loss"] for e in collector.events(1) if isinstance(e, Point)] == [0, 1, 2]
    assert executor.output[1] == ["done"]
    assert second == Status("stopped", message=STOPPED_BEFORE_START)
    assert 2 not in executor.output and not executor.stop(2)
