"""The browser's copy of the contract (frontend/js/contract.js) says what the server's does."""

from __future__ import annotations

import re
from pathlib import Path

from trainscope.schemas import status

CONTRACT = Path(__file__).parents[2] / "frontend" / "js" / "contract.js"


def js_set(name: str) -> set[str]:
    match = re.search(rf"export const {name} = new Set\(\[([^\]]*)\]\)", CONTRACT.read_text())
    assert match, f"{name} is not in contract.js"
    return set(re.findall(r'"([a-z-]+)"', match.group(1)))


def test_the_browsers_status_sets_are_the_servers() -> None:
    assert js_set("FINAL_STATUSES") == set(status.FINAL_STATUSES)
    assert js_set("ACTIVE_STATUSES") == set(status.ACTIVE_STATUSES)
    assert js_set("RESUMABLE_STATUSES") == set(status.RESUMABLE_STATUSES)


def test_every_server_message_type_has_a_typedef() -> None:
    text = CONTRACT.read_text()
    for kind in (
        "hello",
        "points",
        "columns",
        "status",
        "progress",
        "findings",
        "logs",
        "deleted",
        "resync",
        "error",
    ):
        assert f'type: "{kind}"' in text, kind
