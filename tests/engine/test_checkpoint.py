"""Checkpoint files: a worker killed at any instant of a save still leaves a run to resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from trainscope.data_layout import CHECKPOINT_NAME, EPOCH_CHECKPOINTS, PREVIOUS_NAME, has_checkpoint
from trainscope.engine import checkpoint
from trainscope.engine.checkpoint import load_checkpoint, save_checkpoint


def test_the_newest_checkpoint_exists_between_every_two_steps_of_a_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint({"seq": 1, "w": torch.zeros(3)}, path, keep_previous=True)

    # A SIGKILL can land between any two file-system calls: at each, the run must still have a
    # checkpoint.pt (the server's "interrupted, resumable" rests on that file alone).
    seen: list[bool] = []
    real_replace, real_link = os.replace, os.link

    def replace(src: Any, dst: Any) -> None:
        seen.append(path.exists())
        real_replace(src, dst)

    def link(src: Any, dst: Any) -> None:
        seen.append(path.exists())
        real_link(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", replace)
    monkeypatch.setattr(checkpoint.os, "link", link)
    save_checkpoint({"seq": 25, "w": torch.ones(3)}, path, keep_previous=True)
    assert seen and all(seen), seen
    assert path.exists()

    assert load_checkpoint(path)["seq"] == 25
    assert load_checkpoint(tmp_path / PREVIOUS_NAME)["seq"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [PREVIOUS_NAME, CHECKPOINT_NAME]


def test_a_run_directory_with_only_the_previous_checkpoint_can_resume(tmp_path: Path) -> None:
    assert not has_checkpoint(tmp_path)
    save_checkpoint({"seq": 1}, tmp_path / PREVIOUS_NAME)
    assert has_checkpoint(tmp_path)


def test_what_a_kill_mid_save_left_is_removed_and_the_checkpoints_are_kept(tmp_path: Path) -> None:
    save_checkpoint({"seq": 1}, tmp_path / CHECKPOINT_NAME, keep_previous=True)
    save_checkpoint({"seq": 9}, tmp_path / CHECKPOINT_NAME, keep_previous=True)
    epochs = tmp_path / EPOCH_CHECKPOINTS
    epochs.mkdir()
    (epochs / "epoch-0001.pt").write_bytes(b"whole")
    # What a SIGKILL inside save_checkpoint / _link_over leaves behind.
    partial = [
        tmp_path / "checkpoint.ptab12cd.tmp",
        tmp_path / f"{PREVIOUS_NAME}.tmp",
        epochs / "epoch-0002.pt.tmp",
    ]
    for path in partial:
        path.write_bytes(b"half")
    (tmp_path / "notes.tmp").write_bytes(b"not ours")

    checkpoint.remove_partial_writes(tmp_path)

    assert not any(p.exists() for p in partial)
    assert (tmp_path / "notes.tmp").exists()  # only the checkpoint writers' names
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["seq"] == 9
    assert load_checkpoint(tmp_path / PREVIOUS_NAME)["seq"] == 1
    assert (epochs / "epoch-0001.pt").read_bytes() == b"whole"
