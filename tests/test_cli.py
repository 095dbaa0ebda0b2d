"""`trainscope train` as a person runs it: the real console script, in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from trainscope.schemas.spec import RunSpec

from .support import console_script

ROOT = Path(__file__).resolve().parents[1]
# Sweep files (a base RunSpec and a space) are examples too, but not run specs.
SWEEPS = sorted((ROOT / "examples").rglob("*-sweep.json"))
EXAMPLES = sorted(set((ROOT / "examples").rglob("*.json")) - set(SWEEPS))


def trainscope(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    exe = console_script()
    env = {**os.environ, "TRAINSCOPE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def write(path: Path, spec: dict[str, object]) -> Path:
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=lambda p: p.relative_to(ROOT / "examples").as_posix()
)
def test_every_example_is_a_valid_spec(example: Path) -> None:
    RunSpec.model_validate_json(example.read_text(encoding="utf-8"))


@pytest.mark.parametrize("example", SWEEPS, ids=lambda p: p.name)
def test_every_sweep_example_is_a_valid_sweep_whose_trials_are_valid_specs(example: Path) -> None:
    from trainscope.schemas.overrides import merge_overrides
    from trainscope.sweeps.spec import SweepSpec, check_trials

    sweep = SweepSpec.model_validate_json(example.read_text(encoding="utf-8"))
    assert len(check_trials(sweep, merge_overrides)) == len(sweep.proposals()) > 1


def test_the_tuning_story_examples_exist() -> None:
    rates = sorted(
        RunSpec.model_validate_json(p.read_text()).options.learn_rate
        for p in EXAMPLES
        if "simple-cnn-lr" in p.name
    )
    assert rates == [0.001, 0.01, 0.1]


@pytest.mark.slow
def test_train_the_readme_example(tmp_path: Path) -> None:
    out = tmp_path / "points.jsonl"
    run_dir = tmp_path / "run"
    res = trainscope(
        "train",
        str(ROOT / "examples" / "digits-simple-cnn.json"),
        "--out",
        str(out),
        "--run-dir",
        str(run_dir),
        cwd=tmp_path,
        data_dir=tmp_path / "data",
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "completed (max-epochs)" in res.stderr
    assert "test_accuracy" in res.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    train = [p for p in lines if "train_loss" in p["values"]]
    # 1797 digits − 20 % test − 20 % validation = 1150 training samples; batch 64 → 17 per epoch.
    assert len(train) == 17 * 10
    assert [p["seq"] for p in lines] == list(range(1, len(lines) + 1))
    assert {"seq", "iteration", "epoch", "wall_time", "values"} == set(lines[0])
    assert lines[-1]["values"]["test_accuracy"] > 0.8
    assert (run_dir / "checkpoint.pt").exists() and (run_dir / "model.pt").exists()
    cm = json.loads((run_dir / "artefacts" / "confusion_matrix.json").read_text())
    assert len(cm["counts"]) == 10


def test_bad_options_give_one_message_per_problem_and_no_traceback(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "bad.json",
        {
            "dataset": {"name": "digits"},
            "options": {
                "InitialLearnRate": -0.1,
                "momentum": 1.2,
                "solver": "lbfgs",
                "max_epoch": 3,
            },
        },
    )
    res = trainscope("train", str(spec), cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "options.InitialLearnRate: must be greater than 0 (got -0.1)" in res.stderr
    assert "options.momentum: must be less than 1 (got 1.2)" in res.stderr
    assert "options.solver: must be 'sgdm', 'adam', 'rmsprop', 'sgd' or 'adamw'" in res.stderr
    assert "unknown field 'max_epoch' in options; did you mean 'max_epochs'?" in res.stderr


def test_a_model_that_cannot_fit_the_data_names_the_layer(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "bad.json",
        {
            "dataset": {"name": "spirals"},
            "model": {"preset": "simple-cnn"},
        },
    )
    res = trainscope("train", str(spec), cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 2, res.stderr
    assert "simple-cnn" in res.stderr and "image" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"dataset": ', "not valid JSON"),
        ("[]", "not a valid run spec"),
        ('{"dataset": {"name": "imagenet"}}', "dataset"),
    ],
)
def test_malformed_spec_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(content)
    res = trainscope("train", str(path), cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_spec_file(tmp_path: Path) -> None:
    res = trainscope("train", "nope.json", cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: nope.json: no such file"


@pytest.mark.slow
def test_diverged_run_exits_non_zero_with_one_line_reason(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "hot.json",
        {
            "dataset": {"name": "spirals"},
            "options": {"solver": "sgd", "initial_learn_rate": 1e12, "max_epochs": 2},
        },
    )
    res = trainscope("train", str(spec), "-q", cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 3
    assert "diverged after" in res.stderr
    assert "lower initial_learn_rate" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_failed_run_exits_non_zero_with_one_line_reason(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "f.json", {"dataset": {"name": "file", "path": str(tmp_path / "missing.npz")}}
    )
    res = trainscope("train", str(spec), "-q", cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 1
    assert "failed" in res.stderr and "missing.npz" in res.stderr
    assert "Traceback" not in res.stderr


def test_resume_needs_a_run_dir(tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", {"dataset": {"name": "spirals"}})
    res = trainscope("train", str(spec), "--resume", cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 2
    assert "--resume needs --run-dir" in res.stderr


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_resume_finishes_with_the_same_points(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "s.json",
        {
            "dataset": {"name": "digits"},
            "model": {"preset": "simple-cnn"},
            "options": {
                "max_epochs": 6,
                "mini_batch_size": 32,
                "validation_frequency": 7,
                "shuffle": "every-epoch",
            },
        },
    )
    data = tmp_path / "data"
    whole = tmp_path / "whole.jsonl"
    assert (
        trainscope(
            "train", str(spec), "--out", str(whole), "-q", cwd=tmp_path, data_dir=data
        ).returncode
        == 0
    )

    out, run_dir = tmp_path / "part.jsonl", tmp_path / "run"
    exe = console_script()
    env = {**os.environ, "TRAINSCOPE_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [exe, "train", str(spec), "--out", str(out), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= 40:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped after" in err and "Traceback" not in err

    res = trainscope(
        "train",
        str(spec),
        "--out",
        str(out),
        "--run-dir",
        str(run_dir),
        "--resume",
        "-q",
        cwd=tmp_path,
        data_dir=data,
    )
    assert res.returncode == 0, res.stderr

    def values(path: Path) -> list[tuple[object, ...]]:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        return [(r["seq"], r["iteration"], r["epoch"], r["values"]) for r in rows]

    assert values(out) == values(whole)


@pytest.mark.slow
def test_relative_file_paths_are_taken_from_the_current_directory(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    (tmp_path / "mine").mkdir()
    np.savez(tmp_path / "mine" / "data.npz", X=X, y=y)
    spec = write(
        tmp_path / "s.json",
        {
            "dataset": {"name": "file", "path": "mine/data.npz"},
            "options": {"max_epochs": 2, "mini_batch_size": 20},
        },
    )
    res = trainscope("train", str(spec), "-q", cwd=tmp_path, data_dir=tmp_path / "data")
    assert res.returncode == 0, res.stderr
    assert "test_accuracy" in res.stderr
