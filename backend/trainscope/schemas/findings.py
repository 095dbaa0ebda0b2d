"""A finding as the API serves it (`GET /api/runs/{id}/findings`, the `findings` websocket
message): one diagnosis of a run's curves by the doctor (docs/doctor.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["critical", "warning", "info", "ok"]


class FindingBody(BaseModel):
    id: int = Field(description="The finding's id; findings are replaced when re-diagnosed.")
    code: str = Field(description="What was seen: diverged, overfitting, plateau, …")
    severity: Severity = Field(description='"ok" is a passed check (preflight runs).')
    iteration: int | None = Field(description="Where it was seen; the chart marks it there.")
    message: str = Field(description="A sentence quoting the numbers it rests on.")
    evidence: dict[str, Any] = Field(description="Those numbers, by name.")
    patch: dict[str, Any] | None = Field(
        description="The suggested fix as a body for POST /api/runs/{id}/restart, or null."
    )
    fix: str | None = Field(None, description="The patch in words, or null.")
    branch: dict[str, Any] | None = Field(
        None,
        description="Where a branch of the run is the better fix: {epoch, options} as a body "
        "for POST /api/runs/{id}/branch, and fix, the branch in words; else null.",
    )
    created_at: float = Field(description="Unix seconds.")
