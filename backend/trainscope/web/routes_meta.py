"""Health, the catalog of choices, and the RunSpec JSON schema the browser builds forms from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from trainscope.schemas.datasets import dataset_catalog
from trainscope.schemas.layers import LAYER_TYPES
from trainscope.schemas.model import MODEL_PRESETS
from trainscope.schemas.options import SCHEDULES, SOLVERS
from trainscope.schemas.spec import RUN_KINDS, run_spec_schema
from trainscope.store.space import storage_health
from trainscope.version import __version__
from trainscope.web.state import StateDep

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/health", summary="Liveness and a summary of the workers")
def health(state: StateDep) -> dict[str, Any]:
    snap = state.executor.snapshot()
    return {
        "status": "ok",
        "version": __version__,
        "workers": {"slots": snap["slots"], "ready": snap["workers_ready"]},
        "storage": storage_health(state.settings.data_dir, state.settings.min_free_bytes),
    }


@router.get("/catalog", summary="Datasets, model presets, layers, solvers, schedules, devices")
def catalog(state: StateDep) -> dict[str, Any]:
    snap = state.executor.snapshot()
    return {
        "datasets": dataset_catalog(),
        "model_presets": [{"name": k, "description": v} for k, v in MODEL_PRESETS.items()],
        "layer_types": list(LAYER_TYPES),
        "solvers": list(SOLVERS),
        "schedules": list(SCHEDULES),
        "kinds": list(RUN_KINDS),
        "devices": snap["devices"],
        "executor": state.settings.executor,
    }


@router.get("/schema/run-spec", summary="JSON schema of RunSpec (for forms)")
def run_spec_json_schema() -> dict[str, Any]:
    return run_spec_schema()
