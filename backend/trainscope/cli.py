"""`trainscope` command line: `train` (headless), `serve` (the server), `submit` (a client),
`import` (TensorBoard logs and CSV files as runs).

Never imports torch at module level: `trainscope --help` must be instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from trainscope.cli_data import DataError
from trainscope.cli_data import add_commands as add_data_commands
from trainscope.version import __version__

if TYPE_CHECKING:
    from trainscope.schemas.events import Event, Started
    from trainscope.schemas.spec import RunSpec

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_STOPPED = 0, 1, 2, 3, 130


class InputError(Exception):
    """Bad input from the user: printed as one message, never as a traceback."""


def load_spec(path: Path) -> RunSpec:
    from pydantic import ValidationError

    from trainscope.schemas.datasets import DATASET_NAMES
    from trainscope.schemas.errors import format_validation_error
    from trainscope.schemas.model import LAYER_TYPES
    from trainscope.schemas.spec import RunSpec

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    try:
        return RunSpec.model_validate(raw)
    except ValidationError as exc:
        problems = format_validation_error(exc, RunSpec, tags=(*DATASET_NAMES, *LAYER_TYPES))
        raise InputError(
            f"{path}: not a valid run spec:\n" + "\n".join(f"  - {p}" for p in problems)
        ) from None


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A one-line progress bar on a terminal; a line per epoch when output is not a terminal."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self.started: Started | None = None
        self.t0 = time.monotonic()
        self.first_iteration = 0
        self.last_draw = 0.0
        self.values: dict[str, float] = {}
        self.iteration = 0
        self.epoch = 0

    def begin(self, started: Started) -> None:
        self.started = started
        self.first_iteration = started.resumed_from_iteration
        self.t0 = time.monotonic()
        if not self.quiet:
            print(
                f"training on {started.device}: {started.n_train} train / {started.n_val} "
                f"validation / {started.n_test} test samples, {started.num_parameters:,} "
                f"parameters, {started.iterations_per_epoch} iterations per epoch",
                file=self.stream,
            )

    def point(self, iteration: int, epoch: int, values: dict[str, float]) -> None:
        self.values.update(values)
        self.iteration, self.epoch = iteration, epoch
        if self.quiet or self.started is None:
            return
        now = time.monotonic()
        if self.tty and now - self.last_draw >= 0.1:
            self.last_draw = now
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()
        elif (
            not self.tty
            and "train_loss" in values
            and iteration % self.started.iterations_per_epoch == 0
        ):
            # In a log file: one line at the end of each epoch.
            print(self.line(), file=self.stream)

    def line(self) -> str:
        assert self.started is not None
        s, v = self.started, self.values
        parts = [
            f"epoch {self.epoch}/{s.max_iterations // s.iterations_per_epoch}",
            f"iter {self.iteration}/{s.max_iterations}",
        ]
        if "train_loss" in v:
            parts.append(f"loss {v['train_loss']:.4g}")
        if "train_accuracy" in v:
            parts.append(f"acc {100 * v['train_accuracy']:.1f}%")
        if "train_rmse" in v:
            parts.append(f"rmse {v['train_rmse']:.4g}")
        if "val_accuracy" in v:
            parts.append(f"val acc {100 * v['val_accuracy']:.1f}%")
        elif "val_rmse" in v:
            parts.append(f"val rmse {v['val_rmse']:.4g}")
        if "learn_rate" in v:
            parts.append(f"lr {v['learn_rate']:.3g}")
        done = self.iteration - self.first_iteration
        elapsed = time.monotonic() - self.t0
        if done > 0:
            eta = elapsed / done * (s.max_iterations - self.iteration)
            parts.append(f"ETA {_fmt_duration(eta)}")
        return "  ".join(parts)

    def end(self) -> None:
        if self.tty and not self.quiet and self.started is not None:
            self.stream.write("\r" + self.line() + "\033[K\n")


def _paths_from_cwd(spec: RunSpec) -> RunSpec:
    """On the command line a relative dataset path means the current directory, as in any
    shell command (the engine itself resolves relative paths against the data directory)."""
    path = getattr(spec.dataset, "path", None)
    if (
        spec.dataset is not None
        and isinstance(path, str)
        and not Path(path).expanduser().is_absolute()
    ):
        dataset = spec.dataset.model_copy(update={"path": str(Path(path).expanduser().resolve())})
        return spec.model_copy(update={"dataset": dataset})
    return spec


def cmd_train(args: argparse.Namespace) -> int:
    from trainscope.config import Settings

    spec = _paths_from_cwd(load_spec(Path(args.spec)))
    settings = Settings()
    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    run_dir = Path(args.run_dir) if args.run_dir else None
    if args.resume and run_dir is None:
        raise InputError("--resume needs --run-dir, the directory holding checkpoint.pt")

    # torch is imported only now, after the spec is known to be valid.
    from trainscope.engine.loop import train
    from trainscope.schemas.events import Artefact, Point, Started, Status

    out: TextIO | None = None
    if args.out:
        try:
            out = open(args.out, "a" if args.resume else "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"--out {args.out}: {exc.strerror}") from None
    progress = Progress(sys.stderr, args.quiet)
    artefacts: dict[str, dict[str, Any]] = {}
    n_points = 0
    final: dict[str, float] = {}
    history = History()  # for the doctor's reading at the end
    info: dict[str, Any] = {}

    def emit(event: Event) -> None:
        nonlocal n_points
        if isinstance(event, Point):
            n_points += 1
            final.update(event.values)
            history.add(event.iteration, event.epoch, event.values)
            progress.point(event.iteration, event.epoch, event.values)
            if out is not None:
                out.write(json.dumps(event.to_json()) + "\n")
        elif isinstance(event, Started):
            progress.begin(event)
            info.update(dataclasses.asdict(event))
        elif isinstance(event, Artefact):
            artefacts[event.name] = event.data

    stop_requested = False

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        if stop_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        stop_requested = True
        print("\nstopping after this iteration (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    t0 = time.monotonic()
    try:
        status: Status = train(
            spec,
            emit,
            lambda: stop_requested,
            data_dir=data_dir,
            run_dir=run_dir,
            resume=args.resume,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.end()
        if out is not None:
            out.close()
    elapsed = time.monotonic() - t0

    if run_dir is not None and artefacts:
        art_dir = run_dir / "artefacts"
        art_dir.mkdir(parents=True, exist_ok=True)
        for name, data in artefacts.items():
            (art_dir / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    _summary(status, final, n_points, elapsed, args.out, run_dir)
    _print_findings(spec, status, history, info)
    return {
        "completed": EXIT_OK,
        "diverged": EXIT_DIVERGED,
        "stopped": EXIT_STOPPED,
    }.get(status.status, EXIT_FAILED)


class History:
    """Every point, for the doctor's reading at the end. `add` runs once per iteration inside
    the training loop's emit, so it only appends; the columns are built once, at the end."""

    def __init__(self) -> None:
        self._rows: list[tuple[int, int, dict[str, float]]] = []

    def add(self, iteration: int, epoch: int, values: dict[str, float]) -> None:
        self._rows.append((iteration, epoch, values))

    def columns(self) -> tuple[list[int], list[int], dict[str, list[float | None]]]:
        """(iterations, epochs, values by metric with None where a point lacks one), as the
        store gives them."""
        names = dict.fromkeys(name for _, _, values in self._rows for name in values)
        return (
            [it for it, _, _ in self._rows],
            [ep for _, ep, _ in self._rows],
            {name: [values.get(name) for _, _, values in self._rows] for name in names},
        )


SEVERITY_MARK = {"critical": "!!", "warning": "! ", "info": "i ", "ok": "ok"}


def _print_findings(spec: RunSpec, status: Any, history: History, info: dict[str, Any]) -> None:
    """The doctor's reading of the run, as the dashboard would show it."""
    from trainscope.doctor import Curves, RunContext, diagnose

    curves = Curves.from_columns(*history.columns(), info)
    context = RunContext(
        options=spec.options,
        kind=spec.kind,
        ended=True,
        status=status.status,
        finish_reason=status.finish_reason,
        layers=tuple(info.get("layers") or ()),
    )
    findings = diagnose(curves, context)
    if not findings:
        return
    print("doctor:", file=sys.stderr)
    for f in findings:
        where = f" at iteration {f.iteration}" if f.iteration is not None else ""
        mark = SEVERITY_MARK.get(f.severity, "  ")
        print(f"  {mark} {f.code}{where}: {f.message}", file=sys.stderr)
        if f.patch:
            fix = f.fix or "restart with"
            print(f"     fix: {fix}  {json.dumps(f.patch)}", file=sys.stderr)


def _summary(
    status: Any,
    final: dict[str, float],
    n_points: int,
    elapsed: float,
    out: str | None,
    run_dir: Path | None,
) -> None:
    line = f"{status.status}"
    if status.finish_reason:
        line += f" ({status.finish_reason})"
    line += f" after {status.iteration} iterations in {_fmt_duration(elapsed)}"
    if status.message and status.status != "completed":
        line += f": {status.message}"
    print(line, file=sys.stderr)
    shown = [
        f"{k} {100 * v:.2f}%" if k.endswith("accuracy") else f"{k} {v:.4g}"
        for k, v in final.items()
        if k.startswith(("test_", "val_"))
    ]
    if shown:
        print("  " + "  ".join(shown), file=sys.stderr)
    if out:
        print(f"  {n_points} points written to {out}", file=sys.stderr)
    if run_dir is not None:
        print(f"  checkpoints and artefacts in {run_dir}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from trainscope.cli_data import prepare_serve
    from trainscope.config import Settings
    from trainscope.web.app import create_app

    overrides: dict[str, Any] = {"host": args.host}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.entrypoint:
        overrides["entrypoints"] = args.entrypoint
    if args.entrypoints_file:
        overrides["entrypoints_file"] = Path(args.entrypoints_file)
    settings = Settings(**overrides)
    # Held until this process ends: the lock on the data directory, and the store the server
    # uses (already checked, and recording this server as its runs' owner).
    lock, store = prepare_serve(settings, bind=args.host, port=args.port)
    print(
        f"trainscope {__version__} on http://{args.host}:{args.port}  "
        f"(data in {settings.data_dir}, {settings.executor} workers)",
        file=sys.stderr,
    )
    if settings.allowed_host_set() is None and not settings.api_token:
        print(
            f"WARNING: serving on {args.host} with no API token: anyone who can reach this "
            "machine can start runs and read every run. Set TRAINSCOPE_API_TOKEN "
            "(see docs/security.md).",
            file=sys.stderr,
        )
    import logging

    # Launches of user code are logged whatever the log level (docs/security.md).
    audit = logging.getLogger("trainscope.audit")
    audit.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s audit: %(message)s"))
    audit.addHandler(handler)
    try:
        uvicorn.run(
            create_app(settings, store=store),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
        )
    finally:
        lock.release()
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    import os

    from trainscope.client import (
        SubmitError,
        follow_sweep,
        is_sweep,
        submit,
        submit_entrypoint,
    )
    from trainscope.entrypoints.cli_args import ArgPairError, parse_arg_pairs

    token = args.token or os.environ.get("TRAINSCOPE_API_TOKEN")
    if args.entrypoint is not None:
        if args.spec is not None:
            raise InputError("give a spec file or --entrypoint NAME, not both")
        try:
            values = parse_arg_pairs(args.arg)
            run = submit_entrypoint(args.entrypoint, values, args.url, token)
        except (ArgPairError, SubmitError) as exc:
            raise InputError(str(exc)) from None
        return _submitted_run(args, run, token)
    if args.arg:
        raise InputError("--arg sets an entry point's option: use it with --entrypoint NAME")
    if args.spec is None:
        raise InputError("give a run spec file, a sweep file, or --entrypoint NAME")
    if is_sweep(Path(args.spec)):
        try:
            sweep = submit(Path(args.spec), args.url, token)
            where = f"{args.url.rstrip('/')}/sweeps/{sweep['id']}"
            trials = sweep["trials_total"]
            print(f"sweep {sweep['id']} {sweep['status']} ({trials} trials): {where}")
            if not args.follow:
                return EXIT_OK
            sweep = follow_sweep(args.url, sweep, token)
        except SubmitError as exc:
            raise InputError(str(exc)) from None
        print(f"sweep {sweep['status']}", file=sys.stderr)
        return EXIT_OK if sweep["status"] == "completed" else EXIT_STOPPED
    try:
        run = submit(Path(args.spec), args.url, token)
    except SubmitError as exc:
        raise InputError(str(exc)) from None
    return _submitted_run(args, run, token)


def _submitted_run(args: argparse.Namespace, run: dict[str, Any], token: str | None) -> int:
    from trainscope.client import FINAL, SubmitError, follow

    print(f"run {run['id']} {run['status']}: {args.url.rstrip('/')}/runs/{run['id']}")
    if not args.follow:
        return EXIT_OK
    try:
        run = follow(args.url, run, token)
    except SubmitError as exc:
        raise InputError(str(exc)) from None
    status = run["status"]
    line = status + (f" ({run['finish_reason']})" if run.get("finish_reason") else "")
    if run.get("message") and status != "completed":
        line += f": {run['message']}"
    print(line, file=sys.stderr)
    assert status in FINAL
    return {"completed": EXIT_OK, "diverged": EXIT_DIVERGED, "stopped": EXIT_STOPPED}.get(
        status, EXIT_FAILED
    )


def cmd_import(args: argparse.Namespace) -> int:
    """`trainscope import tensorboard LOGDIR | csv FILE`: read every file first, then record
    the runs (integrations/imports.py); bad input is one line and exit code 2."""
    import os

    from trainscope.integrations.imports import ImportProblem, run_imports

    url = args.url if args.url is not None else os.environ.get("TRAINSCOPE_URL") or None
    try:
        if args.source == "tensorboard":
            from trainscope.integrations.tb_import import read_logdir

            runs, skipped = read_logdir(args.path)
            if skipped:
                print(
                    f"trainscope: {skipped} tags that are not scalars (images, histograms, "
                    "text) were skipped",
                    file=sys.stderr,
                )
        else:
            from trainscope.integrations.csv_import import read_csv

            runs = [read_csv(args.path, args.name)]
        if args.name and len(runs) > 1:
            raise InputError(f"--name names one run, but {args.path} holds {len(runs)}")
        if args.name:
            runs[0].name = args.name
        return run_imports(runs, url, args.token, args.data_dir)
    except ImportProblem as exc:
        raise InputError(str(exc)) from None


def _add_import_command(sub: Any) -> None:
    i = sub.add_parser(
        "import", help="bring old runs in: TensorBoard logs or CSV files (docs/integrations.md)"
    )
    kinds = i.add_subparsers(dest="source", required=True)
    tb = kinds.add_parser(
        "tensorboard", help="tfevents files: one run per run directory under LOGDIR"
    )
    tb.add_argument("path", metavar="LOGDIR", help="the folder TensorBoard was pointed at")
    c = kinds.add_parser(
        "csv", help="one CSV file (Lightning's CSVLogger metrics.csv, or any) as one run"
    )
    c.add_argument("path", metavar="FILE")
    for p in (tb, c):
        p.add_argument(
            "--url",
            default=None,
            help="a trainscope server (default $TRAINSCOPE_URL; without one: the local store)",
        )
        p.add_argument("--token", default=None, help="the server's API token")
        p.add_argument(
            "--data-dir",
            help="local mode: the data directory (default $TRAINSCOPE_DATA_DIR or ~/.trainscope)",
        )
        p.add_argument("--name", help="the run's name (one run only)")
        p.set_defaults(func=cmd_import)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainscope", description="Live training curves for PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"trainscope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a run spec headless, with a progress bar")
    t.add_argument("spec", help="run spec JSON file (see examples/)")
    t.add_argument("--out", help="write every point as a JSON line to this file")
    t.add_argument(
        "--data-dir", help="datasets cache (default $TRAINSCOPE_DATA_DIR or ~/.trainscope)"
    )
    t.add_argument("--run-dir", help="write checkpoints (every epoch), model.pt and artefacts here")
    t.add_argument("--resume", action="store_true", help="continue from --run-dir/checkpoint.pt")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("serve", help="the dashboard, REST API and websockets, with local workers")
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data-dir", help="database, datasets, checkpoints (default ~/.trainscope)")
    s.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    s.add_argument(
        "--entrypoint",
        action="append",
        metavar="NAME=TARGET",
        help="register your own training code: NAME=path/to/train.py (argparse) or "
        "NAME=package.module:function (a pydantic model parameter); repeatable",
    )
    s.add_argument(
        "--entrypoints-file",
        metavar="TOML",
        help="entry points with their folder, roles and metric patterns (docs/own-code.md)",
    )
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("submit", help="submit a run spec (or a sweep file) to a server")
    m.add_argument(
        "spec", nargs="?", help="run spec JSON file, or a sweep file (with base and space)"
    )
    m.add_argument(
        "--entrypoint", metavar="NAME", help="run a registered entry point instead of a spec"
    )
    m.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="an entry point's option value (JSON where it reads as JSON); repeatable",
    )
    m.add_argument("--url", default="http://127.0.0.1:8000", help="the server")
    m.add_argument("--follow", "-f", action="store_true", help="print progress until it ends")
    m.add_argument(
        "--token", help="the server's API token (default: $TRAINSCOPE_API_TOKEN)", default=None
    )
    m.set_defaults(func=cmd_submit)
    _add_import_command(sub)
    add_data_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (InputError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
