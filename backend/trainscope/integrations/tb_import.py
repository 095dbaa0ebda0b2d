"""`trainscope import tensorboard LOGDIR`: TensorBoard event files → trainscope runs, without
TensorFlow (tensorboard's own event accumulator reads them; imported here, never at
`import trainscope` nor in the server).

- A *run directory* is one that holds event files (`*tfevents*`); each becomes one run, named
  by its path under LOGDIR.
- `torch.utils.tensorboard`'s `add_scalars("loss", {"train": ..})` writes the sub-tag into a
  child directory `loss_train` with the tag `loss`: such a child is merged back into its run
  as `loss/train`, the name `trainscope.SummaryWriter` logs it under. `add_hparams` writes a
  child directory (a timestamp, or its `run_name`) holding the hyperparameters and the metric
  dict's scalars: the hyperparameters go into the run's config, the scalars onto its curves.
- Every scalar is read (size guidance 0: unlimited), both the old `simple_value` ones and those
  newer writers store as tensors (`add_scalar(new_style=True)`, `tf.summary`,
  `tensorboard.summary.Writer`). Other data (images, histograms, text) is skipped and counted.
- Steps that a restarted writer logged over are dropped as TensorBoard drops them (its
  accumulator's default), so the curves are the ones TensorBoard showed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainscope.integrations.imports import (
    Event,
    ImportedRun,
    ImportProblem,
    lightning_hparams,
    tidy_float32,
)

SCALAR_PLUGIN = "scalars"
HPARAMS_PLUGIN = "hparams"
SESSION_START_TAG = "_hparams_/session_start_info"


def read_logdir(logdir: str | Path) -> tuple[list[ImportedRun], int]:
    """The runs under `logdir` and how many non-scalar tags were skipped. Raises
    `ImportProblem` for a missing tensorboard package, a directory that is missing or holds no
    event files, or a corrupt event file."""
    accumulator = _event_accumulator()
    root = Path(logdir).expanduser()
    if not root.exists():
        raise ImportProblem(f"{logdir}: no such directory")
    if not root.is_dir():
        raise ImportProblem(f"{logdir}: not a directory (give the folder the event files are in)")
    dirs = sorted({p.parent for p in root.rglob("*tfevents*") if p.is_file()})
    if not dirs:
        raise ImportProblem(f"{logdir}: no TensorBoard event files (*tfevents*) in it")
    root = root.resolve()
    loaded = {d.resolve(): _load(accumulator, d) for d in dirs}
    runs: dict[Path, ImportedRun] = {}
    skipped = 0
    # Parents before children: a child directory can then find the run it belongs to.
    for d in sorted(loaded, key=lambda p: len(p.parts)):
        acc = loaded[d]
        parent = runs.get(d.parent)
        hparams = _hparams(acc)
        scalars, others = _scalars(acc)
        skipped += others
        if parent is not None and hparams is not None:
            parent.config.update(hparams)  # an add_hparams child: its run's config and curves
            for tag, events in scalars.items():
                parent.add(tag, events)
            continue
        merged = _scalars_child_names(d.name, scalars) if parent is not None else None
        if parent is not None and merged is not None:
            for tag, events in scalars.items():
                parent.add(merged[tag], events)
            continue
        name = str(d.relative_to(root)) if d != root else root.name
        run = runs[d] = ImportedRun(name=name, source=str(d), tags=["tensorboard"])
        # Lightning's TensorBoardLogger writes the hparams summary only with a metric (its
        # default hp_metric); its hparams.yaml is there either way.
        run.config.update(hparams if hparams is not None else lightning_hparams(d))
        for tag, events in scalars.items():
            run.add(tag, events)
    return list(runs.values()), skipped


def _event_accumulator() -> Any:
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise ImportProblem(
            "importing TensorBoard logs needs the tensorboard package: pip install tensorboard"
        ) from None
    return event_accumulator


class _DataLoss(logging.Handler):
    """tensorboard's reader stops at a record that fails its checksum or is cut short and only
    says so in a debug log line: caught here, so a corrupt file is an error, not a silent
    half-import."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.problems: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Truncated record"):
            self.problems.append(record.getMessage())


@contextmanager
def _watch_data_loss() -> Iterator[_DataLoss]:
    logger = logging.getLogger("tensorboard")
    handler = _DataLoss()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _load(event_accumulator: Any, directory: Path) -> Any:
    guidance = {
        event_accumulator.SCALARS: 0,
        event_accumulator.TENSORS: 0,
        event_accumulator.COMPRESSED_HISTOGRAMS: 1,
        event_accumulator.IMAGES: 1,
        event_accumulator.AUDIO: 1,
        event_accumulator.HISTOGRAMS: 1,
    }
    acc = event_accumulator.EventAccumulator(str(directory), size_guidance=guidance)
    with _watch_data_loss() as watch:
        try:
            acc.Reload()
        except Exception as exc:  # a record that parses as no Event: the file is damaged
            raise ImportProblem(
                f"{directory}: an event file there is corrupt ({type(exc).__name__}: {exc})"
            ) from None
    if watch.problems:
        raise ImportProblem(
            f"{directory}: an event file there is corrupt (a record fails its checksum); "
            "nothing was imported"
        )
    for file in sorted(directory.glob("*tfevents*")):
        if file.is_file() and _cut_short(file):
            raise ImportProblem(
                f"{file}: cut short in the middle of a record (damaged, or still being "
                "written: import it once its writer has closed it); nothing was imported"
            )
    return acc


def _cut_short(file: Path) -> bool:
    """True when the file does not end on a record boundary. tensorboard's reader takes a
    cut-off last record for one still being written and stops there without a word; only
    the records' length fields are walked here (8 bytes length, 4 its CRC, data, 4 CRC)."""
    import struct

    size = file.stat().st_size
    pos = 0
    with file.open("rb") as f:
        while pos < size:
            header = f.read(8)
            if len(header) < 8:
                return True
            (length,) = struct.unpack("<Q", header)
            pos += 16 + length
            if pos > size:
                return True
            f.seek(pos)
    return pos != size


def _scalars(acc: Any) -> tuple[dict[str, list[Event]], int]:
    """Scalar events by tag, old-style and tensor-stored, and the count of other tags."""
    from tensorboard.util import tensor_util

    tags = acc.Tags()
    out: dict[str, list[Event]] = {}
    for tag in tags.get("scalars", []):
        events = acc.Scalars(tag)
        values = tidy_float32([e.value for e in events])  # simple_value is a float32
        out[tag] = [(e.step, e.wall_time, v) for e, v in zip(events, values, strict=True)]
    others = sum(len(tags.get(k, [])) for k in ("images", "audio", "histograms"))
    for tag in tags.get("tensors", []):
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin == HPARAMS_PLUGIN:
            continue  # read by _hparams
        events = acc.Tensors(tag)
        arrays = [tensor_util.make_ndarray(e.tensor_proto) for e in events]
        if plugin not in (SCALAR_PLUGIN, "") or not all(
            a.size == 1 and a.dtype.kind in "fiub" for a in arrays
        ):
            others += 1  # text, histograms and the like, stored as tensors
            continue
        floats = [float(a.reshape(())) for a in arrays]
        if arrays and arrays[0].dtype.itemsize <= 4 and arrays[0].dtype.kind == "f":
            floats = tidy_float32(floats)
        out.setdefault(tag, []).extend(
            (e.step, e.wall_time, v) for e, v in zip(events, floats, strict=True)
        )
    return out, others


def _hparams(acc: Any) -> dict[str, Any] | None:
    """The hyperparameters an `add_hparams` (or Lightning's `log_hyperparams`) wrote, or None."""
    try:
        content = acc.PluginTagToContent(HPARAMS_PLUGIN)
    except KeyError:
        return None
    raw = content.get(SESSION_START_TAG)
    if raw is None:
        return None
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(raw)
    out: dict[str, Any] = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            number = value.number_value
            # add_hparams stores every number as a double: 32 comes back 32.0.
            out[name] = int(number) if math.isfinite(number) and number.is_integer() else number
        elif kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = value.bool_value
    return out


def _scalars_child_names(dirname: str, scalars: dict[str, list[Event]]) -> dict[str, str] | None:
    """For a child directory written by `add_scalars(main_tag, {sub: ..})` (named
    `<main_tag with / as _>_<sub>`, holding the tag `main_tag`): each tag → `main_tag/sub`.
    None when the directory is not such a child (then it is a run of its own)."""
    if not scalars:
        return None
    names: dict[str, str] = {}
    for tag in scalars:
        prefix = tag.replace("/", "_") + "_"
        if not dirname.startswith(prefix) or len(dirname) == len(prefix):
            return None
        names[tag] = f"{tag}/{dirname[len(prefix) :]}"
    return names
