from __future__ import annotations

import json

from trainscope.schemas.events import Point
from trainscope.schemas.messages import status_message


def test_point_json_is_valid_json_with_nan_and_inf() -> None:
    p = Point(1, 2, 0, 0.5, {"loss": float("nan"), "lr": float("inf"), "acc": 0.25})
    text = json.dumps(p.to_json(), allow_nan=False)
    assert json.loads(text)["values"] == {"loss": "NaN", "lr": "Infinity", "acc": 0.25}


def test_status_message_always_has_the_same_keys() -> None:
    run = {"id": 3, "status": "queued"}
    msg = status_message(run)
    assert set(msg) == {"type", "status", "finish_reason", "message", "run"}
    assert msg["finish_reason"] is None and msg["status"] == "queued"
