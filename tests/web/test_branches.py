"""Branches through a real server: POST /api/runs/{id}/branch, its refusals, and lineage."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import (
    Server,
    plateau_finding,
    put_findings_as_the_doctor,
    rest_points,
    spec,
    wait_status,
)

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow

ENDED = ("completed", "failed", "stopped", "diverged")


def _plain(points: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["seq"], p["iteration"], p["epoch"], p["values"]) for p in points]


def test_a_branch_with_no_changes_goes_on_exactly_as_its_parent(server: Server) -> None:
    with server.api() as api:
        parent = api.post("/api/runs", json=spec()).json()
        assert wait_status(api, parent["id"], ENDED)["status"] == "completed"
        assert api.get(f"/api/runs/{parent['id']}").json()["branchable_epochs"] == [1, 2, 3, 4, 5]

        answer = api.post(f"/api/runs/{parent['id']}/branch", json={"epoch": 2, "options": {}})
        assert answer.status_code == 201, answer.text
        branch = answer.json()
        assert branch["parent_id"] == parent["id"]
        assert branch["spec"]["branch"] == {"run_id": parent["id"], "epoch": 2}
        assert wait_status(api, branch["id"], ENDED)["status"] == "completed"

        own = rest_points(api, branch["id"])
        assert own and own[0]["epoch"] == 3  # its own points start after the branch epoch
        theirs = [p for p in rest_points(api, parent["id"]) if p["seq"] >= own[0]["seq"]]
        assert _plain(own) == _plain(theirs)  # bit for bit on CPU

        # Its history: the parent's points up to the branch point (the browser draws them).
        lineage = api.get(f"/api/runs/{branch['id']}").json()["lineage"]
        assert lineage == [{"run_id": parent["id"], "epoch": 2, "until_seq": own[0]["seq"] - 1}]
        assert api.get(f"/api/runs/{parent['id']}").json()["lineage"] == []

        # A branch's branch, with a changed learn rate, logged from its branch point.
        answer = api.post(
            f"/api/runs/{branch['id']}/branch",
            json={"epoch": 4, "options": {"initial_learn_rate": 0.0005}},
        )
        assert answer.status_code == 201, answer.text
        twig = answer.json()
        assert wait_status(api, twig["id"], ENDED)["status"] == "completed"
        rates = [
            p["values"]["learn_rate"]
            for p in rest_points(api, twig["id"])
            if "learn_rate" in p["values"]
        ]
        assert rates and all(r == 0.0005 for r in rates)
        assert {p["epoch"] for p in rest_points(api, twig["id"])} == {5}
        # The whole chain: the parent to epoch 2, then the branch to epoch 4, then its own.
        chain = api.get(f"/api/runs/{twig['id']}").json()["lineage"]
        first_own = rest_points(api, twig["id"])[0]["seq"]
        second = {"run_id": branch["id"], "epoch": 4, "until_seq": first_own - 1}
        assert chain == [lineage[0], second]

        # The parent's points are the branches' history: it cannot go while they remain.
        refused = api.delete(f"/api/runs/{parent['id']}")
        assert refused.status_code == 409
        assert str(branch["id"]) in refused.json()["message"]
        assert api.delete(f"/api/runs/{twig['id']}").status_code == 204
        assert api.delete(f"/api/runs/{branch['id']}").status_code == 204
        assert api.delete(f"/api/runs/{parent['id']}").status_code == 204


def test_a_branch_that_cannot_be_made_says_why(server: Server) -> None:
    with server.api() as api:
        parent = api.post("/api/runs", json=spec(max_epochs=3)).json()
        wait_status(api, parent["id"], ENDED)
        url = f"/api/runs/{parent['id']}/branch"

        fixed = api.post(url, json={"epoch": 1, "options": {"MiniBatchSize": 32}})
        assert fixed.status_code == 422
        assert fixed.json()["detail"][0]["loc"] == ["body", "options", "mini_batch_size"]
        assert "data order" in fixed.json()["message"]

        missing = api.post(url, json={"epoch": 7, "options": {}})
        assert missing.status_code == 409
        assert "1, 2, 3" in missing.json()["message"]

        too_short = api.post(url, json={"epoch": 3, "options": {}})
        assert too_short.status_code == 422
        assert too_short.json()["detail"][0]["loc"][-1] == "max_epochs"


def test_a_stopped_run_can_be_branched(server: Server) -> None:
    with server.api() as api:
        parent = api.post("/api/runs", json=spec(max_epochs=200)).json()
        assert wait_status(api, parent["id"], ("running",))["status"] == "running"
        deadline = time.monotonic() + 60
        while not api.get(f"/api/runs/{parent['id']}").json()["branchable_epochs"]:
            assert time.monotonic() < deadline, "no epoch checkpoint within 60 s"
            time.sleep(0.05)
        stopped = api.post(f"/api/runs/{parent['id']}/stop").json()
        assert stopped["status"] == "stopped"
        epochs = api.get(f"/api/runs/{parent['id']}").json()["branchable_epochs"]
        answer = api.post(
            f"/api/runs/{parent['id']}/branch",
            json={"epoch": epochs[0], "options": {"max_epochs": epochs[0] + 1}},
        )
        assert answer.status_code == 201, answer.text
        done = wait_status(api, answer.json()["id"], ENDED)
        assert done["status"] == "completed"
        assert {p["epoch"] for p in rest_points(api, done["id"])} == {epochs[0] + 1}


def test_the_doctor_offers_a_branch_where_it_is_the_fix_and_the_body_works(
    server: Server,
) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json=spec(max_epochs=4)).json()
        done = wait_status(api, run["id"], ENDED)
        per_epoch = done["progress"]["iterations_per_epoch"]
        # A plateau from the middle of epoch 3 (injected: which finding a real curve earns is
        # the doctor's own tests' business).
        found = plateau_finding(2 * per_epoch + per_epoch // 2)
        (plateau,) = put_findings_as_the_doctor(api, server, run["id"], [found])
        assert plateau["branch"] == {
            "epoch": 2,
            "options": {"initial_learn_rate": 0.001},
            "fix": "Branch at epoch 2 with initial_learn_rate 0.001 (÷10)",
        }
        body = {k: plateau["branch"][k] for k in ("epoch", "options")}
        answer = api.post(f"/api/runs/{run['id']}/branch", json=body)
        assert answer.status_code == 201, answer.text
        branch = wait_status(api, answer.json()["id"], ENDED)
        assert branch["status"] == "completed"
        points = rest_points(api, branch["id"])
        assert {p["values"]["learn_rate"] for p in points if "learn_rate" in p["values"]} == {0.001}
