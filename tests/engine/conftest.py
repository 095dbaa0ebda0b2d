from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from trainscope.engine.loop import train
from trainscope.schemas.events import Artefact, Event, Point, Started, Status
from trainscope.schemas.spec import RunSpec


@dataclass
class Recording:
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    @property
    def points(self) -> list[Point]:
        return [e for e in self.events if isinstance(e, Point)]

    @property
    def started(self) -> Started:
        return next(e for e in self.events if isinstance(e, Started))

    @property
    def status(self) -> Status:
        statuses = [e for e in self.events if isinstance(e, Status)]
        assert len(statuses) == 1, statuses
        return statuses[0]

    @property
    def artefacts(self) -> dict[str, dict[str, Any]]:
        return {e.name: e.data for e in self.events if isinstance(e, Artefact)}

    def train_points(self) -> list[Point]:
        return [p for p in self.points if "train_loss" in p.values]


def spec_of(**parts: Any) -> RunSpec:
    base: dict[str, Any] = {
        "dataset": {"name": "digits", "max_train_samples": 300},
        "model": {"preset": "mlp"},
        "options": {
            "max_epochs": 2,
            "mini_batch_size": 50,
            "validation_frequency": 4,
            "execution_environment": "cpu",
        },
    }
    for key, value in parts.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "model":
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return RunSpec.model_validate(base)


Runner = Callable[..., Recording]


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    def _run(
        spec: RunSpec,
        should_stop: Callable[[], bool] | None = None,
        run_dir: Path | None = None,
        resume: bool = False,
        emit: Callable[[Event], None] | None = None,
        persisted_seq: int | None = None,
    ) -> Recording:
        rec = Recording()

        def both(e: Event) -> None:
            rec(e)
            if emit is not None:
                emit(e)

        kwargs: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "run_dir": run_dir,
            "resume": resume,
            "persisted_seq": persisted_seq,
        }
        if should_stop is not None:
            kwargs["should_stop"] = should_stop
        train(spec, both, **kwargs)
        return rec

    return _run
