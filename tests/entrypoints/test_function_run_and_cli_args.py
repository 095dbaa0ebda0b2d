"""Running a function entry point through its model, and `--arg NAME=VALUE` from a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trainscope.entrypoints.cli_args import ArgPairError, parse_arg_pairs

from .conftest import HERE


def run_child(target: str, args: object, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "args.json"
    file.write_text(json.dumps(args))
    return subprocess.run(
        [sys.executable, "-m", "trainscope.entrypoints.function_run", target, str(file)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_function_gets_its_model_and_runs(tmp_path: Path) -> None:
    proc = run_child("fnpkg.train_fn:train", {"lr": 0.3, "epochs": 2}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["epoch 1 loss: 0.3", "epoch 2 loss: 0.15"]


def test_the_model_refuses_bad_values_with_each_named(tmp_path: Path) -> None:
    proc = run_child("fnpkg.train_fn:train", {"lr": 0, "optimizer": "x"}, tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "args.lr: must be greater than 0 (got 0)" in proc.stderr
    assert "args.optimizer: must be 'sgd' or 'adam' (got 'x')" in proc.stderr
    proc = run_child("fnpkg.train_fn:not_a_model", {}, tmp_path)
    assert proc.returncode == 1 and "not annotated with a pydantic model" in proc.stderr
    proc = run_child("fnpkg.train_fn:train", [1, 2], tmp_path)
    assert proc.returncode == 1 and "must be a JSON object" in proc.stderr


def test_arg_pairs() -> None:
    assert parse_arg_pairs(
        ["lr=0.1", "layers=[64, 32]", "optimizer=adam", "dry_run=true", 'name="3"', "lr=0.2"]
    ) == {"lr": 0.2, "layers": [64, 32], "optimizer": "adam", "dry_run": True, "name": "3"}
    assert parse_arg_pairs(["path=a=b"]) == {"path": "a=b"}
    with pytest.raises(ArgPairError, match="expected NAME=VALUE"):
        parse_arg_pairs(["lr"])
