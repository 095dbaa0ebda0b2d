"""How fast does `trainscope import tensorboard` bring a logdir in?

A logdir of --scalars scalars (default 100,000) written by `torch.utils.tensorboard`: --runs
run directories (default 2), each with 5 tags a step (`train/loss`, `lr` new-style, i.e. stored
as a tensor, and `add_scalars("loss", {"train", "val"})`'s two sibling directories, `acc`).
Then, each timed on its own:

1. reading it (`read_logdir`: tensorboard's event accumulator, unlimited size guidance);
2. building the points (`to_rows`);
3. recording the runs read (`run_imports`) in-process into the local store (a fresh data
   directory) and into a real `trainscope serve` (over REST, 2,000 points a request);
4. the real console script end to end (`trainscope import tensorboard LOGDIR --url`), interpreter
   start and imports included.

    python benchmarks/tb_import.py [--scalars 100000] [--runs 2]

Prints a table and writes benchmarks/results/tb_import.json (scalars/s for each).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TAGS_PER_STEP = 5


def write_logdir(logdir: Path, scalars: int, runs: int) -> None:
    from torch.utils.tensorboard import SummaryWriter

    steps = scalars // (TAGS_PER_STEP * runs)
    for r in range(runs):
        with SummaryWriter(str(logdir / f"run{r}"), max_queue=1000) as w:
            for s in range(steps):
                w.add_scalar("train/loss", 1.0 / (s + 1), s)
                w.add_scalar("lr", 0.1, s, new_style=True)
                w.add_scalars("loss", {"train": 1.0 / (s + 1), "val": 2.0 / (s + 1)}, s)
                w.add_scalar("acc", s / steps, s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scalars", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    from stream_latency import start_server
    from trainscope.integrations.imports import run_imports, to_rows
    from trainscope.integrations.tb_import import read_logdir

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        logdir = root / "logs"
        write_logdir(logdir, args.scalars, args.runs)
        size_mb = sum(p.stat().st_size for p in logdir.rglob("*") if p.is_file()) / 1e6

        read_s, (runs, _) = timed(lambda: read_logdir(logdir))
        n = sum(r.scalars for r in runs)
        rows_s, rows = timed(lambda: [to_rows(r.series) for r in runs])
        points = sum(map(len, rows))

        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet, contextlib.redirect_stderr(io.StringIO()):
            local_s, _ = timed(lambda: run_imports(runs, None, None, str(root / "data")))

        port = free_port()
        server = start_server(root / "server", port, workers=1)
        url = f"http://127.0.0.1:{port}"
        try:
            with quiet, contextlib.redirect_stderr(io.StringIO()):
                server_s, _ = timed(lambda: run_imports(runs, url, None, None))
            # The console script into a second, empty server-side store: a fresh logdir path so
            # it is not skipped as imported before.
            logdir.rename(root / "logs2")
            exe = Path(sys.executable).parent / "trainscope"
            cli_s, done = timed(
                lambda: subprocess.run(
                    [str(exe), "import", "tensorboard", str(root / "logs2"), "--url", url],
                    capture_output=True,
                    text=True,
                )
            )
            assert done.returncode == 0, done.stderr
        finally:
            server.terminate()
            server.wait(30)
    load_end = os.getloadavg()

    result: dict[str, Any] = {
        "scalars": n,
        "points": points,
        "runs": len(runs),
        "logdir_mb": round(size_mb, 1),
        "read_s": read_s,
        "to_rows_s": rows_s,
        "local_import_s": local_s,
        "server_import_s": server_s,
        "cli_end_to_end_s": cli_s,
        "scalars_per_s": {
            "read": n / read_s,
            "record_local": n / local_s,
            "record_server": n / server_s,
            "cli_end_to_end": n / cli_s,
        },
        "load_average": {"start": load_start[0], "end": load_end[0]},
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"{n:,} scalars in {len(runs)} runs ({points:,} points, {size_mb:.1f} MB of tfevents)")
    print(f"{'phase':<44}{'seconds':>10}{'scalars/s':>14}")
    table = [
        ("read (event accumulator)", read_s),
        ("points built (to_rows)", rows_s),
        ("recording, in-process, local store", local_s),
        ("recording, in-process, real server", server_s),
        ("`trainscope import tensorboard --url` (CLI)", cli_s),
    ]
    for label, s in table:
        print(f"{label:<44}{s:>10.2f}{n / s:>14,.0f}")
    print(f"load average {load_start[0]:.1f} → {load_end[0]:.1f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tb_import.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
