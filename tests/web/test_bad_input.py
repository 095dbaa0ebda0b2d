"""Every bad request gets a 4xx naming what was wrong, and the server stays healthy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from .conftest import spec
from .in_process import InProcessServer


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {**spec(), "options": {"mini_batch_size": 0}},
            "options.mini_batch_size: must be greater than or equal to 1 (got 0)",
        ),
        (
            {**spec(), "options": {"max_epochs": 10**9}},
            "options.max_epochs: must be less than or equal to 100000",
        ),
        ({**spec(), "options": {"max_epochs": "ten"}}, "options.max_epochs"),
        ({**spec(), "options": {"solver": "lbfgs"}}, "options.solver: must be 'sgdm'"),
        (
            {**spec(), "options": {"InitialLearnRate": -1}},
            "options.InitialLearnRate: must be greater than 0 (got -1)",
        ),
        ({"dataset": {"name": "imagenet"}}, "dataset"),
        (
            {"dataset": {"name": "spirals"}, "model": {"preset": "simple-cnn"}},
            "preset 'simple-cnn' needs image input",
        ),
        (
            {
                "dataset": {"name": "digits"},
                "model": {"layers": [{"type": "maxpool", "pool_size": 9}]},
            },
            "layer 1 (maxpool)",
        ),
        ({"dataset": {"name": "digits"}, "model": {"layers": [{"type": "warp"}]}}, "warp"),
        ({"options": {}}, "dataset: required"),
        ({**spec(), "surprise": 1}, "unknown field 'surprise'"),
        ([1, 2, 3], "must be a valid dictionary"),
    ],
)
def test_bad_specs_are_422_naming_the_field(app: InProcessServer, body: Any, expected: str) -> None:
    with app.api() as api:
        r = api.post("/api/runs", json=body)
        assert r.status_code == 422, r.text
        assert expected in r.json()["message"], r.json()
        assert all("loc" in d and "msg" in d for d in r.json()["detail"])
        assert api.get("/api/health").json()["status"] == "ok"


def test_malformed_json_is_422_saying_so(app: InProcessServer) -> None:
    with app.api() as api:
        r = api.post(
            "/api/runs", content=b'{"dataset": ', headers={"content-type": "application/json"}
        )
        assert r.status_code == 422
        assert "not valid JSON" in r.json()["message"]


def test_body_over_the_limit_is_413(app: InProcessServer) -> None:
    with app.api() as api:
        big = {**spec(), "name": "x" * 2_000_000}
        r = api.post("/api/runs", json=big)
        assert r.status_code == 413
        assert "larger than" in r.json()["message"]
        assert api.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/runs/999999"),
        ("post", "/api/runs/999999/stop"),
        ("post", "/api/runs/999999/resume"),
        ("delete", "/api/runs/999999"),
        ("get", "/api/runs/999999/metrics"),
        ("get", "/api/runs/999999/findings"),
    ],
)
def test_unknown_runs_are_404(app: InProcessServer, method: str, path: str) -> None:
    with app.api() as api:
        r = api.request(method, path)
        assert r.status_code == 404
        assert r.json()["message"] == "no run with id 999999"


def test_restart_of_unknown_run_is_404_and_resume_of_a_running_one_409(
    app: InProcessServer,
) -> None:
    with app.api() as api:
        assert api.post("/api/runs/999999/restart", json={}).status_code == 404
        run = api.post("/api/runs", json=spec(max_epochs=300)).json()
        r = api.post(f"/api/runs/{run['id']}/resume")
        assert r.status_code == 409
        assert "can be resumed" in r.json()["message"]
        api.post(f"/api/runs/{run['id']}/stop")


def test_bad_query_parameters(app: InProcessServer) -> None:
    with app.api() as api:
        assert api.get("/api/runs", params={"status": "sleeping"}).status_code == 422
        assert api.get("/api/runs/abc").status_code == 422
        r = api.get("/api/runs/1/metrics", params={"max_points": 1})
        assert r.status_code in (404, 422)


def test_websocket_for_unknown_run_says_so(app: InProcessServer) -> None:
    import json

    from websockets.exceptions import ConnectionClosed

    with app.ws("/ws/runs/999999") as ws:
        msg = json.loads(ws.recv(timeout=10))
        assert msg == {"type": "error", "message": "no run with id 999999"}
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        (f"/ws/runs/{2**70}", 4404, "no run with id"),
        ("/ws/runs/0", 4404, "no run with id"),
        (f"/ws/runs/1?after_seq={2**70}", 4400, "after_seq must be in"),
        ("/ws/runs/1?after_seq=-1", 4400, "after_seq must be in"),
    ],
)
def test_websockets_refuse_out_of_range_ids_and_seqs_with_a_message(
    app: InProcessServer, path: str, code: int, words: str
) -> None:
    with app.ws(path) as ws:
        message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "error" and words in message["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    with app.api() as api:
        assert api.get("/api/health").json()["status"] == "ok"
