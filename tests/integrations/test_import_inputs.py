"""`trainscope import` in local mode and on bad input, through the real console script: a plain
CSV and TensorBoard's TF-free writer into a data directory that the real app then serves; a
missing package, a missing or empty directory, damaged files → one line, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import console_script
from ..web.in_process import in_process_server

T0 = 1_700_000_000.0


def trainscope(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINSCOPE_")}
    env["TRAINSCOPE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [console_script(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused import prints (exit code 2, no traceback)."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def tf_free_logs(directory: Path, steps: int = 10) -> Path:
    from tensorboard.summary import Writer

    writer = Writer(str(directory))
    for step in range(steps):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step, wall_time=T0 + step)
    writer.close()
    return next(directory.glob("*tfevents*"))


def test_local_mode_imports_into_the_data_directory_a_server_shows(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tf_free_logs(tmp_path / "logs" / "baseline")
    table = tmp_path / "history.csv"
    table.write_text(
        "epoch,loss,val_loss,val_accuracy,note\n"
        "1,0.9,1.0,0.5,warmup\n"
        "2,0.5,0.7,,\n"
        "3,0.25,0.6,0.75,done\n",
        encoding="utf-8",
    )
    tb = trainscope("import", "tensorboard", str(tmp_path / "logs"), data_dir=data)
    assert tb.returncode == 0, tb.stderr
    assert "imported baseline as run" in tb.stdout
    csv = trainscope("import", "csv", str(table), "--name", "keras history", data_dir=data)
    assert csv.returncode == 0, csv.stderr
    assert "skipped columns that are not numbers: 'note'" in csv.stderr

    with in_process_server(data) as srv, srv.api() as api:
        runs = {r["name"]: r for r in api.get("/api/runs").json()}
        assert set(runs) == {"baseline", "keras history"}
        assert all(r["status"] == "completed" for r in runs.values())
        tb_cols = api.get(f"/api/runs/{runs['baseline']['id']}/metrics").json()
        assert tb_cols["iteration"] == list(range(10))
        assert tb_cols["values"]["train_loss"][3] == 0.25
        assert tb_cols["wall_time"][3] == T0 + 3
        cols = api.get(f"/api/runs/{runs['keras history']['id']}/metrics").json()
        # no step column: the row number is the step; the epoch column gives the epochs
        assert cols["iteration"] == [1, 2, 3] and cols["epoch"] == [1, 2, 3]
        assert cols["values"]["train_loss"] == [0.9, 0.5, 0.25]  # `loss` is training's (§9)
        assert cols["values"]["loss"] == [0.9, 0.5, 0.25]  # the raw name kept
        assert cols["values"]["val_accuracy"] == [0.5, None, 0.75]  # an empty cell: not logged

    # Importing again skips what is there (and says so), in local mode too.
    again = trainscope("import", "csv", str(table), data_dir=data)
    assert again.returncode == 0
    assert "already imported as run" in again.stderr and "0 of 1 runs imported" in again.stderr


def test_bad_tensorboard_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "no such directory" in refused(
        trainscope("import", "tensorboard", str(tmp_path / "nope"), data_dir=data)
    )
    (tmp_path / "empty").mkdir()
    assert "no TensorBoard event files" in refused(
        trainscope("import", "tensorboard", str(tmp_path / "empty"), data_dir=data)
    )
    good = tf_free_logs(tmp_path / "ok")
    assert "not a directory" in refused(
        trainscope("import", "tensorboard", str(good), data_dir=data)
    )

    garbage = tmp_path / "garbage" / "events.out.tfevents.1.host"
    garbage.parent.mkdir()
    garbage.write_bytes(os.urandom(4096))
    assert "corrupt" in refused(
        trainscope("import", "tensorboard", str(garbage.parent), data_dir=data)
    )

    data_bytes = good.read_bytes()
    flipped = tmp_path / "flipped" / good.name
    flipped.parent.mkdir()
    middle = len(data_bytes) // 2
    flipped.write_bytes(
        data_bytes[:middle] + bytes([data_bytes[middle] ^ 0xFF]) + data_bytes[middle + 1 :]
    )
    assert "corrupt" in refused(
        trainscope("import", "tensorboard", str(flipped.parent), data_dir=data)
    )

    cut = tmp_path / "cut" / good.name
    cut.parent.mkdir()
    cut.write_bytes(data_bytes[:-7])  # a writer killed mid-record
    line = refused(trainscope("import", "tensorboard", str(cut.parent), data_dir=data))
    assert "cut short" in line or "corrupt" in line

    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    EventFileWriter(str(tmp_path / "no_scalars")).close()  # a writer that logged nothing
    done = trainscope("import", "tensorboard", str(tmp_path / "no_scalars"), data_dir=data)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "skipped no_scalars: no scalars in it" in done.stderr
    assert "error: nothing to import: no scalars in any run" in done.stderr

    two = tmp_path / "two"
    tf_free_logs(two / "a")
    tf_free_logs(two / "b")
    assert "--name names one run, but" in refused(
        trainscope("import", "tensorboard", str(two), "--name", "x", data_dir=data)
    )

    # A damaged file anywhere in the logdir: nothing of it is imported, not even good runs.
    mixed = tmp_path / "mixed"
    tf_free_logs(mixed / "good")
    (mixed / "bad").mkdir()
    (mixed / "bad" / good.name).write_bytes(data_bytes[:-7])
    refused(trainscope("import", "tensorboard", str(mixed), data_dir=data))
    assert not data.exists() or "good" not in _run_names(data)


def _run_names(data: Path) -> set[str]:
    with in_process_server(data) as srv, srv.api() as api:
        return {r["name"] for r in api.get("/api/runs").json()}


def test_bad_csv_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "no such file" in refused(
        trainscope("import", "csv", str(tmp_path / "nope.csv"), data_dir=data)
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "empty" in refused(trainscope("import", "csv", str(empty), data_dir=data))
    header_only = tmp_path / "header.csv"
    header_only.write_text("step,loss\n", encoding="utf-8")
    assert "no rows" in refused(trainscope("import", "csv", str(header_only), data_dir=data))
    words = tmp_path / "words.csv"
    words.write_text("step,phase\n1,warmup\n2,main\n", encoding="utf-8")
    assert "no metric columns" in refused(trainscope("import", "csv", str(words), data_dir=data))
    steps = tmp_path / "steps.csv"
    steps.write_text("step,loss\n1,0.5\n1.5,0.4\n", encoding="utf-8")
    assert "row 3" in refused(trainscope("import", "csv", str(steps), data_dir=data))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("step,loss\n1,0.5,7\n", encoding="utf-8")
    assert "row 2 has 3 cells" in refused(trainscope("import", "csv", str(ragged), data_dir=data))


def test_without_the_tensorboard_package_it_says_what_to_install(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    tf_free_logs(logs)
    # The console script's own main, in an interpreter where tensorboard cannot be imported.
    code = (
        "import sys; sys.modules['tensorboard'] = None\n"
        "from trainscope.cli import main\n"
        f"sys.exit(main(['import', 'tensorboard', {str(logs)!r}, '--data-dir', "
        f"{str(tmp_path / 'data')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install tensorboard" in refused(done)


@pytest.mark.parametrize("module", ["trainscope", "trainscope.cli"])
def test_tensorboard_is_not_imported_before_an_import_command(module: str) -> None:
    code = f"import sys, {module}; print('tensorboard' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
