"""`Accelerator(log_with="trainscope")`: accelerate's tracking API, streaming to trainscope.

Importing this module registers `TrainscopeTracker` under the name "trainscope" with
accelerate's `register_tracker_class` (accelerate 1.16 has it; it has to happen before the
`Accelerator` is made). `log_with=TrainscopeTracker("my-run")` works without registering.
accelerate is imported here, never at `import trainscope`.
"""

from __future__ import annotations

import sys
from typing import Any

from accelerate.tracking import GeneralTracker, on_main_process

from trainscope.sdk.run import Run, init


class TrainscopeTracker(GeneralTracker):  # type: ignore[misc]  # accelerate is untyped
    """A trainscope run as an accelerate tracker (on the main process only, as accelerate's
    own trackers are). `run_name`: `init_trackers`' `project_name`, the run's name. Keyword
    arguments (`init_kwargs={"trainscope": {...}}`) go to `trainscope.init`: `url`, `dir`,
    `tags`, `group`, ….

    The run starts when `init_trackers` stores its `config` (so that becomes the run's
    config), else on the first `log`."""

    name = "trainscope"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, run_name: str | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self.run_name = run_name
        self._init_kwargs = init_kwargs
        self._run: Run | None = None
        self._warned: set[str] = set()

    @property
    def tracker(self) -> Run:
        """The SDK's run (`accelerator.get_tracker("trainscope", unwrap=True)`)."""
        if self._run is None:
            self._run = init(self.run_name, {}, **self._init_kwargs)
        return self._run

    @property
    def should_stop(self) -> bool:
        """True once the dashboard's Stop was pressed (this process only: see `should_stop`
        below for every rank)."""
        return self._run is not None and self._run.should_stop

    @on_main_process  # type: ignore[untyped-decorator]
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        if self._run is None:
            self._run = init(self.run_name, dict(values), **self._init_kwargs)
        else:
            self._say(
                "config",
                "store_init_configuration after the first log: the run's config is already "
                "stored, so these values are not added to it (pass config to init_trackers)",
            )

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        # Not behind accelerate's `on_main_process` like the others: `accelerator.log` calls
        # it on the main process only already, and the decorator costs a `PartialState()`
        # per call. A call on another rank (a tracker instance used directly) creates no run.
        run = self._run
        if run is None:
            if not _main_process():
                return
            run = self.tracker
        for value in values.values():
            if isinstance(value, (dict, str)):
                break
        else:  # all numbers, the common call: as it is (run.log copies it)
            run.log(values, step)
            return
        flat: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, dict):
                # accelerate's TensorBoard tracker writes these with add_scalars: main/sub.
                flat.update({f"{key}/{k}": v for k, v in value.items()})
            elif isinstance(value, str):
                self._say(f"text {key}", f"accelerate log: {key!r} is text, skipped")
            else:
                flat[key] = value
        if flat:
            run.log(flat, step)

    @on_main_process  # type: ignore[untyped-decorator]
    def log_images(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self._say("images", "accelerate log_images is skipped (scalars only)")

    @on_main_process  # type: ignore[untyped-decorator]
    def finish(self) -> None:
        if self._run is not None:
            self._run.finish()  # completed, or stopped after the dashboard's Stop

    def _say(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            print(f"trainscope: {text}", file=sys.stderr)


def _main_process() -> bool:
    from accelerate.state import PartialState

    return bool(PartialState().is_main_process)


def should_stop(accelerator: Any) -> bool:
    """True on every process once the dashboard's Stop was pressed for the run. Call it from
    every process at the same point of the loop (it is one all-reduce when there are several,
    accelerate's own `set_trigger`/`check_trigger`): `if should_stop(accelerator): break`."""
    if accelerator.is_main_process and any(
        isinstance(t, TrainscopeTracker) and t.should_stop for t in accelerator.trackers
    ):
        accelerator.set_trigger()
    return bool(accelerator.check_trigger())


def _register() -> None:
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS

    try:
        from accelerate.tracking import register_tracker_class
    except ImportError:  # an older accelerate knows only its own names: pass an instance
        return
    if LOGGER_TYPE_TO_CLASS.get(TrainscopeTracker.name) is not TrainscopeTracker:
        register_tracker_class(TrainscopeTracker)


_register()
