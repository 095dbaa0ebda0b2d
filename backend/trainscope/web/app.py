"""`create_app(settings)`: the FastAPI app with its store, hub, pipeline and executor.

Nothing here imports torch: workers do, in their own processes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from trainscope.config import Settings
from trainscope.jobs.executor import Executor
from trainscope.live.hub import Hub
from trainscope.services.branches import branchable_epochs
from trainscope.services.doctor_watch import DoctorWatch
from trainscope.services.entrypoints import load_entrypoints
from trainscope.services.pipeline import Pipeline
from trainscope.services.runs import RunService
from trainscope.services.sweep_scheduler import SweepScheduler
from trainscope.store import Store
from trainscope.store.console import ConsoleLogs
from trainscope.version import __version__
from trainscope.web import (
    routes_datasets,
    routes_entrypoints,
    routes_external,
    routes_groups,
    routes_meta,
    routes_runs,
    routes_sweeps,
    ws,
)
from trainscope.web.errors import BodyLimit, install_error_handlers
from trainscope.web.frontend import mount_frontend
from trainscope.web.security import (
    HostCheck,
    OriginCheck,
    SecurityHeaders,
    TokenAuth,
    login_router,
)
from trainscope.web.state import AppState

log = logging.getLogger("trainscope.web")

DESCRIPTION = """Live training curves for PyTorch.

Create runs (`POST /api/runs` with a RunSpec: dataset, model, MATLAB-style training options),
watch them over `WS /ws/runs/{id}?after_seq=N`, stop, restart with changes, resume. Runs of
your own training scripts (`trainscope.init`, docs/sdk.md) come in over `/api/runs/external`.
Non-finite metric values travel as the strings "NaN", "Infinity", "-Infinity".
"""


def make_executor(settings: Settings) -> Executor:
    if settings.executor == "ray":
        # RayExecutor() imports ray (failing with how to install it), never torch.
        from trainscope.jobs.ray_executor import RayExecutor

        return RayExecutor(
            address=settings.ray_address,
            data_dir=settings.data_dir,
            grace_s=settings.stop_grace_s,
            # TRAINSCOPE_MAX_RUNS caps a cluster only when it is set: its default (1) is for
            # the CPU of one machine, not for a cluster.
            max_runs=settings.max_runs if "max_runs" in settings.model_fields_set else None,
        )
    from trainscope.jobs.local import LocalExecutor

    return LocalExecutor(
        slots=settings.max_runs, data_dir=settings.data_dir, grace_s=settings.stop_grace_s
    )


def create_app(
    settings: Settings, executor: Executor | None = None, store: Store | None = None
) -> FastAPI:
    """The whole server. `executor` may be passed in (tests, Ray); by default a local pool.
    `store`: opened, checked and registered by `trainscope serve` (cli_data.prepare_serve);
    by default opened here, and this server recorded as its runs' owner."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal store
        if store is None:
            store = Store.open(settings.resolved_database_url())
            store.register_owner("server", data_dir=str(settings.data_dir), exclusive=True)
        interrupted = store.interrupt_unfinished()
        if interrupted:
            log.warning(
                "runs %s were running when the server stopped: now interrupted", interrupted
            )
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        pipeline = Pipeline(store, hub, ConsoleLogs(settings.run_dir))
        # The operator's entry points, each probed in a child (seconds for a script that
        # imports torch); one that cannot be probed is logged with the reason and left out.
        entrypoints = await asyncio.to_thread(load_entrypoints, settings)
        # The doctor reads what the pipeline persisted, on a thread of its own.
        doctor = DoctorWatch(
            store, hub, branchable=lambda run: branchable_epochs(settings.run_dir(run.id))
        )
        pipeline.listeners.append(doctor.notice)
        doctor.start()
        ex = executor if executor is not None else make_executor(settings)
        ex.start(pipeline.handle)
        runs = RunService(settings, store, ex, pipeline, entrypoints)
        runs.external.start()  # external runs whose scripts went silent become interrupted
        # Sweeps' trials, on the same executor: woken when a run starts or ends, and carrying
        # on with the sweeps a previous server left running.
        sweeps = SweepScheduler(store, runs)
        pipeline.listeners.append(sweeps.notice)
        sweeps.start()
        app.state.trainscope = AppState(
            settings=settings,
            store=store,
            hub=hub,
            pipeline=pipeline,
            executor=ex,
            runs=runs,
            doctor=doctor,
            sweeps=sweeps,
            entrypoints=entrypoints,
        )
        # Everything made so far (modules, routes, schemas: hundreds of thousands of objects)
        # lives as long as the server: out of the collector's sight, a burst of allocations
        # (a 2,000-point batch) no longer sets off full collections that walk all of it.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            # Running runs checkpoint and stop; the pipeline records them as interrupted so
            # that resume continues them after the next start.
            pipeline.shutting_down = True
            await asyncio.to_thread(sweeps.close)  # no new trials while the workers stop
            await asyncio.to_thread(ex.shutdown, settings.stop_grace_s)
            runs.external.close()
            store.interrupt_unfinished()
            doctor.close()
            store.close()

    app = FastAPI(
        title="trainscope",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    # Innermost first: the last added sees a request first (docs/security.md).
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/api/datasets": settings.max_upload_bytes},
    )
    if settings.api_token:
        app.add_middleware(TokenAuth, token=settings.api_token)
    app.add_middleware(OriginCheck, allowed_origins=settings.cors_origin_list())
    if settings.cors_origin_list():
        # Outside the token check: a preflight carries no credentials.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HostCheck, allowed=settings.allowed_host_set())
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    app.include_router(login_router(settings.api_token))
    app.include_router(routes_meta.router)
    app.include_router(routes_external.router)  # before /api/runs/{run_id}...
    app.include_router(routes_runs.router)
    app.include_router(routes_sweeps.router)
    app.include_router(routes_groups.router)
    app.include_router(routes_datasets.router)
    app.include_router(routes_entrypoints.router)
    app.include_router(ws.router)

    mount_frontend(app)
    return app
