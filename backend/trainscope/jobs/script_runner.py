"""Worker side: run a user's entry point (DESIGN §8) as a process of its own and report it.

The worker that takes a script job does not train; it babysits. It hands the launch to a warm
child interpreter (script_child.py, which has already imported torch), then turns what the child
does into the run's events, through the same `emit` the engine uses:

- stdout and stderr → `LogLines` (the run's console), batched every LOG_FLUSH_S;
- stdout lines that read like metrics (`loss: 0.31`, `| epoch 3 | lr 0.1 |`, …) → `Point`s, until
  the script attaches through `trainscope.init()`; from then on its own `run.log` calls are the
  curves (one source, never the same loss twice);
- `run.log` batches arrive on a pipe the child inherited (TRAINSCOPE_ATTACH_FD): no server
  address and no token ever reach the child;
- the exit → a final `Status`: `completed`, `stopped` (after a stop request, however it ended),
  `failed` with the exit code or signal and the last lines of stderr.

Stop, gently first (docs/own-code.md): a stop file the SDK's `run.should_stop` sees; then SIGINT
(KeyboardInterrupt, which well-written scripts catch to save and end); after the launch's grace
period SIGTERM; KILL_AFTER_S later SIGKILL, each to the child's whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

from trainscope.entrypoints.stdout_metrics import StdoutParser
from trainscope.jobs.job import SCRIPT_ASK_S, SCRIPT_KILL_AFTER_S, Job, ScriptLaunch
from trainscope.schemas.events import Event, LogLines, Point, Started, Status

LOG_FLUSH_S = 0.05  # console lines reach the browser this often at most
LOG_BATCH = 500  # or sooner, when this many are waiting
MAX_LINE = 8_192  # characters kept of one line (a runaway progress bar has no newline)
POLL_S = 0.02
ASK_S = SCRIPT_ASK_S  # an attached script gets this long to see run.should_stop before SIGINT
KILL_AFTER_S = SCRIPT_KILL_AFTER_S  # SIGTERM → SIGKILL
STDERR_TAIL = 12  # lines of stderr quoted in a failed run's message
# Points read off stdout wait this long before they are emitted: a script that attaches through
# trainscope.init() says so first, and whatever it printed meanwhile is not a second curve.
HOLD_S = 0.25
# Never handed to user code: the server's credentials and settings (docs/security.md).
SERVER_ONLY_ENV = ("TRAINSCOPE_",)


def child_base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_ONLY_ENV)}
    env["PYTHONUNBUFFERED"] = "1"  # lines reach the console as printed, not per 8 KB
    return env


class WarmChild:
    """One interpreter waiting for a launch; started ahead so that a run starts in milliseconds."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.attach_fd = read_fd
        self.child_attach_fd = write_fd
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "trainscope.jobs.script_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_base_env(),
            pass_fds=(write_fd,),
            start_new_session=True,  # its own process group: a stop signals all it started
            close_fds=True,
        )
        os.close(write_fd)  # the child's copy is the only writer: EOF when it exits

    def alive(self) -> bool:
        return self.proc.poll() is None

    def launch(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.close()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.attach_fd)


_spare: WarmChild | None = None


def _take_child() -> WarmChild:
    """The spare interpreter when there is a healthy one, else a new one."""
    global _spare
    child = _spare if _spare is not None and _spare.alive() else WarmChild()
    _spare = None
    return child


def _start_spare() -> None:
    """The next script run on this worker starts warm. Started once a run has ended, not while
    it trains: importing torch takes seconds of CPU that the run would lose."""
    global _spare
    if _spare is None or not _spare.alive():
        _spare = WarmChild()


def discard_spare() -> None:
    global _spare
    if _spare is not None:
        _spare.discard()
        _spare = None


class _Console:
    """Lines of both streams, batched into LogLines events; the stderr tail kept for a failure."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._pending: dict[Literal["stdout", "stderr"], list[str]] = {}
        self._order: list[str] = []
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)

    def add(self, stream: Literal["stdout", "stderr"], line: str) -> None:
        with self._lock:
            if stream == "stderr":
                self.stderr_tail.append(line)
            if not self._order or self._order[-1] != stream:
                self._order.append(stream)
                self._pending.setdefault(stream, [])
            self._pending.setdefault(stream, []).append(line)
            full = sum(len(v) for v in self._pending.values()) >= LOG_BATCH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending, self._order = self._pending, {}, []
        now = time.time()
        for stream, lines in pending.items():
            if lines:
                self._emit(LogLines(stream, lines, now))


def _lines(pipe: IO[bytes]) -> Any:
    """Yield (text, final): a line ends at \\n; a segment ending at \\r is a progress bar's
    redraw (tqdm), yielded as not final so the console can keep only the latest one."""
    buffer = b""
    while True:
        chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
        if not chunk:
            if buffer:
                yield buffer.decode("utf-8", "replace")[:MAX_LINE], True
            return
        buffer += chunk
        while True:
            cut = min((i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                if len(buffer) > MAX_LINE * 4:  # no newline at all: cut it anyway
                    yield buffer.decode("utf-8", "replace")[:MAX_LINE], True
                    buffer = b""
                break
            segment, end, buffer = buffer[:cut], buffer[cut : cut + 1], buffer[cut + 1 :]
            if end == b"\r" and buffer.startswith(b"\n"):
                end, buffer = b"\n", buffer[1:]
            text = segment.decode("utf-8", "replace")[:MAX_LINE]
            if text or end == b"\n":
                yield text, end == b"\n"


class _Points:
    """One seq for both sources of points (stdout lines, then the SDK once attached)."""

    def __init__(self, emit: Callable[[Event], None], first_seq: int) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self.seq = first_seq
        self.iteration = 0
        self.epoch = 1
        self.attached = False
        self._held: deque[tuple[float, dict[str, float], int | None, int | None, float]] = deque()

    def hold(self, values: dict[str, float], step: int | None, epoch: int | None) -> None:
        """A stdout point, emitted after HOLD_S unless the script attached meanwhile."""
        now = time.time()
        with self._lock:
            self._held.append((time.monotonic() + HOLD_S, values, step, epoch, now))

    def release(self, everything: bool = False) -> None:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._held or (not everything and self._held[0][0] > now):
                    return
                _, values, step, epoch, wall = self._held.popleft()
                if self.attached:
                    self._held.clear()
                    return
            self.add(values, step, epoch, wall)

    def add(
        self, values: dict[str, float], step: int | None, epoch: int | None, wall: float
    ) -> None:
        with self._lock:
            if epoch is not None and epoch >= 1:
                self.epoch = epoch  # `Epoch 3` alone on a line holds for the points after it
            if not values:
                return
            # Iterations only go forward: a step that restarts each epoch (a batch index) would
            # fold the curve back on itself.
            forward = step is not None and step > self.iteration
            self.iteration = step if forward and step is not None else self.iteration + 1
            self.seq += 1
            self._emit(Point(self.seq, self.iteration, self.epoch, wall, values))


def _read_stream(
    pipe: IO[bytes],
    stream: Literal["stdout", "stderr"],
    console: _Console,
    points: _Points,
    metrics: StdoutParser,
) -> None:
    progress: str | None = None
    for text, final in _lines(pipe):
        if not final:
            progress = text  # the latest redraw; shown when the line ends or the bar stops
            continue
        if progress is not None and not text:
            text = progress
        progress = None
        console.add(stream, text)
        if stream == "stdout" and not points.attached:
            found = metrics.parse(text)
            if found is not None:
                points.hold(found.values, found.iteration, found.epoch)
    if progress:
        console.add(stream, progress)


def _read_attach(fd: int, points: _Points, state: dict[str, Any]) -> None:
    """The SDK's `run.log` batches, as JSON lines (sdk/attached.py writes them)."""
    with open(fd, "rb", closefd=True) as pipe:
        for raw in pipe:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            kind = message.get("type")
            if kind == "points":
                points.attached = True
                for step, epoch, wall, values in message["rows"]:
                    # float("NaN") and float("Infinity") undo the sink's JSON-safe strings.
                    points.add({k: float(v) for k, v in values.items()}, step, epoch, wall)
            elif kind == "hello":
                points.attached = True
            elif kind == "finish":
                state["finish"] = message


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _ended(rc: int, stop_requested: bool, console: _Console, state: dict[str, Any]) -> Status:
    if stop_requested:
        return Status("stopped")
    if rc == 0:
        finish = state.get("finish") or {}
        if finish.get("status") == "failed":  # run.finish("failed", ...) then exit 0
            return Status("failed", message=finish.get("message") or "the script said it failed")
        return Status("completed")
    if rc < 0:
        try:
            reason = f"killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            reason = f"killed by signal {-rc}"
    else:
        reason = f"exited with code {rc}"
    tail = "\n".join(line for line in console.stderr_tail if line.strip())
    return Status("failed", message=f"{reason}\n{tail}" if tail else reason)


def run_script(
    job: Job,
    emit: Callable[[Event], None],
    should_stop: Callable[[], bool],
    device: str = "cpu",
    extra_env: dict[str, str] | None = None,
) -> None:
    """Worker side: run `job.script` to its end; a final Status always comes last."""
    launch: ScriptLaunch = job.script  # type: ignore[assignment]
    run_dir = Path(job.run_dir)
    stop_file = run_dir / "stop-requested"
    stop_file.unlink(missing_ok=True)
    child = _take_child()
    env = {
        **(extra_env or {}),
        **dict(launch.env),
        "TRAINSCOPE_RUN_ID": str(job.run_id),
        "TRAINSCOPE_ATTACH_FD": str(child.child_attach_fd),
        "TRAINSCOPE_STOP_FILE": str(stop_file),
        "TRAINSCOPE_ARGS": launch.args_json,
    }
    console = _Console(emit)
    points = _Points(emit, first_seq=job.persisted_seq or 0)
    metrics = StdoutParser(launch.metric_patterns, options=json.loads(launch.args_json))
    state: dict[str, Any] = {}
    emit(
        Started(
            device=device,
            task="script",
            n_train=0,
            n_val=0,
            n_test=0,
            iterations_per_epoch=0,
            max_iterations=0,
            num_parameters=0,
        )
    )
    child.launch(
        {
            "kind": launch.kind,
            "target": launch.target,
            "argv": list(launch.argv),
            "args": json.loads(launch.args_json),
            "cwd": launch.cwd,
            "env": env,
        }
    )
    proc = child.proc
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(
            target=_read_stream, args=(pipe, name, console, points, metrics), daemon=True
        )
        for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))
    ]
    readers.append(
        threading.Thread(target=_read_attach, args=(child.attach_fd, points, state), daemon=True)
    )
    for reader in readers:
        reader.start()
    stop_at: float | None = None
    signalled: list[tuple[signal.Signals, float]] = []
    try:
        while proc.poll() is None:
            time.sleep(POLL_S)
            console.flush()
            points.release()
            now = time.monotonic()
            if stop_at is None and should_stop():
                stop_at = now
                stop_file.touch()
            if stop_at is None:
                continue
            last = signalled[-1][0] if signalled else None
            since = now - (signalled[-1][1] if signalled else stop_at)
            if last is None and (not points.attached or since >= ASK_S):
                signalled.append((signal.SIGINT, now))
            elif last is signal.SIGINT and since >= launch.stop_grace_s:
                signalled.append((signal.SIGTERM, now))
            elif last is signal.SIGTERM and since >= KILL_AFTER_S:
                signalled.append((signal.SIGKILL, now))
            else:
                continue
            _signal_group(proc, signalled[-1][0])
    except BaseException:
        _signal_group(proc, signal.SIGKILL)  # the worker is going down: take the script along
        raise
    finally:
        rc = proc.wait()
        # What the script started and left behind (DataLoader workers, a stray server) goes too.
        _signal_group(proc, signal.SIGKILL)
        for reader in readers:
            reader.join(timeout=5)
        points.release(everything=True)
        console.flush()
        stop_file.unlink(missing_ok=True)
        _start_spare()
    emit(_ended(rc, stop_at is not None, console, state))
