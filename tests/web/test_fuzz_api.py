"""Fuzzing the REST API (issue 5): schemathesis generates requests from the OpenAPI document
and sends them to a real `trainscope serve`. Whatever it sends, the server answers without a
5xx, with a status code the document lists for that route, and with a body matching the schema
documented for that status.

Every phase but the stateful one runs: the document's own examples, the coverage phase (boundary
values and wrong types for every parameter and field) and a bounded, derandomized fuzzing phase.
Runs the fuzzer creates (a valid RunSpec → 201) are deleted at once, so that the one worker does
not train them; a tiny finished run made beforehand gives the routes of one run a real run to
answer for. Websockets are not in the OpenAPI document; tests/web/test_server.py covers them.

The document is built in-process when this module is collected (schemathesis parametrizes tests
at collection; `schemathesis.pytest.from_fixture`, which would load it from the server, does not
work with pytest 9), and the server fixture checks that it is the very document the server serves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from trainscope.config import Settings
from trainscope.web.app import create_app

from .conftest import Server, spec, wait_status

# Hundreds of generated requests against a real server.
pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Per route and fuzzing phase; the coverage phase adds its own, fixed set of cases.
MAX_EXAMPLES = 25
# Answers that carry a run the fuzzer made: (method, path template) → the status that does.
CREATES_RUN = {("POST", "/api/runs"): 201, ("POST", "/api/runs/{run_id}/restart"): 201}
SERVER_ENV = {
    "TRAINSCOPE_MAX_RUNS": "1",
    "TRAINSCOPE_STOP_GRACE_S": "2",
    # The fuzzer creates hundreds of runs in a minute; per-client limits would answer most of
    # them 429 and so hide what the server does with the specs themselves.
    "TRAINSCOPE_RUNS_PER_MINUTE": "1000000",
    "TRAINSCOPE_MAX_QUEUED_RUNS": "1000000",
}


def openapi_document() -> dict[str, Any]:
    """What `GET /openapi.json` answers; building the app starts no worker and no database."""
    settings = {k.removeprefix("TRAINSCOPE_").lower(): v for k, v in SERVER_ENV.items()}
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir), **settings))
        document: dict[str, Any] = app.openapi()
    return document


schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 5,
            "phases": {"stateful": {"enabled": False}},
            "generation": {"deterministic": True, "database": "none"},
        }
    ),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("fuzz"), env=SERVER_ENV).start()
    try:
        with srv.api() as api:
            assert api.get("/openapi.json").json() == schema.raw_schema, (
                "the fuzzed document is not the one the server serves"
            )
        yield srv
        with srv.api() as api:
            # Nothing the fuzzer created is left queued or training.
            for run in api.get("/api/runs", params={"limit": 5000}).json():
                if run["status"] in ("queued", "running"):
                    api.delete(f"/api/runs/{run['id']}")
            left = api.get("/api/runs", params=[("status", "queued"), ("status", "running")])
            assert left.json() == []
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def finished_run(fuzz_server: Server) -> dict[str, Any]:
    """Run 1: a few iterations of spirals, finished, with points, findings and artefacts."""
    with fuzz_server.api() as api:
        r = api.post("/api/runs", json=spec(max_epochs=1))
        assert r.status_code == 201, r.text
        run: dict[str, Any] = wait_status(api, r.json()["id"], ("completed",))
    return run


def forget_created_run(server: Server, case: schemathesis.Case, response: Any) -> None:
    """Delete the runs the fuzzer's request created (stopping them if they had started); stop
    a sweep it created first, so that it proposes no more trials."""
    key = (case.method.upper(), case.path)
    if response.status_code != 201:
        return
    ids: list[int] = []
    if key in CREATES_RUN:
        ids = [response.json()["id"]]
    elif key == ("POST", "/api/runs/{run_id}/repeat"):
        ids = [r["id"] for r in response.json()["runs"]]
    elif key == ("POST", "/api/sweeps"):
        sweep_id = response.json()["id"]
        httpx.post(f"{server.url}/api/sweeps/{sweep_id}/stop", timeout=30)
        trials = httpx.get(f"{server.url}/api/sweeps/{sweep_id}", timeout=30).json()["trials"]
        ids = [t["run_id"] for t in trials if t["run_id"] is not None]
    for run_id in ids:
        assert httpx.delete(f"{server.url}/api/runs/{run_id}", timeout=30).status_code == 204


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Most generated RunSpecs are refused for cross-field reasons (a CNN on 2-D points):
    # that is what the fuzzer is here to try, not a problem with the generator.
    suppress_health_check=list(HealthCheck),
)


@FUZZ_SETTINGS
@schema.exclude(method="DELETE").parametrize()
def test_every_route_answers_as_documented(
    case: schemathesis.Case, fuzz_server: Server, finished_run: dict[str, Any]
) -> None:
    # `finished_run` exists before the first request: run 1 answers with real points, findings
    # and artefacts, and restart/resume/stop of a finished run get tried.
    response = case.call_and_validate(base_url=fuzz_server.url, checks=CHECKS)
    forget_created_run(fuzz_server, case, response)


# Last, in a test of its own: deleting run 1 first would leave the other routes only 404s.
@FUZZ_SETTINGS
@schema.include(method="DELETE").parametrize()
def test_delete_answers_as_documented(case: schemathesis.Case, fuzz_server: Server) -> None:
    case.call_and_validate(base_url=fuzz_server.url, checks=CHECKS)


# ---- what the fuzzer found, pinned ------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_422_saying_it_is_not_json(fuzz_server: Server) -> None:
    with fuzz_server.api() as api:
        r = api.post(
            "/api/runs", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
        )
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith("request body is not valid JSON: not UTF-8")
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_a_streamed_body_over_the_limit_is_413_not_400(fuzz_server: Server) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as it streams in
        yield b'{"name": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    with fuzz_server.api() as api:
        r = api.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        assert "larger than" in r.json()["message"]
        assert api.get("/api/health").status_code == 200


@pytest.mark.parametrize("path", ["/api/runs/9223372036854775808", "/api/runs/1/metrics"])
def test_ids_and_seqs_beyond_64_bits_are_422_not_500(fuzz_server: Server, path: str) -> None:
    with fuzz_server.api() as api:
        r = api.get(path, params={"after_seq": 2**64} if path.endswith("metrics") else None)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] in ("path", "query")


def test_errors_from_the_framework_carry_a_message_too(fuzz_server: Server) -> None:
    with fuzz_server.api() as api:
        missing = api.get("/api/no-such-thing")
        wrong_method = api.put("/api/runs")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["message"] == "Method Not Allowed"
