"""Server side: run an entry point's probe (entrypoints/argparse_probe, function_probe) in a child.

The server never imports user code (it may import torch, or do anything at import): the probe
runs as `python -m trainscope.entrypoints.<probe> TARGET --out FILE` in its own process group,
no shell, stdin closed, with a timeout (the whole group is killed when it runs out), and an
environment without the server's settings (no TRAINSCOPE_* variable, so no API token). The
answer is the child's JSON, checked by pydantic; any other outcome is a ProbeError whose
message says why in words an operator can act on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from trainscope.entrypoints.probe import FunctionProbe, ProbeFailure, ScriptProbe

PROBE_TIMEOUT_S = 60.0
_STDERR_TAIL = 2000
_SCRIPT_ANSWER: TypeAdapter[ScriptProbe | ProbeFailure] = TypeAdapter(ScriptProbe | ProbeFailure)
_FUNCTION_ANSWER: TypeAdapter[FunctionProbe | ProbeFailure] = TypeAdapter(
    FunctionProbe | ProbeFailure
)


class ProbeError(Exception):
    """The entry point could not be probed; `str(exc)` is the reason."""


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without the server's own settings: no
    TRAINSCOPE_* variable reaches user code (the API token least of all)."""
    env = dict(os.environ if base is None else base)
    return {k: v for k, v in env.items() if not k.startswith("TRAINSCOPE_")}


def _run_probe(
    module: str,
    target: str,
    *,
    cwd: Path | None,
    python: str,
    timeout_s: float,
    env: Mapping[str, str] | None,
) -> str:
    """The probe child's JSON answer (as text); ProbeError when it gave none."""
    with tempfile.TemporaryDirectory(prefix="trainscope-probe-") as tmp:
        out = Path(tmp) / "probe.json"
        argv = [python, "-m", f"trainscope.entrypoints.{module}", target, "--out", str(out)]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=child_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the script's prints go to stderr in the probe
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: a timeout kills all of it
            )
        except OSError as exc:
            raise ProbeError(f"could not start {python}: {exc}") from None
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ProbeError(
                f"{target}: no answer within {timeout_s:g} s (the code does slow work before "
                "it parses its options, e.g. loads data at import?)"
            ) from None
        if out.is_file():
            return out.read_text(encoding="utf-8")
        tail = err.decode("utf-8", "replace")[-_STDERR_TAIL:].strip()
        why = f"exit code {proc.returncode}" if proc.returncode >= 0 else "killed by a signal"
        raise ProbeError(
            f"{target}: the probe ended without an answer ({why})" + (f":\n{tail}" if tail else "")
        )


def probe_script(
    script: str | os.PathLike[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    python: str = sys.executable,
    timeout_s: float = PROBE_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> ScriptProbe:
    """The argparse actions of `script` (run in `cwd`, default its folder); ProbeError with
    the reason when it crashes, exits or ends before parsing, or takes too long."""
    path = Path(script).expanduser().resolve()
    if not path.is_file():
        raise ProbeError(f"no such script: {script}")
    folder = Path(cwd) if cwd is not None else path.parent
    text = _run_probe(
        "argparse_probe", str(path), cwd=folder, python=python, timeout_s=timeout_s, env=env
    )
    return _answer(_SCRIPT_ANSWER, text, str(path))  # type: ignore[return-value]


def probe_function(
    target: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    python: str = sys.executable,
    timeout_s: float = PROBE_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> FunctionProbe:
    """The pydantic schema of `package.module:function`, imported in a child that runs in
    `cwd` (on its sys.path); ProbeError with the reason otherwise."""
    folder = Path(cwd) if cwd is not None else None
    text = _run_probe(
        "function_probe", target, cwd=folder, python=python, timeout_s=timeout_s, env=env
    )
    return _answer(_FUNCTION_ANSWER, text, target)  # type: ignore[return-value]


def _answer(
    adapter: TypeAdapter[ScriptProbe | ProbeFailure] | TypeAdapter[FunctionProbe | ProbeFailure],
    text: str,
    target: str,
) -> ScriptProbe | FunctionProbe:
    try:
        answer = adapter.validate_json(text)
    except ValidationError as exc:
        raise ProbeError(
            f"{target}: the probe's answer is malformed ({exc.error_count()} errors)"
        ) from None
    if isinstance(answer, ProbeFailure):
        raise ProbeError(answer.reason)
    return answer
