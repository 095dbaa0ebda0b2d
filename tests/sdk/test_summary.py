"""`run.summary`: one value per name for the whole run, stored with it by `finish` as its
`info.summary` (never a curve), against a real server and in local mode; a bad summary sent
over REST is a 422 naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import Server

from .conftest import all_points, finish, first_line, script

pytestmark = pytest.mark.slow  # real server, real script processes

SCRIPT = """
    import math, torch, trainscope
    run = trainscope.init(name="summary", {where})
    run.log({{"train_loss": 0.5}})
    run.summary["train_runtime"] = 12.5
    run.summary["best_epoch"] = 3
    run.summary["final"] = torch.tensor(0.25)      # a tensor: its number
    run.summary["diverged_at"] = float("nan")      # JSON has no NaN: the REST API's spelling
    run.summary["optimizer"] = "adamw"
    run.summary["device"] = torch.device("cpu")    # no number: its str
    print(run.id, flush=True)
    run.finish()
"""
EXPECTED = {
    "train_runtime": 12.5,
    "best_epoch": 3,
    "final": 0.25,
    "diverged_at": "NaN",
    "optimizer": "adamw",
    "device": "cpu",
}


def test_summary_is_stored_with_the_run_on_a_server(server: Server) -> None:
    proc = script(SCRIPT.format(where=f"url={server.url!r}"))
    run_id = int(first_line(proc))
    finish(proc)
    with server.api() as api:
        run = api.get(f"/api/runs/{run_id}").json()
        cols = all_points(api, run_id)
    assert run["status"] == "completed"
    assert run["info"]["summary"] == EXPECTED
    assert set(cols["values"]) == {"train_loss"}  # not on the curves


def test_summary_is_stored_in_local_mode(tmp_path: Path) -> None:
    proc = script(SCRIPT.format(where=f"dir={str(tmp_path)!r}"))
    run_id = int(first_line(proc))
    finish(proc)
    srv = Server(tmp_path).start(wait_workers=False)
    try:
        with srv.api() as api:
            run = api.get(f"/api/runs/{run_id}").json()
    finally:
        srv.stop()
    assert run["status"] == "completed"
    assert run["info"]["summary"] == EXPECTED


def test_a_summary_that_is_no_object_of_scalars_is_refused(server: Server) -> None:
    with server.api() as api:
        run = api.post("/api/runs/external", json={"name": "bad summary"}).json()
        r = api.post(f"/api/runs/{run['id']}/finish", json={"summary": {"x": [1, 2]}})
        assert r.status_code == 422, r.text
        assert "summary" in r.text
        assert api.get(f"/api/runs/{run['id']}").json()["status"] == "running"


def test_a_summary_the_server_refuses_still_ends_the_run(server: Server) -> None:
    """501 names (the limit is 500): the run ends all the same, without it, and says why."""
    code = f"""
        import trainscope
        run = trainscope.init(name="big summary", url={server.url!r})
        run.log({{"train_loss": 0.5}})
        run.summary.update({{f"m{{i}}": i for i in range(501)}})
        print(run.id, flush=True)
        assert run.finish(timeout=30)
    """
    proc = script(code)
    run_id = int(first_line(proc))
    _, err = finish(proc, timeout=60)
    with server.api() as api:
        run = api.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "completed"
    assert "summary" not in run["info"]
    assert "the run's summary was refused" in err
