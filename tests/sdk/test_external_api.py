"""The REST side of external runs, as the SDK (or any client) sees it: create, points,
finish, and every way a request can be wrong. In process: no worker is involved."""

from __future__ import annotations

from typing import Any

import httpx

from ..web.conftest import spec
from ..web.in_process import InProcessServer

BATCH: dict[str, Any] = {
    "seq": [1, 2, 3],
    "iteration": [1, 2, 3],
    "epoch": [1, 1, 1],
    "wall_time": [1763700000.0, 1763700000.1, 1763700000.2],
    "values": {"train_loss": [2.3, "NaN", 2.1], "val_loss": [None, None, 2.2]},
}


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    r = api.post("/api/runs/external", json={"name": "api", **body})
    assert r.status_code == 201, r.text
    run: dict[str, Any] = r.json()
    return run


def test_a_batch_sent_twice_is_stored_once(app: InProcessServer) -> None:
    with app.api() as api:
        run = create(api, config={"lr": 0.1, "note": "anything JSON"})
        assert run["status"] == "running" and run["spec"]["kind"] == "external"
        first = api.post(f"/api/runs/{run['id']}/points", json=BATCH)
        again = api.post(f"/api/runs/{run['id']}/points", json=BATCH)
        overlap = {**BATCH, "seq": [3, 4, 5], "iteration": [3, 4, 5]}
        third = api.post(f"/api/runs/{run['id']}/points", json=overlap)
        cols = api.get(f"/api/runs/{run['id']}/metrics").json()
        heartbeat = api.post(
            f"/api/runs/{run['id']}/points",
            json={"seq": [], "iteration": [], "wall_time": [], "values": {}},
        )
    assert first.json() == {"stored": 3, "last_seq": 3, "stop": False}
    assert again.json() == {"stored": 0, "last_seq": 3, "stop": False}
    assert third.json()["stored"] == 2 and third.json()["last_seq"] == 5
    assert cols["seq"] == [1, 2, 3, 4, 5]
    assert cols["values"]["train_loss"][:3] == [2.3, "NaN", 2.1]
    assert heartbeat.status_code == 200 and heartbeat.json()["stored"] == 0


def test_finish_is_idempotent_and_an_ended_run_takes_no_more_points(app: InProcessServer) -> None:
    with app.api() as api:
        run = create(api)
        api.post(f"/api/runs/{run['id']}/points", json=BATCH)
        done = api.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
        again = api.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
        other = api.post(f"/api/runs/{run['id']}/finish", json={"status": "failed"})
        late = api.post(f"/api/runs/{run['id']}/points", json={**BATCH, "seq": [4, 5, 6]})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["ended_at"] is not None
    assert again.status_code == 200
    assert other.status_code == 409 and "already ended (completed)" in other.json()["message"]
    assert late.status_code == 409
    assert "has ended (completed): it takes no more points" in late.json()["message"]


def test_bad_batches_are_refused_naming_what_is_wrong(app: InProcessServer) -> None:
    with app.api() as api:
        run = create(api)
        url = f"/api/runs/{run['id']}/points"
        cases = [
            ({**BATCH, "values": {"train_loss": [1.0, "fast", 2.0]}}, "values.train_loss[1]"),
            ({**BATCH, "seq": [1, 3, 2]}, "seq must strictly increase"),
            ({**BATCH, "wall_time": [1.0]}, "wall_time has 1"),
            ({**BATCH, "values": {"train_loss": [1.0, None, 2.0]}}, "seq 2 has no values"),
            ({**BATCH, "seq": [0, 1, 2]}, "seq[0]"),
            ({**BATCH, "colour": "red"}, "unknown field 'colour'"),
        ]
        for body, named in cases:
            r = api.post(url, json=body)
            assert r.status_code == 422, (body, r.text)
            assert named in r.json()["message"], (named, r.json()["message"])
        assert api.get(f"/api/runs/{run['id']}").json()["last_seq"] == 0, "nothing stored"
        unknown = api.post("/api/runs/999999/points", json=BATCH)
        assert unknown.status_code == 404 and "no run with id 999999" in unknown.json()["message"]
        assert api.post("/api/runs/999999/finish", json={}).status_code == 404
        bad_status = api.post(f"/api/runs/{run['id']}/finish", json={"status": "diverged!"})
        assert bad_status.status_code == 422 and "status" in bad_status.json()["message"]


def test_external_runs_are_not_restarted_resumed_or_repeated_here(app: InProcessServer) -> None:
    with app.api() as api:
        run = create(api)
        api.post(f"/api/runs/{run['id']}/finish", json={"status": "stopped"})
        for action, body in [("restart", {}), ("resume", None), ("repeat", {"count": 2})]:
            r = api.post(f"/api/runs/{run['id']}/{action}", json=body)
            assert r.status_code == 409, (action, r.text)
            assert "external run" in r.json()["message"], r.text
        # POST /api/runs trains specs on workers: an external one is pointed to the SDK.
        r = api.post("/api/runs", json={"kind": "external", "name": "x"})
        assert r.status_code == 422 and "trainscope.init" in r.json()["message"]
        # A trained run is no external one: it takes no points over REST.
        trained = api.post("/api/runs", json=spec()).json()
        r = api.post(f"/api/runs/{trained['id']}/points", json=BATCH)
        assert r.status_code == 409 and "only an external run" in r.json()["message"]
        api.post(f"/api/runs/{trained['id']}/stop")


def test_a_spec_without_a_dataset_is_still_refused_as_missing(app: InProcessServer) -> None:
    with app.api() as api:
        r = api.post("/api/runs", json={"model": {"preset": "mlp"}})
        nulled = api.post("/api/runs", json={"dataset": None})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "dataset"]
    assert nulled.status_code == 422 and "only for an external run" in nulled.json()["message"]


def test_stop_is_answered_at_once_and_told_with_the_next_batch(app: InProcessServer) -> None:
    with app.api() as api:
        run = create(api)
        stop = api.post(f"/api/runs/{run['id']}/stop")
        assert stop.status_code == 200
        assert stop.json()["status"] == "running" and stop.json()["info"]["stop_requested"]
        answer = api.post(f"/api/runs/{run['id']}/points", json=BATCH).json()
        assert answer["stop"] is True
        done = api.post(f"/api/runs/{run['id']}/finish", json={"status": "stopped"}).json()
        assert done["status"] == "stopped"
        assert api.post(f"/api/runs/{run['id']}/stop").status_code == 409
        assert api.delete(f"/api/runs/{run['id']}").status_code == 204


def test_config_added_after_the_start_is_merged_and_mirrored(app: InProcessServer) -> None:
    """POST /api/runs/{id}/config (TensorBoard's add_hparams at the end of training)."""
    with app.api() as api:
        run = create(api, config={"lr": 0.1, "note": "first"})
        url = f"/api/runs/{run['id']}/config"
        answer = api.post(url, json={"config": {"batch_size": 64, "note": "second"}})
        assert answer.status_code == 200, answer.text
        stored = api.get(f"/api/runs/{run['id']}").json()
        assert stored["spec"]["config"] == {"lr": 0.1, "note": "second", "batch_size": 64}
        assert stored["spec"]["options"]["mini_batch_size"] == 64  # mirrored for the doctor
        assert stored["spec"]["options"]["initial_learn_rate"] == 0.1
        assert set(stored["info"]["mirrored_options"]) == {"initial_learn_rate", "mini_batch_size"}
        assert stored["name"] == "api" and stored["info"]["client"] == run["info"]["client"]
        # an ended run still takes it (an import, or add_hparams as the writer closes)
        api.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
        assert api.post(url, json={"config": {"seed": 3}}).status_code == 200
        assert api.get(f"/api/runs/{run['id']}").json()["spec"]["config"]["seed"] == 3

        assert api.post("/api/runs/999999/config", json={"config": {}}).status_code == 404
        assert api.post(url, json={"config": [1, 2]}).status_code == 422
        assert api.post(url, json={"config": {}, "other": 1}).status_code == 422
        engine_run = api.post("/api/runs", json=spec()).json()
        refused = api.post(f"/api/runs/{engine_run['id']}/config", json={"config": {"a": 1}})
        assert refused.status_code == 409
