"""`import trainscope.compat.wandb as wandb`: typical wandb scripts log to trainscope unchanged.

Differences from wandb, on purpose: a step logged out of order is kept (wandb drops it), and
media objects and artifacts are accepted but skipped (the dashboard draws scalar curves).
"""

from __future__ import annotations

import math
import sys
from typing import Any

from trainscope.sdk.run import Run
from trainscope.sdk.run import init as _sdk_init

_warned: set[str] = set()


def _warn_once(key: str, text: str) -> None:
    if key not in _warned:
        _warned.add(key)
        print(f"trainscope: {text}", file=sys.stderr)


class _Skipped:
    """A media object or artifact: accepted, so the script runs; skipped when logged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn_once(type(self).__name__, f"wandb.{type(self).__name__} is skipped (scalars only)")

    def __getattr__(self, attr: str) -> Any:
        return lambda *a, **k: None


class Image(_Skipped):
    pass


class Table(_Skipped):
    pass


class Histogram(_Skipped):
    pass


class Artifact(_Skipped):
    pass


class Config(dict[str, Any]):
    """`wandb.config`: item and attribute access, `update(d, allow_val_change=...)`. Once its
    run has started, what is set reaches the stored config too (`Run.update_config`): wandb
    scripts often add hyperparameters after `init`."""

    _run: Run | None = None  # a class default: instance attributes would be dict items here

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._send({key: value})

    def update(self, *args: Any, allow_val_change: bool = False, **kwargs: Any) -> None:
        values = dict(*args, **kwargs)
        if not allow_val_change:
            changed = [k for k, v in values.items() if k in self and self[k] != v]
            if changed:
                _warn_once("config-change", f"config values changed: {changed}")
        super().update(values)
        self._send(values)

    def _send(self, values: dict[str, Any]) -> None:
        run = type(self)._run if self is config else None
        if run is not None and values:
            run.update_config(values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}/"))
        elif isinstance(value, _Skipped):
            continue
        else:
            flat[name] = value
    return flat


class WandbRun:
    """`wandb.run`: what `wandb.init` returns."""

    def __init__(self, sdk_run: Run | None, name: str | None, cfg: Config) -> None:
        self._run = sdk_run
        self.name = name
        self.config = cfg
        self.summary: dict[str, Any] = {}
        self._step = 0
        self._pending: dict[str, Any] = {}
        self._step_metric: dict[str, str] = {}
        self._models: list[Any] = []

    @property
    def id(self) -> str | None:
        return None if self._run is None or self._run.id is None else str(self._run.id)

    @property
    def should_stop(self) -> bool:
        return self._run is not None and self._run.should_stop

    @property
    def step(self) -> int:
        return self._step

    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        if step is not None and step != self._step and self._pending:
            self._commit()  # a new step: what was pending belongs to the old one
        if step is not None:
            self._step = step
        if commit is not False and not self._pending and not self._models:
            # The hot path (one log per step): no copy into the pending dict.
            values = _flatten(data)
            self.summary.update(values)
            run = self._run
            if run is not None and values:
                if self._step_metric:
                    self._pending = values  # _commit splits them over their x axes
                    self._commit()
                    return
                run.log(values, self._step)
            self._step += 1
            return
        self._pending.update(_flatten(data))
        if commit is not False:
            self._commit()

    def _commit(self) -> None:
        values, self._pending = self._pending, {}
        if self._models:
            values.setdefault("grad_norm", _grad_norm(self._models))
        self.summary.update(values)
        if self._run is not None and values and not self._step_metric:
            self._run.log(values, self._step)  # the common case: no define_metric axes
        elif self._run is not None and values:
            by_axis: dict[int, dict[str, Any]] = {}
            for name, value in values.items():
                axis = self._step_metric.get(name)
                x = values.get(axis) if axis else None
                at = int(x) if isinstance(x, (int, float)) and math.isfinite(x) else self._step
                by_axis.setdefault(at, {})[name] = value
            for at, group in by_axis.items():
                self._run.log(group, at)
        self._step += 1

    def define_metric(self, name: str, step_metric: str | None = None, **kwargs: Any) -> None:
        if step_metric is not None:
            self._step_metric[name] = step_metric

    def watch(self, models: Any, *args: Any, **kwargs: Any) -> None:
        self._models.extend(models if isinstance(models, (list, tuple)) else [models])

    def alert(self, title: str = "", text: str = "", *args: Any, **kwargs: Any) -> None:
        print(f"trainscope: alert: {title}: {text}", file=sys.stderr)

    def log_artifact(self, *args: Any, **kwargs: Any) -> None:
        _warn_once("artifact", "wandb artifacts are skipped")

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        if self._pending:
            self._commit()
        Config._run = None
        if self._run is not None:
            # wandb's summary (the last value of each metric, and what the script set in it)
            # is stored with the run; values JSON cannot hold are left out.
            plain = (int, float, str, bool, type(None))
            self._run.summary.update(
                {k: v for k, v in list(self.summary.items())[:500] if isinstance(v, plain)}
            )
            if exit_code:
                self._run.finish("failed", f"exit code {exit_code}")
            else:
                self._run.finish()


def _grad_norm(models: list[Any]) -> float:
    total = 0.0
    for model in models:
        for p in model.parameters():
            if p.grad is not None:
                total += float(p.grad.detach().pow(2).sum())
    return math.sqrt(total)


_INIT_ARGS = {"project", "name", "config", "id", "resume", "dir", "tags", "group", "notes"}
_INIT_ARGS |= {"job_type", "mode", "entity", "reinit", "settings"}

run: WandbRun | None = None
config: Config = Config()
summary: dict[str, Any] = {}


def init(
    project: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    id: str | None = None,
    resume: Any = None,
    dir: str | None = None,
    tags: list[str] | None = None,
    group: str | None = None,
    notes: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    **kwargs: Any,
) -> WandbRun:
    """`wandb.init`: starts a trainscope run (`mode="disabled"`: logs nowhere)."""
    global run, summary
    for key in kwargs:
        _warn_once(f"init-{key}", f"wandb.init({key}=...) is ignored")
    cfg = globals()["config"]
    cfg.clear()
    cfg.update(dict(config or {}), allow_val_change=True)
    sdk_run = None
    if mode != "disabled":
        all_tags = list(tags or []) + ([f"project:{project}"] if project else [])
        sdk_run = _sdk_init(name, dict(cfg), dir=dir, tags=all_tags, group=group)
    run = WandbRun(sdk_run, name, cfg)
    Config._run = sdk_run  # from now on, config set by the script reaches the run's config
    summary = run.summary
    return run


def _current() -> WandbRun:
    if run is None:
        raise RuntimeError("wandb.init() was not called")
    return run


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    _current().log(data, step, commit)


def define_metric(name: str, step_metric: str | None = None, **kwargs: Any) -> None:
    _current().define_metric(name, step_metric, **kwargs)


def watch(models: Any, *args: Any, **kwargs: Any) -> None:
    _current().watch(models, *args, **kwargs)


def alert(title: str = "", text: str = "", *args: Any, **kwargs: Any) -> None:
    _current().alert(title, text)


def log_artifact(*args: Any, **kwargs: Any) -> None:
    _warn_once("artifact", "wandb artifacts are skipped")


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    global run
    if run is not None:
        run.finish(exit_code)
    run = None
