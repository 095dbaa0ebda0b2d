"""Worker side: the datasets a worker loaded last, so a restart or a repeat of a run reuses them.

Runs are tuned by restarting them with changed options on the same data, so a worker that keeps
the last few datasets skips a load (seconds for MNIST-size data) on most runs. `load_dataset` is
a pure function of (spec, data_dir), so the dataset spec's JSON is the key; a user's file also
adds its size and modification time, so a replaced file is read again.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from trainscope.engine.datasets import DatasetSplits, load_dataset
from trainscope.schemas.datasets import DatasetSpec, FileSpec

MAX_ENTRIES = 4
MAX_BYTES = 2 << 30  # 2 GiB: a few MNIST-size datasets as float32

CacheKey = tuple[str, str, tuple[int, int] | None]


def _size_of(data: DatasetSplits) -> int:
    splits = [data.train, data.test] + ([data.val] if data.val is not None else [])
    return sum(int(s.X.nbytes) + int(s.y.nbytes) for s in splits)


def _file_stamp(spec: DatasetSpec, data_dir: Path) -> tuple[int, int] | None:
    if not isinstance(spec, FileSpec):
        return None
    # The same resolution as load_file_dataset: absolute, or relative to the data directory.
    stat = (data_dir / Path(spec.path).expanduser()).stat()
    return (stat.st_mtime_ns, stat.st_size)


class DatasetCache:
    """A small LRU of loaded datasets, bounded by count and by bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, tuple[DatasetSplits, int]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, spec: DatasetSpec, data_dir: Path) -> DatasetSplits:
        """The splits of `spec`, loaded now or earlier. Raises what `load_dataset` raises."""
        try:
            key: CacheKey = (str(data_dir), spec.model_dump_json(), _file_stamp(spec, data_dir))
        except OSError:
            return load_dataset(spec, data_dir)  # no such file: let the loader say so
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]
        self.misses += 1
        data = load_dataset(spec, data_dir)
        size = _size_of(data)
        if size <= self.max_bytes:
            self._entries[key] = (data, size)
            self._evict()
        return data

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        total = sum(size for _, size in self._entries.values())
        while self._entries and (len(self._entries) > self.max_entries or total > self.max_bytes):
            _, (_, size) = self._entries.popitem(last=False)
            total -= size
