"""What the routes depend on, built once per app by `create_app` and passed in (no globals)."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from fastapi import Depends, Request

from trainscope.config import Settings
from trainscope.jobs.executor import Executor
from trainscope.live.hub import Hub
from trainscope.services.doctor_watch import DoctorWatch
from trainscope.services.entrypoints import Registry
from trainscope.services.pipeline import Pipeline
from trainscope.services.runs import RunService
from trainscope.services.sweep_scheduler import SweepScheduler
from trainscope.store import Store


@dataclass
class AppState:
    settings: Settings
    store: Store
    hub: Hub
    pipeline: Pipeline
    executor: Executor
    runs: RunService
    doctor: DoctorWatch
    sweeps: SweepScheduler
    entrypoints: Registry
    # The websockets' limiter of openings (web/ws.py), one per event loop serving the app.
    ws_openings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
        field(default_factory=weakref.WeakKeyDictionary)
    )


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.trainscope
    return state


def get_runs(request: Request) -> RunService:
    return get_state(request).runs


def get_sweeps(request: Request) -> SweepScheduler:
    return get_state(request).sweeps


StateDep = Annotated[AppState, Depends(get_state)]
SweepsDep = Annotated[SweepScheduler, Depends(get_sweeps)]
RunsDep = Annotated[RunService, Depends(get_runs)]
