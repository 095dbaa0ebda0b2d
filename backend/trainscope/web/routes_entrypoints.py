"""REST for entry points (DESIGN §8): what the operator registered, to fill the New run form.

Read-only: entry points are registered on the server's side only (`serve --entrypoint`); the
API runs them with option values their schema accepts (POST /api/runs with `entrypoint`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from trainscope.web.state import StateDep

router = APIRouter(prefix="/api/entrypoints", tags=["entrypoints"])


@router.get("", summary="The registered entry points (the user's own training code)")
def list_entrypoints(state: StateDep) -> list[dict[str, Any]]:
    """Each: `name`, `kind` (script / function), `schema` (JSON Schema of its options, keyed
    by the argparse dest or the model's field names), `roles` (which option is the learn rate,
    max epochs, batch size, seed, resume path, device; null where none is) and `supports`
    (stop, resume, seed). Paths and interpreters are not shown."""
    return [ep.public() for ep in state.entrypoints]
