"""A run's console: the stdout and stderr lines of a user's script (DESIGN §8), kept per run.

Files in the run's folder (`runs/<id>/console/`), next to its checkpoints, so that they travel
with it (backups, the data volume shared by a Ray cluster) and go when it is deleted. Size-capped
with both ends kept: the first HEAD_BYTES as they came (how it started: arguments, warnings), and
the newest TAIL_BYTES (where it is now, the traceback it died with); lines in between are dropped
whole, and a reader is told how many.

Each line is a JSON array `[n, stream, text]`: `n` counts the run's lines from 1 and never
repeats, so a reader asks for `after=n` and misses nothing that was kept.

Writes come from one thread (the pipeline's); reads from request threads see whole lines only
(a line is written with one `write` of its own, and a partly written last line is skipped).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Stream = Literal["stdout", "stderr"]
HEAD_BYTES = 1_000_000
TAIL_BYTES = 4_000_000
SEGMENT_BYTES = 500_000  # the tail is segments of about this size; the oldest goes first
_CODES = {"stdout": "o", "stderr": "e"}
_NAMES = {"o": "stdout", "e": "stderr"}


@dataclass
class _Cursor:
    next_n: int = 1
    head_bytes: int = 0
    segment: int = 0  # the tail segment written to now (0: none yet)
    segment_bytes: int = 0


def _last_n(path: Path) -> int:
    """The line number of the last whole line of `path` (0 when none)."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65536))
        lines = f.read().splitlines()
    for raw in reversed(lines):
        try:
            return int(json.loads(raw)[0])
        except (ValueError, IndexError, TypeError):
            continue
    return 0


class ConsoleLogs:
    def __init__(self, run_dir_of: Any) -> None:
        """`run_dir_of(run_id) -> Path`: where a run's files live (Settings.run_dir)."""
        self._run_dir_of = run_dir_of
        self._cursors: dict[int, _Cursor] = {}
        self._lock = threading.Lock()

    def _folder(self, run_id: int) -> Path:
        folder: Path = self._run_dir_of(run_id) / "console"
        return folder

    @staticmethod
    def _segments(folder: Path) -> list[Path]:
        return sorted(folder.glob("tail-*.jsonl"), key=lambda p: int(p.stem.split("-")[1]))

    def _cursor(self, run_id: int) -> _Cursor:
        cursor = self._cursors.get(run_id)
        if cursor is None:
            # First write since this server started (a resumed run): carry on after the files.
            folder = self._folder(run_id)
            cursor = _Cursor()
            head = folder / "head.jsonl"
            if head.exists():
                cursor.head_bytes = head.stat().st_size
                cursor.next_n = _last_n(head) + 1
            segments = self._segments(folder) if folder.exists() else []
            if segments:
                last = segments[-1]
                cursor.segment = int(last.stem.split("-")[1])
                cursor.segment_bytes = last.stat().st_size
                cursor.next_n = max(cursor.next_n, _last_n(last) + 1)
            self._cursors[run_id] = cursor
        return cursor

    def append(self, run_id: int, stream: Stream, lines: list[str]) -> list[dict[str, Any]]:
        """Keep `lines`; returns them as readers get them ({n, stream, text})."""
        out: list[dict[str, Any]] = []
        with self._lock:
            cursor = self._cursor(run_id)
            folder = self._folder(run_id)
            folder.mkdir(parents=True, exist_ok=True)
            code = _CODES[stream]
            encoded: list[bytes] = []
            for text in lines:
                n = cursor.next_n
                cursor.next_n += 1
                out.append({"n": n, "stream": stream, "text": text})
                encoded.append((json.dumps([n, code, text], ensure_ascii=False) + "\n").encode())
            kept = 0
            if cursor.head_bytes < HEAD_BYTES:
                with (folder / "head.jsonl").open("ab") as f:
                    while kept < len(encoded) and cursor.head_bytes < HEAD_BYTES:
                        f.write(encoded[kept])
                        cursor.head_bytes += len(encoded[kept])
                        kept += 1
            for data in encoded[kept:]:
                if cursor.segment == 0 or cursor.segment_bytes >= SEGMENT_BYTES:
                    cursor.segment += 1
                    cursor.segment_bytes = 0
                    self._drop_old_segments(folder)
                with (folder / f"tail-{cursor.segment}.jsonl").open("ab") as f:
                    f.write(data)
                cursor.segment_bytes += len(data)
        return out

    def _drop_old_segments(self, folder: Path) -> None:
        segments = self._segments(folder)
        total = sum(p.stat().st_size for p in segments)
        while segments and total > TAIL_BYTES - SEGMENT_BYTES:
            oldest = segments.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)

    def read(self, run_id: int, after: int = 0, limit: int = 10_000) -> dict[str, Any]:
        """Lines with n > `after`, oldest first, at most `limit`; `next`: the `after` to ask
        with next time; `skipped`: lines dropped between the two kept ends."""
        folder = self._folder(run_id)
        files = [folder / "head.jsonl", *self._segments(folder)] if folder.exists() else []
        lines: list[dict[str, Any]] = []
        last_head = 0
        first_tail: int | None = None
        for i, path in enumerate(files):
            if not path.exists():
                continue
            with path.open("rb") as f:
                for raw in f:
                    if not raw.endswith(b"\n"):
                        break  # being written: the next read gets it
                    n, code, text = json.loads(raw)
                    if i == 0:
                        last_head = n
                    elif first_tail is None:
                        first_tail = n
                    if n > after and len(lines) < limit:
                        lines.append({"n": n, "stream": _NAMES[code], "text": text})
        skipped = 0 if first_tail is None else max(0, first_tail - last_head - 1)
        next_n = lines[-1]["n"] if lines else after
        return {"lines": lines, "next": next_n, "skipped": skipped}

    def forget(self, run_id: int) -> None:
        with self._lock:
            self._cursors.pop(run_id, None)
