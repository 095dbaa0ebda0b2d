"""The training doctor in a real Chromium against a real server: findings with a fix that
restarts, the preflight checks from the New run page, the LR range test, the update/weight
ratio chart.

The UI contract these tests add (data attributes, not CSS classes or wording):

- run page: `[data-testid=doctor]` with one `[data-testid=finding][data-code=CODE]
  [data-severity=SEV]` per finding, its `[data-testid=finding-fix]` and, when it has a patch,
  `[data-testid=apply-fix]`; the loss chart's layout has a shape and an annotation per finding
  with an iteration (shape name `finding-CODE`, annotation text CODE);
- a preflight run's page (overfit-batch, initial-loss): `[data-testid=verdict]` with
  `data-verdict` "pending" | "passed" | "failed";
- an LR range test's page: the Plotly graph `[data-testid=chart-lr-range]` (log x), a shape
  named `suggested`, `[data-testid=use-suggested-lr]`;
- a run with update_ratio_frequency: `[data-testid=update-ratio]` around the Plotly graph
  `[data-testid=chart-update-ratio]` (log y, shapes `ratio-band` and `ratio-reference`);
- New run page: `[data-testid=preflight-initial-loss]`, `preflight-overfit-batch`,
  `preflight-lr-range-test`; `/runs/new?from=ID&options.x=v` prefills from run ID.
"""

from __future__ import annotations

import math
import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    FINAL,
    RUN_URL,
    create_run,
    digits,
    rest_run,
    run_id_of,
    screenshot,
    screenshot_path,
    set_field,
    stop_quietly,
    wait_for,
)
from tests.web.conftest import Server, plateau_finding, put_findings_as_the_doctor, wait_status

# A Plotly graph's layout and traces as plain JSON (null before it is drawn).
GRAPH = """sel => {
    const g = document.querySelector(sel);
    if (!g || !g.layout || !Array.isArray(g.data)) return null;
    return {
        layout: JSON.parse(JSON.stringify({
            shapes: g.layout.shapes || [], annotations: g.layout.annotations || [],
            xaxis: g.layout.xaxis, yaxis: g.layout.yaxis})),
        traces: g.data.map(t => ({name: t.name, x: Array.from(t.x || [], Number),
            y: Array.from(t.y || [], Number)})),
    };
}"""


def graph(page: Page, testid: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = page.evaluate(GRAPH, f"[data-testid={testid}]")
    return value


def drawn_rows(page: Page) -> tuple[int, int]:
    """(points the run page holds, points every chart has drawn)."""
    run_page = page.locator("[data-testid=run-page]")
    held = run_page.get_attribute("data-points")
    drawn = run_page.get_attribute("data-drawn")
    return int(held or 0), int(drawn or 0)


def findings(server: Server, run_id: int) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = httpx.get(
        f"{server.url}/api/runs/{run_id}/findings", timeout=30
    ).json()
    return body


def finding(server: Server, run_id: int, code: str) -> dict[str, Any]:
    found = [f for f in findings(server, run_id) if f["code"] == code]
    assert found, (code, findings(server, run_id))
    return found[0]


def small_digits_form(page: Page, server: Server, preset: str = "simple-cnn") -> None:
    """The New run form set to a small, fast digits run on the CPU."""
    page.goto(f"{server.url}/runs/new")
    set_field(page, "dataset.name", "digits")
    set_field(page, "model.preset", preset)
    set_field(page, "options.max_epochs", "2")
    set_field(page, "options.mini_batch_size", "32")
    set_field(page, "options.execution_environment", "cpu")


# ---- findings --------------------------------------------------------------------------------


def test_a_diverging_run_shows_the_finding_and_apply_restarts_with_the_fix(
    server: Server, page: Page
) -> None:
    parent = create_run(server, digits(initial_learn_rate=50, max_epochs=2))
    page.goto(f"{server.url}/runs/{parent['id']}")
    doctor = page.locator("[data-testid=doctor]")
    item = doctor.locator("[data-testid=finding][data-code=diverged]")
    expect(item).to_be_visible(timeout=60_000)
    assert rest_run(server, parent["id"])["status"] == "diverged"
    expect(item).to_have_attribute("data-severity", "critical")
    expect(item.locator("[data-testid=finding-message]")).not_to_be_empty()
    fix = item.locator("[data-testid=finding-fix]")
    expect(fix).to_contain_text("learn")
    diverged = finding(server, parent["id"], "diverged")
    lowered = diverged["patch"]["options"]["initial_learn_rate"]
    assert lowered < 50, diverged

    # A marker on the loss chart at the finding's iteration, labelled with its code.
    def loss_marks() -> tuple[list[Any], list[str]]:
        g = graph(page, "chart-loss") or {"layout": {"shapes": [], "annotations": []}}
        shapes = [s["x0"] for s in g["layout"]["shapes"] if s.get("name") == "finding-diverged"]
        return shapes, [a["text"] for a in g["layout"]["annotations"]]

    shapes, labels = wait_for(loss_marks, lambda m: bool(m[0]), 15, "the diverged marker")
    if diverged["iteration"] is not None:
        assert shapes == [diverged["iteration"]]
    assert "diverged" in labels
    # Not a run with update/weight ratios: no such chart.
    expect(page.locator("[data-testid=update-ratio]")).to_be_hidden()

    page.locator("[data-testid=doctor]").scroll_into_view_if_needed()
    screenshot(page, "doctor-run-page")
    doctor.screenshot(path=str(screenshot_path("doctor-panel")))
    page.locator("[data-testid=theme-toggle]").click()
    screenshot(page, "doctor-run-page-dark")
    page.locator("[data-testid=theme-toggle]").click()

    apply = item.locator("[data-testid=apply-fix]")
    apply.focus()
    page.keyboard.press("Enter")  # a button the keyboard reaches
    expect(page).to_have_url(re.compile(rf"/runs/(?!{parent['id']}$)\d+$"))
    child = rest_run(server, run_id_of(page))
    try:
        assert child["parent_id"] == parent["id"]
        assert child["spec"]["options"]["initial_learn_rate"] == lowered
        assert child["spec"]["options"]["max_epochs"] == 2
        expect(page.locator("[data-testid=run-page]")).to_have_attribute(
            "data-run-id", str(child["id"])
        )
    finally:
        stop_quietly(server, child["id"])


def test_a_finding_where_a_branch_is_the_fix_branches_from_its_checkpoint(
    server: Server, page: Page
) -> None:
    parent = create_run(server, digits(max_epochs=3))
    done = wait_status(httpx.Client(base_url=server.url, timeout=30), parent["id"], FINAL)
    per_epoch = done["progress"]["iterations_per_epoch"]
    put_findings_as_the_doctor(None, server, parent["id"], [plateau_finding(2 * per_epoch + 1)])
    page.goto(f"{server.url}/runs/{parent['id']}")
    item = page.locator("[data-testid=doctor] [data-testid=finding][data-code=plateau]")
    branch = item.locator("[data-testid=branch-fix]")
    expect(branch).to_have_text("Branch at epoch 2", timeout=30_000)
    expect(item.locator("[data-testid=apply-fix]")).to_be_visible()  # the restart stays
    branch.click()
    expect(page).to_have_url(re.compile(rf"/runs/(?!{parent['id']}$)\d+$"))
    child = rest_run(server, run_id_of(page))
    assert child["parent_id"] == parent["id"]
    assert child["spec"]["branch"] == {"run_id": parent["id"], "epoch": 2}
    assert child["spec"]["options"]["initial_learn_rate"] == 0.001
    assert (
        wait_status(httpx.Client(base_url=server.url, timeout=30), child["id"], FINAL)["status"]
        == "completed"
    )


# ---- preflight checks ------------------------------------------------------------------------


def test_find_learning_rate_then_use_the_suggestion(server: Server, page: Page) -> None:
    small_digits_form(page, server)
    set_field(page, "name", "digits cnn")
    page.locator("[data-testid=preflight-lr-range-test]").click()
    expect(page).to_have_url(RUN_URL, timeout=15_000)
    run_id = run_id_of(page)
    run = rest_run(server, run_id)
    assert run["spec"]["kind"] == "lr-range-test"
    assert run["spec"]["name"] == "LR range test · digits cnn"
    assert run["spec"]["model"]["preset"] == "simple-cnn"

    # Loss against learn rate, log x, filling in while the test runs.
    chart = page.locator("[data-testid=chart-lr-range]")
    expect(chart).to_be_visible()
    first = wait_for(
        lambda: graph(page, "chart-lr-range"),
        lambda g: g is not None and len(g["traces"][0]["x"]) > 0,
        60,
        "the loss-vs-learn-rate chart",
    )
    assert first["layout"]["xaxis"]["type"] == "log"
    done = wait_status(server.api(), run_id, FINAL, timeout=120)
    assert done["status"] == "completed", done
    assert done["finish_reason"] in ("loss-exploded", "range-end"), done
    lr_range = finding(server, run_id, "lr-range")
    suggested = lr_range["evidence"]["suggested"]
    use = page.locator("[data-testid=use-suggested-lr]")
    expect(use).to_be_enabled(timeout=15_000)

    def suggested_mark() -> list[float]:
        g = graph(page, "chart-lr-range")
        return [
            s["x0"]
            for s in (g or {"layout": {"shapes": []}})["layout"]["shapes"]
            if s.get("name") == "suggested"
        ]

    assert wait_for(suggested_mark, bool, 15, "the suggested-lr marker") == [suggested]
    wait_for(lambda: drawn_rows(page), lambda d: d == (done["last_seq"],) * 2, 15, "every point")
    g = graph(page, "chart-lr-range")
    assert g is not None
    lrs, losses = g["traces"][0]["x"], g["traces"][0]["y"]
    assert len(lrs) >= 10 and lrs == sorted(lrs), "learn rates rise every iteration"
    assert min(lrs) <= suggested <= max(lrs)
    assert all(math.isfinite(v) for v in losses)
    expect(page.locator("[data-testid=lr-suggested-value]")).to_be_visible()
    page.locator("[data-testid=lr-range]").scroll_into_view_if_needed()
    screenshot(page, "lr-range-page")
    page.locator("[data-testid=lr-range]").screenshot(path=str(screenshot_path("lr-range-card")))
    page.locator("[data-testid=theme-toggle]").click()
    page.locator("[data-testid=lr-range]").screenshot(
        path=str(screenshot_path("lr-range-card-dark"))
    )
    page.locator("[data-testid=theme-toggle]").click()

    use.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/runs/new\?from={run_id}&"))
    rate = page.locator('[data-field="options.initial_learn_rate"]')
    expect(rate).to_be_visible()
    assert float(rate.input_value()) == suggested
    assert rate.evaluate("el => !!el.closest('.changed')"), "the suggested rate is not highlighted"
    expect(page.locator('[data-field="name"]')).to_have_value("digits cnn")
    expect(page.locator('[data-field="model.preset"]')).to_have_value("simple-cnn")
    expect(page.locator('[data-field="options.max_epochs"]')).to_have_value("2")
    screenshot(page, "new-run-prefilled")
    page.locator("[data-testid=start-run]").click()
    expect(page).to_have_url(RUN_URL, timeout=15_000)
    child = rest_run(server, run_id_of(page))
    try:
        assert child["spec"]["kind"] == "train"
        assert child["spec"]["name"] == "digits cnn"
        assert child["spec"]["options"]["initial_learn_rate"] == suggested
        assert child["spec"]["options"]["max_epochs"] == 2
    finally:
        stop_quietly(server, child["id"])

    # The finding's Apply & restart trains with the suggestion: a child that is a train run.
    page.goto(f"{server.url}/runs/{run_id}")
    page.locator("[data-testid=finding][data-code=lr-range] [data-testid=apply-fix]").click()
    expect(page).to_have_url(re.compile(rf"/runs/(?!{run_id}$)\d+$"))
    applied = rest_run(server, run_id_of(page))
    try:
        assert applied["parent_id"] == run_id
        assert applied["spec"]["kind"] == "train"
        assert applied["spec"]["name"] == "digits cnn"
        assert applied["spec"]["options"]["initial_learn_rate"] == suggested
    finally:
        stop_quietly(server, applied["id"])


def test_overfit_a_small_batch_passes(server: Server, page: Page) -> None:
    small_digits_form(page, server, preset="mlp")
    screenshot(page, "new-run-preflight")
    page.locator("[data-testid=preflight-overfit-batch]").click()
    expect(page).to_have_url(RUN_URL, timeout=15_000)
    run_id = run_id_of(page)
    try:
        assert rest_run(server, run_id)["spec"]["kind"] == "overfit-batch"
        verdict = page.locator("[data-testid=verdict]")
        expect(verdict).to_be_visible()
        expect(verdict).to_have_attribute("data-verdict", "passed", timeout=90_000)
        expect(verdict).to_contain_text("passed")
        assert finding(server, run_id, "overfit-batch")["severity"] == "ok"
        screenshot(page, "overfit-batch-page")
        page.locator("[data-testid=theme-toggle]").click()
        verdict.screenshot(path=str(screenshot_path("overfit-batch-verdict-dark")))
        page.locator("[data-testid=theme-toggle]").click()
    finally:
        stop_quietly(server, run_id)


def test_check_initial_loss_shows_its_verdict(server: Server, page: Page) -> None:
    small_digits_form(page, server, preset="mlp")
    page.locator("[data-testid=preflight-initial-loss]").click()
    expect(page).to_have_url(RUN_URL, timeout=15_000)
    run_id = run_id_of(page)
    try:
        assert rest_run(server, run_id)["spec"]["kind"] == "initial-loss"
        verdict = page.locator("[data-testid=verdict]")
        expect(verdict).to_have_attribute("data-verdict", "passed", timeout=60_000)
        checked = finding(server, run_id, "initial-loss")
        assert checked["severity"] == "ok", checked
        expect(verdict.locator("[data-testid=verdict-message]")).to_have_text(checked["message"])
    finally:
        stop_quietly(server, run_id)


# ---- update/weight ratio telemetry ------------------------------------------------------------


def test_update_ratios_are_charted_per_layer_with_the_reference_band(
    server: Server, page: Page
) -> None:
    run = create_run(server, digits(max_epochs=2, update_ratio_frequency=5))
    try:
        page.goto(f"{server.url}/runs/{run['id']}")
        expect(page.locator("[data-testid=update-ratio]")).to_be_visible(timeout=60_000)
        done = wait_status(server.api(), run["id"], FINAL, timeout=120)
        assert done["status"] == "completed", done
        with server.api() as api:
            cols = api.get(f"/api/runs/{run['id']}/metrics").json()
        layers = sorted(k.split("/", 1)[1] for k in cols["values"] if k.startswith("update_ratio/"))
        assert layers, list(cols["values"])
        counts = {
            k.split("/", 1)[1]: sum(v is not None for v in vals)
            for k, vals in cols["values"].items()
            if k.startswith("update_ratio/")
        }

        def layer_traces() -> list[dict[str, Any]]:
            g = graph(page, "chart-update-ratio")
            return [t for t in g["traces"] if t["name"] != "x extent"] if g else []

        def drawn() -> dict[str, int]:
            return {t["name"]: len(t["x"]) for t in layer_traces()}

        wait_for(drawn, lambda d: d == counts, 15, "every ratio drawn, a trace per layer")
        g = graph(page, "chart-update-ratio")
        assert g is not None
        assert g["layout"]["yaxis"]["type"] == "log"
        band = [s for s in g["layout"]["shapes"] if s.get("name") == "ratio-band"]
        line = [s for s in g["layout"]["shapes"] if s.get("name") == "ratio-reference"]
        assert [(s["y0"], s["y1"]) for s in band] == [(1e-4, 1e-2)]
        assert [(s["y0"], s["y1"]) for s in line] == [(1e-3, 1e-3)]
        ratios = [y for t in layer_traces() for y in t["y"]]
        assert all(y > 0 for y in ratios)
        page.locator("[data-testid=update-ratio]").scroll_into_view_if_needed()
        screenshot(page, "update-ratio-page")
        page.locator("[data-testid=update-ratio]").screenshot(
            path=str(screenshot_path("update-ratio-chart"))
        )
    finally:
        stop_quietly(server, run["id"])
