"""The run status sets, in one place: the server, the CLI and the browser (frontend/js/contract.js
mirrors them) must agree on which statuses end a run, which are live, which can be resumed."""

from __future__ import annotations

from typing import Final

RUN_STATUSES: Final = (
    "queued",
    "running",
    "completed",
    "stopped",
    "diverged",
    "failed",
    "interrupted",
)
# A run in one of these has ended: nothing live follows.
FINAL_STATUSES: Final = ("completed", "stopped", "diverged", "failed", "interrupted")
# Not ended yet (waiting for a slot or training).
ACTIVE_STATUSES: Final = ("queued", "running")
# An ended run whose last checkpoint a resume can continue from.
RESUMABLE_STATUSES: Final = ("stopped", "interrupted", "failed")
# The statuses a run can end in; the engine itself only ever ends in these four.
ENGINE_END_STATUSES: Final = ("completed", "stopped", "diverged", "failed")
