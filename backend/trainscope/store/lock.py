"""One server per data directory: an exclusive `flock` on `<data_dir>/server.lock`, held for
the server's life.

The kernel drops the lock when the process ends, however it ends (SIGKILL, a crash), so a
stale lock file never blocks a restart. The file holds who has it (pid, host, port, since)
for the message a second server prints. The descriptor is not inherited by the server's
worker processes (Python opens files non-inheritable), so a worker that outlives its server
does not keep the directory locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

LOCK_NAME = "server.lock"


class DataDirLocked(Exception):
    """Another process holds the data directory's lock."""

    def __init__(self, data_dir: Path, holder: dict[str, Any]) -> None:
        self.data_dir = data_dir
        self.holder = holder
        if holder:
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
            who = (
                f"pid {holder.get('pid')} on host {holder.get('host')}, serving "
                f"http://{holder.get('bind')}:{holder.get('port')} since {since}"
            )
        else:
            who = "a process that has not yet written who it is (starting right now)"
        super().__init__(
            f"the data directory {data_dir} is in use by another trainscope server: {who}. "
            "Two servers on one directory would write the same database and mark each other's "
            "running runs interrupted. Stop that server first, or give this one a directory "
            f"of its own: trainscope serve --data-dir OTHER_DIR (or TRAINSCOPE_DATA_DIR=OTHER_DIR)"
        )


class DataDirLock:
    """Held from `acquire` until `release` (or the process's end)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path, *, bind: str, port: int) -> DataDirLock:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLocked(data_dir, read_holder(data_dir)) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "bind": bind,
            "port": port,
            "since": time.time(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # nobody holds it: no stale name in the file
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def read_holder(data_dir: Path) -> dict[str, Any]:
    """Who wrote the lock file last: {} when nobody (or it is being written)."""
    try:
        found = json.loads((data_dir / LOCK_NAME).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def is_locked(data_dir: Path) -> bool:
    """Whether a server holds the data directory now (tries the lock without keeping it)."""
    path = data_dir / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases it if we got it
    return False
