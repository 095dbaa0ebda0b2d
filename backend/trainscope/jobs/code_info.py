"""What a user's code was when a run started (DESIGN §8): its content hash and, in a git
repository, the commit and the uncommitted diff. Here because it runs `git` (a process)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

MAX_DIFF_BYTES = 200_000  # a diff larger than this is recorded as its size only
GIT_TIMEOUT_S = 5.0


def content_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git here, or a repository too slow to ask: the hash still says it
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def code_info(files: list[Path], folder: Path) -> dict[str, Any]:
    """{"sha256", "git_commit", "git_dirty", "git_diff"?}; git fields null outside a repo."""
    info: dict[str, Any] = {
        "sha256": content_hash([f for f in files if f.is_file()]),
        "git_commit": None,
        "git_dirty": False,
    }
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return info
    info["git_commit"] = commit.strip()
    diff = _git(folder, "diff", "HEAD", "--", ".") or ""
    info["git_dirty"] = bool(diff)
    if diff:
        size = len(diff.encode())
        info["git_diff"] = diff if size <= MAX_DIFF_BYTES else f"({size:,} bytes of diff)"
    return info
