"""Repeats, groups and sweeps in a real Chromium against a real server (issue 8).

The UI contract these tests add (data attributes, not CSS classes or wording):

- run page: `[data-testid=repeat]` (its text "Repeat ×N") with `[data-testid=repeat-count]`;
  `[data-testid=group-link]` when the run has a group;
- rail: `[data-testid=sweeps-link]`; `[data-testid=rail-groups]` (a <details>) with one
  `[data-testid=rail-group][data-group=NAME]` per group;
- group page `/groups/{name}`: `[data-testid=group-page][data-group][data-members]`,
  `[data-testid=group-verdict][data-verdict]` (consistent | variable | inconsistent | unknown),
  `[data-testid=band-mode]` (std | range), the Plotly graphs `[data-testid=group-chart-accuracy]`
  (or `-rmse`) and `[data-testid=group-chart-loss]` (traces "<metric> mean" and a filled band
  "<metric> ±1 std" / "<metric> min–max"), `[data-testid=group-members]` with one
  `tr[data-run-id]` per member;
- sweeps list `/sweeps`: `[data-testid=sweep-item][data-sweep-id]`;
- sweep page `/sweeps/{id}`: `[data-testid=sweep-page][data-status][data-best]` (the best run's
  id), `[data-testid=sweep-status]`, `sweep-progress`, `sweep-best`, `sweep-stop`,
  `restart-best` (opens `[data-testid=restart-form][data-run-id]`); `[data-testid=trial-table]`
  with `tr[data-trial][data-run-id]` rows (`class=best` on the best) and header buttons
  `[data-testid=sort-COLUMN]` (`sort-param:KEY`, `sort-metric:NAME`, `sort-status`…);
  `[data-testid=sweep-parcoords]` (its `data-axes`: the axis labels, JSON; one trace per
  trial with `meta.trial`), `[data-testid=sweep-curves]` (one trace per trial with
  `meta.trial` and `meta.best`; an annotation "best · trial N").
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    FINAL,
    Watch,
    create_run,
    fill_form,
    rest_run,
    screenshot_path,
    stop_quietly,
    wait_for,
)
from tests.web.conftest import Server, wait_status


def tiny(**options: Any) -> dict[str, Any]:
    """digits on 300 training samples: a two-epoch run takes well under a second."""
    return {
        "dataset": {"name": "digits", "max_train_samples": 300},
        "model": {"preset": "simple-cnn"},
        "options": {
            "max_epochs": 2,
            "mini_batch_size": 32,
            "validation_frequency": 3,
            "execution_environment": "cpu",
            **options,
        },
    }


def create_sweep(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/sweeps", json=body, timeout=30)
    assert response.status_code == 201, response.text
    sweep: dict[str, Any] = response.json()
    return sweep


def rest_sweep(server: Server, sweep_id: int) -> dict[str, Any]:
    sweep: dict[str, Any] = httpx.get(f"{server.url}/api/sweeps/{sweep_id}", timeout=10).json()
    return sweep


def wait_sweep(
    server: Server, sweep_id: int, statuses: tuple[str, ...], timeout: float = 120
) -> Any:
    def settled(s: dict[str, Any]) -> bool:
        return s["status"] in statuses and all(
            t["status"] in (*FINAL, "pending", "deleted") for t in s["trials"]
        )

    return wait_for(lambda: rest_sweep(server, sweep_id), settled, timeout, f"sweep {sweep_id}")


def graph(page: Page, testid: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = page.evaluate(
        """sel => {
            const g = document.querySelector(sel);
            if (!g || !Array.isArray(g.data)) return null;
            return JSON.parse(JSON.stringify({
                traces: g.data.map(t => ({name: t.name, meta: t.meta || null, fill: t.fill || null,
                    width: t.line ? t.line.width : null, color: t.line ? t.line.color : null,
                    n: (t.x || []).length})),
                annotations: (g.layout.annotations || []).map(a => a.text)}));
        }""",
        f"[data-testid={testid}]",
    )
    return value


def open_sweep(page: Page, server: Server, sweep_id: int) -> None:
    """As a user gets there: the rail's Sweeps link, then the sweep in the list."""
    page.goto(server.url)
    page.locator("[data-testid=sweeps-link]").click()
    expect(page).to_have_url(re.compile(r"/sweeps$"))
    page.locator(f'[data-testid=sweep-item][data-sweep-id="{sweep_id}"] a').first.click()
    expect(page).to_have_url(re.compile(rf"/sweeps/{sweep_id}$"))
    expect(page.locator("[data-testid=sweep-page]")).to_be_visible()


def tall_screenshot(page: Page, name: str) -> None:
    """The whole page: the app scrolls inside <main>, so grow the viewport to its content."""
    height = page.evaluate("() => document.querySelector('#main').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(3000, max(800, int(height)))})
    page.wait_for_timeout(400)  # Plotly's responsive relayout
    page.screenshot(path=str(screenshot_path(name)))
    page.set_viewport_size({"width": 1280, "height": 800})


# ---- Repeats and the group page -----------------------------------------------------------------


def test_repeat_x3_lands_on_the_group_page_with_bands_members_and_a_verdict(
    server: Server, page: Page
) -> None:
    parent = create_run(server, tiny(initial_learn_rate=0.03))
    wait_status(server.api(), parent["id"], FINAL, timeout=120)
    page.goto(f"{server.url}/runs/{parent['id']}")
    repeat = page.locator("[data-testid=repeat]")
    expect(repeat).to_have_text("Repeat ×3")
    count = page.locator("[data-testid=repeat-count]")
    count.fill("2")
    expect(repeat).to_have_text("Repeat ×2")
    count.fill("3")
    repeat.click()

    group = f"repeats-{parent['id']}"
    expect(page).to_have_url(re.compile(rf"/groups/{group}$"))
    group_page = page.locator("[data-testid=group-page]")
    expect(group_page).to_have_attribute("data-group", group)
    members = httpx.get(f"{server.url}/api/runs", params={"group": group}).json()
    assert len(members) == 4, members  # the parent and its three repeats
    for m in members:
        wait_status(server.api(), m["id"], FINAL, timeout=120)

    # The page follows the members until they end: four rows, every seed once, a verdict.
    rows = page.locator("[data-testid=group-members] tr[data-run-id]")
    expect(rows).to_have_count(4)
    verdict = page.locator("[data-testid=group-verdict]")
    expect(verdict).not_to_have_attribute("data-verdict", "unknown", timeout=15_000)
    answer = httpx.get(f"{server.url}/api/groups/{group}").json()["verdict"]
    expect(verdict).to_have_attribute("data-verdict", answer["verdict"])
    expect(verdict).to_contain_text(answer["verdict"].capitalize())
    expect(verdict).to_contain_text("val accuracy")
    seeds = rows.locator("td:nth-child(2)").all_inner_texts()
    assert sorted(seeds) == ["0", "1", "2", "3"], seeds
    for m in members:
        row = page.locator(f'[data-testid=group-members] tr[data-run-id="{m["id"]}"]')
        expect(row).to_contain_text("completed")

    # The mean curve with a shaded ±1 std band; the toggle switches it to min–max.
    def acc() -> dict[str, Any] | None:
        return graph(page, "group-chart-accuracy")

    drawn = wait_for(acc, lambda g: bool(g and g["traces"]), 10, "the accuracy bands")
    names = {t["name"] for t in drawn["traces"]}
    assert "val accuracy mean" in names, names
    band = [t for t in drawn["traces"] if t["fill"] == "tonexty"]
    assert band and band[0]["name"] == "val accuracy ±1 std" and band[0]["n"] > 2, drawn
    loss = graph(page, "group-chart-loss")
    assert loss and {"val loss mean", "train loss mean"} <= {t["name"] for t in loss["traces"]}
    tall_screenshot(page, "group-page")
    page.locator("[data-testid=band-mode]").select_option("range")
    wait_for(
        acc,
        lambda g: any(t["name"] == "val accuracy min–max" for t in g["traces"]),
        10,
        "the min–max band",
    )

    # The member's run page links back to the group; so does the rail.
    rows.first.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.locator("[data-testid=group-link]")).to_have_text(group)
    rail_groups = page.locator("[data-testid=rail-groups]")
    if not rail_groups.evaluate("el => el.open"):
        page.locator("[data-testid=rail-groups-toggle]").click()
    page.locator(f'[data-testid=rail-group][data-group="{group}"]').click()
    expect(page).to_have_url(re.compile(rf"/groups/{group}$"))
    expect(page.locator("[data-testid=group-page]")).to_have_attribute("data-members", "4")


# ---- A grid sweep -------------------------------------------------------------------------------


def row_trials(page: Page) -> list[int]:
    rows = page.locator("[data-testid=trial-table] tr[data-trial]")
    return [int(t or -1) for t in rows.evaluate_all("rs => rs.map(r => r.dataset.trial)")]


def test_a_grid_sweep_page_table_parcoords_curves_best_and_restart(
    server: Server, page: Page
) -> None:
    sweep = create_sweep(
        server,
        {
            "name": "e2e grid",
            "base": tiny(),
            "strategy": "grid",
            "space": {
                "initial_learn_rate": {"values": [0.003, 0.03]},
                "mini_batch_size": {"values": [16, 32]},
            },
            "metric": "val_accuracy",
            "max_parallel": 2,
        },
    )
    done = wait_sweep(server, sweep["id"], ("completed",))
    best = done["best"]
    assert best and best["run_id"]
    open_sweep(page, server, sweep["id"])
    sweep_page = page.locator("[data-testid=sweep-page]")
    expect(sweep_page).to_have_attribute("data-status", "completed")
    expect(page.locator("[data-testid=sweep-status]")).to_have_text("completed")
    expect(page.locator("[data-testid=sweep-progress]")).to_contain_text("4 of 4 done")
    expect(page.locator("[data-testid=sweep-best]")).to_contain_text(f"trial {best['index'] + 1}")
    expect(sweep_page).to_have_attribute("data-best", str(best["run_id"]))
    expect(page.locator("[data-testid=sweep-stop]")).to_be_disabled()

    # Four trials, best first (sorted by the target, maximised); the best row is marked.
    rows = page.locator("[data-testid=trial-table] tr[data-trial]")
    expect(rows).to_have_count(4)
    by_value = sorted(done["trials"], key=lambda t: -t["value"])
    assert row_trials(page) == [t["index"] for t in by_value]
    best_row = page.locator("[data-testid=trial-table] tr.best")
    expect(best_row).to_have_count(1)
    expect(best_row).to_have_attribute("data-run-id", str(best["run_id"]))

    # A click on a column header sorts by it; a second click reverses.
    page.locator("[data-testid='sort-param:mini_batch_size']").click()
    order = row_trials(page)
    sizes = [done["trials"][i]["params"]["mini_batch_size"] for i in order]
    assert sizes == [16, 16, 32, 32], (order, sizes)
    page.locator("[data-testid='sort-param:mini_batch_size']").click()
    sizes = [done["trials"][i]["params"]["mini_batch_size"] for i in row_trials(page)]
    assert sizes == [32, 32, 16, 16], sizes
    page.locator("[data-testid=sort-index]").click()
    assert row_trials(page) == [0, 1, 2, 3]
    expect(page.locator("th[data-col=index]")).to_have_attribute("aria-sort", "ascending")

    # Parallel coordinates: an axis per varying option (the learn rate on a log axis) and the
    # target; one line per trial.
    parcoords = page.locator("[data-testid=sweep-parcoords]")
    expect(parcoords).to_have_attribute("data-axes", re.compile("mini_batch_size"))
    axes = json.loads(parcoords.get_attribute("data-axes") or "[]")
    assert axes == ["initial_learn_rate (log)", "mini_batch_size", "val accuracy"], axes
    pc = graph(page, "sweep-parcoords")
    assert pc is not None
    lines = [t for t in pc["traces"] if t["meta"]]
    assert sorted(t["meta"]["trial"] for t in lines) == [0, 1, 2, 3]
    assert "0.003" in pc["annotations"] and "0.03" in pc["annotations"], pc["annotations"]

    # Every trial's validation curve, coloured like its parcoords line; the best one thick,
    # drawn on top and labelled.
    curves = wait_for(
        lambda: graph(page, "sweep-curves"),
        lambda g: bool(g) and len([t for t in g["traces"] if t["meta"]]) == 4,
        15,
        "four curves",
    )
    traced = [t for t in curves["traces"] if t["meta"]]
    assert all(t["n"] > 1 for t in traced), traced
    top = traced[-1]
    assert top["meta"] == {"trial": best["index"], "best": True}, traced
    assert top["width"] > max(t["width"] for t in traced[:-1])
    assert f"best · trial {best['index'] + 1}" in curves["annotations"]
    colour = {t["meta"]["trial"]: t["color"] for t in lines}
    assert all(colour[t["meta"]["trial"]] == t["color"] for t in traced)
    tall_screenshot(page, "sweep-page")

    # Restart best with changes: the editor, prefilled from the best trial's run.
    page.locator("[data-testid=restart-best]").click()
    form = page.locator("[data-testid=restart-form]")
    expect(form).to_be_visible()
    expect(form).to_have_attribute("data-run-id", str(best["run_id"]))
    lr = best["params"]["initial_learn_rate"]
    expect(form.locator('[data-field="options.initial_learn_rate"]')).to_have_value(
        re.compile(rf"^0?{re.escape(str(lr).lstrip('0'))}$")
    )
    expect(form.locator('[data-field="options.mini_batch_size"]')).to_have_value(
        str(best["params"]["mini_batch_size"])
    )
    form.locator('[data-field="options.max_epochs"]').fill("1")
    form.locator("[data-testid=restart-submit]").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    child = rest_run(server, int(page.url.rsplit("/", 1)[1]))
    assert child["parent_id"] == best["run_id"]
    assert child["spec"]["options"]["initial_learn_rate"] == lr
    assert child["spec"]["options"]["max_epochs"] == 1
    wait_status(server.api(), child["id"], FINAL, timeout=120)


def fill_sweep_row(page: Page, index: int, option: str, kind: str, values: str) -> None:
    row = page.locator("[data-testid=sweep-row]").nth(index)
    row.locator("[data-testid=sweep-option]").select_option(option)
    row.locator("[data-testid=sweep-kind]").select_option(kind)
    row.locator("[data-testid=sweep-values]").fill(values)


def test_a_sweep_started_from_the_new_run_form_runs_the_grid_it_shows(
    server: Server, page: Page, watch: Watch
) -> None:
    watch.allow(r"status of 422 .*/api/sweeps\)$")  # the refused value, on purpose
    page.goto(server.url)
    page.locator("[data-testid=sweeps-link]").click()
    page.locator("[data-testid=sweeps-new]").click()
    expect(page).to_have_url(re.compile(r"/runs/new$"))
    fill_form(
        page,
        {
            "name": "form grid",
            "dataset.name": "digits",
            "dataset.max_train_samples": "300",
            "model.preset": "simple-cnn",
            "options.max_epochs": "2",
            "options.validation_frequency": "3",
            "options.execution_environment": "cpu",
        },
    )

    def sweeps() -> list[int]:
        return [s["id"] for s in httpx.get(f"{server.url}/api/sweeps", timeout=10).json()]

    before = sweeps()  # the module's server: other tests made theirs
    panel = page.locator("[data-testid=sweep-form]")
    panel.locator("summary").click()
    # A value the option does not take: refused before any run starts, the row marked.
    fill_sweep_row(page, 0, "initial_learn_rate", "values", "0.003, -1")
    page.locator("[data-testid=sweep-start]").click()
    error = page.locator("[data-testid=sweep-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("initial_learn_rate")
    expect(page.locator("[data-testid=sweep-row]").first).to_have_class(re.compile("invalid"))
    expect(page).to_have_url(re.compile(r"/runs/new$"))
    assert sweeps() == before, "a refused sweep creates nothing"

    # 2 learn rates × 2 batch sizes: the panel says 4 runs, and the sweep runs those four.
    fill_sweep_row(page, 0, "initial_learn_rate", "values", "0.003, 0.03")
    page.locator("[data-testid=sweep-add]").click()
    fill_sweep_row(page, 1, "mini_batch_size", "values", "16, 32")
    page.locator("[data-testid=sweep-metric]").select_option("val_accuracy")
    expect(page.locator("[data-testid=sweep-summary]")).to_have_text("4 runs, 2 at a time.")
    page.locator("[data-testid=sweep-start]").click()
    expect(page).to_have_url(re.compile(r"/sweeps/\d+$"))
    sweep_id = int(page.url.rsplit("/", 1)[1])
    assert sweep_id not in before and sweeps()[0] == sweep_id
    expect(page.locator("[data-testid=sweep-page]")).to_be_visible()

    done = wait_sweep(server, sweep_id, ("completed",))
    assert done["name"] == "form grid"
    assert done["metric"] == "val_accuracy"
    combos = sorted(
        (t["params"]["initial_learn_rate"], t["params"]["mini_batch_size"]) for t in done["trials"]
    )
    assert combos == [(0.003, 16), (0.003, 32), (0.03, 16), (0.03, 32)]
    for trial in done["trials"]:
        spec = rest_run(server, trial["run_id"])["spec"]
        assert spec["dataset"]["max_train_samples"] == 300, "the form's spec is every trial's base"
        assert spec["options"]["max_epochs"] == 2
    expect(page.locator("[data-testid=sweep-status]")).to_have_text("completed", timeout=20_000)
    expect(page.locator("[data-testid=trial-table] tr[data-trial]")).to_have_count(4)


def test_stop_on_a_running_sweep_stops_it(server: Server, page: Page) -> None:
    # Long trials, one at a time: the sweep is surely running when Stop is pressed.
    sweep = create_sweep(
        server,
        {
            "name": "e2e stop",
            "base": tiny(max_epochs=500),
            "strategy": "grid",
            "space": {"initial_learn_rate": {"values": [0.001, 0.002, 0.004]}},
            "max_parallel": 1,
        },
    )
    try:
        open_sweep(page, server, sweep["id"])
        expect(page.locator("[data-testid=sweep-status]")).to_have_text("running")
        running = page.locator('[data-testid=trial-table] tr[data-status="running"]')
        expect(running).to_have_count(1, timeout=30_000)
        expect(page.locator("[data-testid=sweep-progress]")).to_contain_text("1 running")
        stop = page.locator("[data-testid=sweep-stop]")
        expect(stop).to_be_enabled()
        stop.click()
        expect(page.locator("[data-testid=sweep-status]")).to_have_text("stopped", timeout=20_000)
        expect(running).to_have_count(0, timeout=10_000)
        expect(stop).to_be_disabled()
        after = rest_sweep(server, sweep["id"])
        assert after["status"] == "stopped"
        assert not [t for t in after["trials"] if t["status"] in ("queued", "running")], after
    finally:
        httpx.post(f"{server.url}/api/sweeps/{sweep['id']}/stop", timeout=30)
        for t in rest_sweep(server, sweep["id"])["trials"]:
            if t["run_id"]:
                stop_quietly(server, t["run_id"])


def test_group_and_sweep_pages_have_shareable_urls(server: Server, page: Page) -> None:
    """Opened straight from their URL (a link someone sent), not only from inside the app."""
    sweeps = httpx.get(f"{server.url}/api/sweeps").json()
    if not sweeps:  # this file's other tests make some; on its own, make one
        sweeps = [
            create_sweep(
                server, {"base": tiny(), "space": {"mini_batch_size": {"values": [16, 32]}}}
            )
        ]
    sweep = sweeps[-1]
    started = time.monotonic()
    page.goto(f"{server.url}/sweeps/{sweep['id']}")
    expect(page.locator("[data-testid=sweep-page]")).to_have_attribute(
        "data-sweep-id", str(sweep["id"])
    )
    page.goto(f"{server.url}/sweeps")
    expect(page.locator(f'[data-testid=sweep-item][data-sweep-id="{sweep["id"]}"]')).to_be_visible()
    page.goto(f"{server.url}/groups/{sweep['group']}")
    expect(page.locator("[data-testid=group-page]")).to_have_attribute("data-group", sweep["group"])
    page.reload()
    expect(page.locator("[data-testid=group-page]")).to_be_visible()
    assert time.monotonic() - started < 30
