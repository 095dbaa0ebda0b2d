"""Repeats, groups and sweeps against a real `trainscope serve` with real workers (issue 8)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server, rest_points, spec, wait_status
from .test_submit import submit

# Sweeps of real trials on a real server.
pytestmark = pytest.mark.slow

FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")


def tiny(**options: Any) -> dict[str, Any]:
    """One epoch of spirals: 24 iterations, well under a second on a warm worker."""
    return spec(**{"max_epochs": 1, **options})


def wait_sweep(
    api: httpx.Client,
    sweep_id: int,
    statuses: tuple[str, ...] = ("completed",),
    timeout: float = 90,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep: dict[str, Any] = api.get(f"/api/sweeps/{sweep_id}").json()
        if sweep["status"] in statuses:
            return sweep
        time.sleep(0.1)
    raise AssertionError(f"sweep {sweep_id} never reached {statuses}: {sweep}")


def test_a_2x2_grid_runs_exactly_those_four_combinations(server: Server) -> None:
    body = {
        "name": "grid",
        "base": tiny(),
        "space": {
            "initial_learn_rate": {"values": [0.01, 0.03]},
            "MiniBatchSize": {"values": [16, 32]},
        },
        "max_parallel": 2,
    }
    with server.api() as api:
        r = api.post("/api/sweeps", json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "running" and created["trials_total"] == 4
        assert created["varying"] == ["initial_learn_rate", "MiniBatchSize"]
        sweep = wait_sweep(api, created["id"])
        trials = sweep["trials"]
        assert [t["status"] for t in trials] == ["completed"] * 4
        runs = [api.get(f"/api/runs/{t['run_id']}").json() for t in trials]
        combos = {
            (r["spec"]["options"]["initial_learn_rate"], r["spec"]["options"]["mini_batch_size"])
            for r in runs
        }
        assert combos == {(0.01, 16), (0.01, 32), (0.03, 16), (0.03, 32)}
        assert {r["group"] for r in runs} == {sweep["group"]} == {f"sweep-{sweep['id']}"}
        assert all(r["sweep_id"] == sweep["id"] and "sweep" in r["tags"] for r in runs)
        # Best so far: the lowest final validation loss, as the runs themselves report it.
        losses = {r["id"]: r["latest"]["val_loss"] for r in runs}
        assert sweep["best"]["run_id"] == min(losses, key=losses.__getitem__)
        assert sweep["best"]["value"] == pytest.approx(min(losses.values()))
        assert sweep["counts"] == {"completed": 4}
        listed = api.get("/api/sweeps").json()
        assert sweep["id"] in [s["id"] for s in listed]
        assert (
            api.get("/api/runs", params={"group": sweep["group"]}).json()[0]["sweep_id"]
            == sweep["id"]
        )


def test_random_search_with_the_same_seed_proposes_the_same_trials(server: Server) -> None:
    body = {
        "base": tiny(),
        "strategy": "random",
        "space": {
            "initial_learn_rate": {"log_uniform": [0.001, 0.1]},
            "momentum": {"uniform": [0.5, 0.95]},
        },
        "trials": 5,
        "seed": 42,
        "max_parallel": 1,
    }
    with server.api() as api:
        first = api.post("/api/sweeps", json=body).json()
        second = api.post("/api/sweeps", json=body).json()
        other = api.post("/api/sweeps", json={**body, "seed": 43}).json()
        for s in (first, second, other):
            api.post(f"/api/sweeps/{s['id']}/stop")
        params = [[t["params"] for t in s["trials"]] for s in (first, second, other)]
        assert params[0] == params[1] and params[0] != params[2]
        assert len({json.dumps(p) for p in params[0]}) == 5


def test_repeats_have_distinct_seeds_one_group_with_the_parent_and_bands_of_mean_std(
    server: Server,
) -> None:
    with server.api() as api:
        parent = api.post("/api/runs", json=spec(max_epochs=2)).json()
        r = api.post(f"/api/runs/{parent['id']}/repeat", json={"count": 3})
        assert r.status_code == 201, r.text
        answer = r.json()
        group = answer["group"]
        assert group == f"repeats-{parent['id']}" and answer["parent"]["group"] == group
        made = answer["runs"]
        assert len(made) == 3 and all(m["parent_id"] == parent["id"] for m in made)
        members = [parent["id"], *(m["id"] for m in made)]
        runs = [wait_status(api, rid, ("completed",)) for rid in members]
        seeds = [run["spec"]["options"]["seed"] for run in runs]
        assert len(set(seeds)) == 4
        strip = [
            {k: v for k, v in run["spec"].items() if k != "options"}
            | {"options": {k: v for k, v in run["spec"]["options"].items() if k != "seed"}}
            for run in runs
        ]
        assert all(s == strip[0] for s in strip)
        assert {run["group"] for run in runs} == {group}

        g = api.get(f"/api/groups/{group}").json()
        assert [m["id"] for m in g["members"]] == members
        # The band, checked against each member's points computed here.
        per_run = {rid: rest_points(api, rid) for rid in members}
        band = g["metrics"]["val_loss"]
        assert band["iteration"]
        for i, iteration in enumerate(band["iteration"]):
            values = [
                p["values"]["val_loss"]
                for rid in members
                for p in per_run[rid]
                if p["iteration"] == iteration and "val_loss" in p["values"]
            ]
            assert len(values) == 4 == band["n"][i]
            assert band["mean"][i] == pytest.approx(statistics.mean(values))
            assert band["std"][i] == pytest.approx(statistics.stdev(values))
            assert (band["min"][i], band["max"][i]) == (min(values), max(values))
        verdict = g["verdict"]
        assert verdict["metric"] == "val_accuracy" and set(verdict["values"]) == {
            str(m) for m in members
        }
        assert verdict["verdict"] in ("consistent", "variable", "inconsistent")
        assert verdict["std"] == pytest.approx(
            statistics.stdev(run["latest"]["val_accuracy"] for run in runs)
        )
        # A second repeat joins the group with seeds none of it has used.
        again = api.post(f"/api/runs/{made[0]['id']}/repeat", json={"count": 2}).json()
        assert again["group"] == group
        new_seeds = [m["spec"]["options"]["seed"] for m in again["runs"]]
        assert not set(new_seeds) & set(seeds) and len(set(new_seeds)) == 2
        for m in again["runs"]:
            wait_status(api, m["id"], FINAL)
        assert api.get("/api/groups/no-such-group").status_code == 404


def test_stopping_a_sweep_stops_its_runs_and_starts_no_more(server: Server) -> None:
    body = {
        "base": spec(max_epochs=200),
        "space": {"seed": {"values": [1, 2, 3, 4]}},
        "max_parallel": 2,
    }
    with server.api() as api:
        sweep = api.post("/api/sweeps", json=body).json()
        ids = [t["run_id"] for t in sweep["trials"] if t["run_id"] is not None]
        assert len(ids) == 2
        for rid in ids:
            wait_status(api, rid, ("running",))
        r = api.post(f"/api/sweeps/{sweep['id']}/stop")
        assert r.status_code == 200, r.text
        stopped = r.json()
        assert stopped["status"] == "stopped"
        assert [t["status"] for t in stopped["trials"]] == [
            "stopped",
            "stopped",
            "pending",
            "pending",
        ]
        time.sleep(1.5)  # a few scheduler ticks
        after = api.get(f"/api/sweeps/{sweep['id']}").json()
        assert [t["run_id"] for t in after["trials"][2:]] == [None, None]
        assert api.post(f"/api/sweeps/{sweep['id']}/stop").status_code == 409
        assert api.post("/api/sweeps/999999/stop").status_code == 404


def test_early_termination_stops_a_trial_that_is_clearly_behind(server: Server) -> None:
    # One at a time: the two trials at 0.01 finish before the 1e-6 ones are judged against them.
    body = {
        "base": spec(max_epochs=150, solver="adam"),
        "space": {"initial_learn_rate": {"values": [0.01, 1e-6]}, "seed": {"values": [1, 2]}},
        "max_parallel": 1,
        "early_stop": {"rule": "median", "grace_fraction": 0.25, "min_trials": 2},
    }
    with server.api() as api:
        sweep = wait_sweep(api, api.post("/api/sweeps", json=body).json()["id"])
        trials = sweep["trials"]
        assert [t["status"] for t in trials] == ["completed", "completed", "stopped", "stopped"]
        assert [t["early_stopped"] for t in trials] == [False, False, True, True]
        for t in trials[2:]:
            run = api.get(f"/api/runs/{t['run_id']}").json()
            assert "early-stopped" in run["tags"]
            assert "median stopping rule" in run["message"]
            assert run["progress"]["iteration"] < run["progress"]["max_iterations"]
        assert sweep["best"]["params"]["initial_learn_rate"] == 0.01


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"space": {"learn_rate": {"values": [0.1]}}}, ["body", "space"], "not a training option"),
        ({"space": {"momentum": {"uniform": [0.1, 0.9]}}}, ["body"], "a grid needs"),
        ({"space": {"momentum": {"values": [0.9, 2]}}}, ["body", "space", "momentum"], "trial 1"),
        ({"space": {}}, ["body", "space"], "at least 1"),
        ({"base": {"dataset": {"name": "nope"}}}, ["body", "base", "dataset"], ""),
        ({"strategy": "bayes"}, ["body", "strategy"], "grid"),
        ({"max_parallel": 0}, ["body", "max_parallel"], "greater than or equal to 1"),
    ],
)
def test_a_bad_sweep_body_is_422_naming_the_field(
    server: Server, change: dict[str, Any], field: list[str], words: str
) -> None:
    body = {"base": tiny(), "space": {"seed": {"values": [1]}}, **change}
    with server.api() as api:
        r = api.post("/api/sweeps", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"][: len(field)] == field
    assert words in r.json()["message"]


def test_submit_a_sweep_file_and_follow_it(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "sweep.json"
    sweep = {"base": tiny(), "space": {"initial_learn_rate": {"values": [0.01, 0.02]}}}
    path.write_text(json.dumps(sweep))
    res = submit(str(path), "--url", server.url, "--follow")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("sweep ") and "/sweeps/" in res.stdout
    lines = [line for line in res.stderr.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2 and all("completed" in line for line in lines)
    assert "initial_learn_rate=0.01" in res.stderr and "best: trial" in res.stderr


# ---- one worker: a single run gets its turn ---------------------------------------------------


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("one-slot"), env={"TRAINSCOPE_MAX_RUNS": "1"}).start()
    yield srv
    srv.stop()


def test_a_single_run_starts_before_the_sweeps_remaining_trials(one_slot: Server) -> None:
    body = {
        "base": spec(max_epochs=60),
        "space": {"seed": {"values": [1, 2, 3]}},
        "max_parallel": 3,
    }
    with one_slot.api() as api:
        sweep = api.post("/api/sweeps", json=body).json()
        first = sweep["trials"][0]["run_id"]
        # One slot: one trial at a time, whatever max_parallel says; none waits in the queue.
        assert [t["run_id"] is not None for t in sweep["trials"]] == [True, False, False]
        wait_status(api, first, ("running",))
        single = api.post("/api/runs", json=tiny()).json()
        single = wait_status(api, single["id"], ("completed",))
        done = wait_sweep(api, sweep["id"])
        later = [api.get(f"/api/runs/{t['run_id']}").json() for t in done["trials"][1:]]
        assert all(run["started_at"] > single["ended_at"] for run in later)
        assert all(run["created_at"] > single["started_at"] for run in later)


def test_a_restarted_server_carries_on_with_the_sweep(one_slot: Server) -> None:
    body = {"base": spec(max_epochs=60), "space": {"seed": {"values": [1, 2]}}, "max_parallel": 1}
    with one_slot.api() as api:
        sweep = api.post("/api/sweeps", json=body).json()
        wait_status(api, sweep["trials"][0]["run_id"], ("running",))
    one_slot.stop()  # SIGTERM: the running trial checkpoints and is interrupted
    one_slot.start()
    with one_slot.api() as api:
        done = wait_sweep(api, sweep["id"])
        assert [t["status"] for t in done["trials"]] == ["completed", "completed"]
        first = api.get(f"/api/runs/{done['trials'][0]['run_id']}").json()
        assert first["progress"]["iteration"] == first["progress"]["max_iterations"]
