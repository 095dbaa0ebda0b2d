"""The doctor in a real server: real short runs that must produce their findings, live on the
websocket and stored for REST, with patches that restart into a fixed run."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.web.conftest import Server, collect_until_end, wait_status

# Real runs on a real server: the doctor judges real curves.
pytestmark = pytest.mark.slow

FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")


def digits(**options: Any) -> dict[str, Any]:
    return {
        "name": "digits",
        "dataset": {"name": "digits"},
        "model": {"preset": "mlp"},
        "options": {
            "max_epochs": 4,
            "mini_batch_size": 32,
            "validation_frequency": 10,
            "execution_environment": "cpu",
            **options,
        },
    }


def findings_when_done(api: httpx.Client, run_id: int, timeout: float = 120) -> list[Any]:
    """The findings stored after the run ended: the doctor diagnoses an ended run at once, but
    on its own thread, so they land a moment after the final status."""
    run = wait_status(api, run_id, FINAL, timeout=timeout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found: list[Any] = api.get(f"/api/runs/{run_id}/findings").json()
        if found and all(f["created_at"] >= run["ended_at"] - 0.5 for f in found):
            return found
        time.sleep(0.1)
    return api.get(f"/api/runs/{run_id}/findings").json()  # type: ignore[no-any-return]


def by_code(found: list[Any]) -> dict[str, Any]:
    return {f["code"]: f for f in found}


def test_a_learn_rate_of_50_diverges_and_the_fix_lowers_it(server: Server) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json=digits(initial_learn_rate=50, momentum=0.9)).json()
        with server.ws(f"/ws/runs/{run['id']}") as ws:
            _, _, others = collect_until_end(ws)
            # The ended run's findings follow its final status on the same socket (a round
            # that began before the status may come first, with what it saw then).
            deadline = time.monotonic() + 15

            def diverged_seen() -> bool:
                lists = [m["findings"] for m in others if m["type"] == "findings"]
                return bool(lists) and "diverged" in by_code(lists[-1])

            while not diverged_seen():
                others.append(json.loads(ws.recv(timeout=deadline - time.monotonic())))
        assert wait_status(api, run["id"], FINAL)["status"] == "diverged"
        live = [m for m in others if m["type"] == "findings"][-1]["findings"]
        stored = findings_when_done(api, run["id"])
        diverged = by_code(stored)["diverged"]
        assert "diverged" in by_code(live)
        assert diverged["severity"] == "critical" and diverged["iteration"] >= 1
        assert diverged["patch"]["options"]["initial_learn_rate"] <= 5  # at least ÷10
        assert diverged["fix"]

        # Apply & restart: the patch is a restart body as it stands.
        child = api.post(f"/api/runs/{run['id']}/restart", json=diverged["patch"])
        assert child.status_code == 201, child.text
        body = child.json()
        assert body["parent_id"] == run["id"]
        assert body["spec"]["options"]["initial_learn_rate"] <= 5
        api.post(f"/api/runs/{body['id']}/stop")


def test_many_epochs_on_a_small_slice_without_l2_overfit(server: Server) -> None:
    spec = digits(
        max_epochs=60,
        mini_batch_size=10,
        solver="adam",
        initial_learn_rate=0.003,
        l2_regularization=0,
        validation_frequency=5,
    )
    spec["dataset"] = {"name": "digits", "max_train_samples": 50, "validation_fraction": 0.4}
    with server.api() as api:
        run = api.post("/api/runs", json=spec).json()
        found = by_code(findings_when_done(api, run["id"]))
    assert "overfitting" in found, found
    patch = found["overfitting"]["patch"]["options"]
    assert patch.get("max_epochs", 60) < 60 or "validation_patience" in patch


def test_a_learn_rate_of_1e_6_is_too_slow(server: Server) -> None:
    spec = digits(initial_learn_rate=1e-6, max_epochs=3, solver="sgdm")
    with server.api() as api:
        run = api.post("/api/runs", json=spec).json()
        found = by_code(findings_when_done(api, run["id"]))
    assert "too-slow" in found, found
    assert found["too-slow"]["patch"]["options"]["initial_learn_rate"] >= 1e-5


def test_preflight_overfit_batch_passes_on_digits(server: Server) -> None:
    spec = {**digits(solver="adam"), "kind": "overfit-batch"}
    with server.api() as api:
        run = api.post("/api/runs", json=spec).json()
        found = by_code(findings_when_done(api, run["id"]))
    assert found["overfit-batch"]["severity"] == "ok", found
    assert found["initial-loss"]["severity"] == "ok", found


def test_lr_range_test_suggests_a_learn_rate_that_trains(server: Server) -> None:
    spec = {**digits(solver="sgdm"), "kind": "lr-range-test"}
    with server.api() as api:
        run = api.post("/api/runs", json=spec).json()
        ended = wait_status(api, run["id"], FINAL, timeout=120)
        assert (ended["status"], ended["finish_reason"]) == ("completed", "loss-exploded")
        found = by_code(findings_when_done(api, run["id"]))
        suggestion = found["lr-range"]
        lr = suggestion["patch"]["options"]["initial_learn_rate"]
        assert 1e-4 <= lr <= 1, suggestion  # sgdm with momentum on digits: ~1e-2 trains well
        assert suggestion["evidence"]["suggested"] == lr
        # Apply & restart: the patch itself makes a train run at that rate, and it learns.
        assert suggestion["patch"]["kind"] == "train"
        body = {**suggestion["patch"]}
        body["options"] = {**body["options"], "max_epochs": 3}
        child = api.post(f"/api/runs/{run['id']}/restart", json=body).json()
        assert child["spec"]["kind"] == "train"
        done = wait_status(api, child["id"], FINAL, timeout=120)
    assert done["status"] == "completed"
    assert done["latest"]["val_accuracy"] > 0.8


def test_findings_refresh_on_demand_and_unknown_run(server: Server) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json=digits(initial_learn_rate=1e-6, max_epochs=3)).json()
        wait_status(api, run["id"], FINAL)
        fresh = api.get(f"/api/runs/{run['id']}/findings", params={"refresh": "true"})
        assert fresh.status_code == 200 and "too-slow" in by_code(fresh.json())
        missing = api.get("/api/runs/999999/findings")
        assert missing.status_code == 404 and "999999" in missing.text


def test_repeats_that_spread_wider_than_the_change_they_judge_are_inconsistent(
    server: Server,
) -> None:
    """A parent at learn rate 0.05, then three repeats of a child at 0.051 (seeds 1-3, one
    group): a 2 % change in the learn rate is far below the seed noise of a short run on a
    small slice, so the last repeat to end says the comparison is noise."""
    base = digits(initial_learn_rate=0.05, max_epochs=2, mini_batch_size=16)
    base["dataset"] = {"name": "digits", "max_train_samples": 160}
    with server.api() as api:
        parent = api.post("/api/runs", json=base).json()
        wait_status(api, parent["id"], FINAL)
        children = [
            api.post(
                f"/api/runs/{parent['id']}/restart",
                json={"options": {"initial_learn_rate": 0.051, "seed": seed}, "group": "lr-0.051"},
            ).json()
            for seed in (1, 2, 3)
        ]
        for child in children:
            wait_status(api, child["id"], FINAL)
        finals = [
            api.get(f"/api/runs/{c['id']}").json()["latest"]["val_accuracy"] for c in children
        ]
        parent_final = api.get(f"/api/runs/{parent['id']}").json()["latest"]["val_accuracy"]
        last = max(children, key=lambda c: api.get(f"/api/runs/{c['id']}").json()["ended_at"])
        found = by_code(findings_when_done(api, last["id"]))
    spread = max(finals) - min(finals)
    difference = abs(sum(finals) / 3 - parent_final)
    # Same spec, same seeds, CPU: these numbers are the same on every run of this test.
    assert spread > difference, (finals, parent_final)
    finding = found["inconsistent"]
    assert finding["severity"] == "warning"
    assert finding["evidence"]["repeats"] == 3
    assert finding["evidence"]["spread"] == pytest.approx(spread)
    assert finding["evidence"]["compared_difference"] == pytest.approx(difference)
