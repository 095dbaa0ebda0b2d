"""The argparse probe, run in a child on real scripts: what it records, and what it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trainscope.entrypoints.probe import ScriptProbe
from trainscope.jobs.probe_runner import ProbeError, child_environment, probe_script

from .conftest import SCRIPTS


def test_records_every_action_and_runs_no_training(
    toplevel_probe: ScriptProbe, tmp_path: Path
) -> None:
    probe = toplevel_probe
    by = {a.dest: a for a in probe.actions}
    assert list(by) == [
        "lr", "epochs", "batch_size", "optimizer", "dry_run", "shuffle", "augment", "layers",
        "tag", "verbose", "schedule", "seed", "resume", "device", "mode", "data",
    ]  # fmt: skip
    assert "help" not in by  # -h is no option of a run
    assert by["lr"].option_strings == ["--lr", "--learning-rate"] and by["lr"].type == "float"
    assert by["lr"].default == 0.01 and by["lr"].help == "learning rate"
    # argparse converts a string default through type=: the script sees 3, not "3".
    assert by["epochs"].default == 3 and by["epochs"].help == "epochs (default: 3)"
    assert by["optimizer"].choices == ["sgd", "adam"]
    assert (by["dry_run"].kind, by["dry_run"].default) == ("store_true", False)
    assert (by["shuffle"].kind, by["shuffle"].default) == ("store_false", True)
    assert by["augment"].kind == "boolean_optional"
    assert by["augment"].option_strings == ["--augment", "--no-augment"]
    assert (by["layers"].nargs, by["layers"].default) == ("+", [32, 16])
    assert by["tag"].kind == "append" and by["verbose"].kind == "count"
    assert by["schedule"].type == "schedule"  # the callable's name
    assert by["resume"].type == "Path"
    assert (by["mode"].kind, by["mode"].const, by["mode"].default) == (
        "store_const",
        "fast",
        "slow",
    )
    assert by["data"].option_strings == [] and by["data"].nargs == "?"
    assert probe.description == "Train a tiny model." and probe.method == "parse_args"
    # The script writes a marker file right after parsing: the probe stopped before it.
    assert not (SCRIPTS / "trained.marker").exists()


def test_main_behind_the_guard_with_parse_known_args(main_probe: ScriptProbe) -> None:
    by = {a.dest: a for a in main_probe.actions}
    assert main_probe.method == "parse_known_args" and main_probe.prog == "train_main"
    assert by["data_dir"].required and by["data_dir"].option_strings == []
    assert by["sizes"].nargs == 2 and by["sizes"].type == "int"
    assert by["out"].required and by["learning_rate"].default == 5e-5


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("crash_at_import.py", "No module named 'a_module_that_does_not_exist'"),
        ("no_args.py", "ended without calling ArgumentParser.parse_args"),
        ("exits_early.py", "exited (code 'no GPU here') before it parsed"),
    ],
)
def test_a_script_that_cannot_be_probed_says_why(script: str, reason: str) -> None:
    with pytest.raises(ProbeError) as info:
        probe_script(SCRIPTS / script)
    assert reason in str(info.value)
    if script == "crash_at_import.py":
        # The traceback starts in the user's script, not in the probe or runpy.
        assert f'{script}", line 5' in str(info.value) and "runpy" not in str(info.value)


def test_missing_script_and_timeout(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such script"):
        probe_script(tmp_path / "nope.py")
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import time, argparse\ntime.sleep(30)\nargparse.ArgumentParser().parse_args()\n"
    )
    with pytest.raises(ProbeError, match="no answer within 1 s"):
        probe_script(slow, timeout_s=1)


def test_the_child_gets_no_trainscope_settings(tmp_path: Path) -> None:
    spy = tmp_path / "spy.py"
    spy.write_text(
        "import argparse, os\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--seen', default=os.environ.get('TRAINSCOPE_API_TOKEN', 'none'))\n"
        "p.add_argument('--cwd', default=os.getcwd())\n"
        "p.parse_args()\n"
    )
    backend = str(Path(__file__).parents[2] / "backend")
    env = {"TRAINSCOPE_API_TOKEN": "secret", "PATH": "/usr/bin:/bin", "PYTHONPATH": backend}
    probe = probe_script(spy, env=env)
    by = {a.dest: a for a in probe.actions}
    assert by["seen"].default == "none"
    assert by["cwd"].default == str(tmp_path)  # it runs in the script's folder by default
    assert child_environment({"TRAINSCOPE_URL": "x", "HOME": "/h"}) == {"HOME": "/h"}


def test_probe_module_on_stdout_keeps_script_prints_out_of_the_json() -> None:
    script = SCRIPTS / "no_args.py"
    proc = subprocess.run(
        [sys.executable, "-m", "trainscope.entrypoints.argparse_probe", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout.startswith('{"kind": "failure"') and "step 0 loss" in proc.stderr
