"""`trainscope.SummaryWriter`: torch.utils.tensorboard's writer, streaming to trainscope.

Only the scalar calls are kept (the dashboard draws scalar curves); the other `add_*` calls are
accepted so that an existing script runs unchanged, and each is said once on stderr.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from trainscope.sdk.run import Run, init


class SummaryWriter:
    """The signatures of `torch.utils.tensorboard.SummaryWriter` for the scalar calls.

    The run starts on the first call that logs (so `add_hparams` before it lands in the run's
    config); `log_dir` or `comment` name it unless `name` does. `url`, `dir`, `config`, `tags`,
    `group` go to `trainscope.init`.
    """

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
        *,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        **init_kwargs: Any,
    ) -> None:
        self.log_dir = log_dir
        self._name = name or log_dir or (comment.strip() or None)
        self._config: dict[str, Any] = dict(config or {})
        self._init_kwargs = init_kwargs
        self._run: Run | None = None
        self._warned: set[str] = set()
        self._closed = False

    @property
    def run(self) -> Run:
        """The trainscope run this writer logs to (started on first use)."""
        if self._run is None:
            self._run = init(self._name, self._config, **self._init_kwargs)
        return self._run

    @property
    def should_stop(self) -> bool:
        """True once the dashboard's Stop was pressed for this run."""
        return self._run is not None and self._run.should_stop

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        self.run.log({tag: scalar_value}, global_step)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        # TensorBoard writes one sibling run per sub-tag; here they stay in this run.
        self.run.log({f"{main_tag}/{k}": v for k, v in tag_scalar_dict.items()}, global_step)

    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list[Any]] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """`hparam_dict` into the run's config, whenever it is called (before the first
        scalar it is part of the config the run starts with; later it is merged in).
        `metric_dict` (the final metrics, usually) as points at `global_step`, else at the
        step of the last scalar: the end of the curves, where TensorBoard's hparams table
        takes them from. torch writes both into a child run `run_name`; here they stay in
        this run."""
        if self._run is None:
            self._config.update(hparam_dict)
        else:
            self._run.update_config(dict(hparam_dict))
        if metric_dict:
            step = global_step
            if step is None and self._run is not None and self._run.step > 0:
                step = self._run.step
            self.run.log(dict(metric_dict), step)

    def flush(self) -> None:
        if self._run is not None:
            self._run.flush()

    def close(self) -> None:
        if not self._closed and self._run is not None:
            self._run.finish()
        self._closed = True

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._run is not None and not self._closed:
            self._closed = True
            self._run.__exit__(exc_type, exc, tb)

    def __getattr__(self, attr: str) -> Any:
        # add_image, add_histogram, add_graph, …: accepted and skipped, said once each.
        if not attr.startswith("add_"):
            raise AttributeError(f"'SummaryWriter' object has no attribute {attr!r}")

        def skipped(*args: Any, **kwargs: Any) -> None:
            if attr not in self._warned:
                self._warned.add(attr)
                print(
                    f"trainscope: SummaryWriter.{attr} is skipped (scalars only)", file=sys.stderr
                )

        return skipped
