"""Branching from the browser: click a point of a finished run's curve, change the learn rate in
the options dialog, land on the branch, whose charts draw the parent's curve up to the branch
epoch (lighter) and its own after; the run list nests the branch under its parent; the parent's
page draws its branch from its epoch on (a toggle)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    FINAL,
    Watch,
    create_run,
    rest_run,
    run_id_of,
    screenshot,
    wait_for,
)
from tests.web.conftest import Server, spec, wait_status

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Each trace of a chart: its name, meta.history (the run whose history it is), meta.branch (the
# branch of this run it draws; both null for the run's own) and its x and y values, read from
# the Plotly graph div.
TRACES = """sel => {
    const g = document.querySelector(sel);
    return (g && g.data || []).map(t => ({name: t.name, history: t.meta ? t.meta.history : null,
        branch: t.meta ? t.meta.branch : null,
        x: Array.from(t.x || []), y: Array.from(t.y || [])}));
}"""

# Where on the screen the smoothed training loss (trace 1) is drawn at iteration `it`.
POINT_AT = """([sel, it]) => {
    const g = document.querySelector(sel), xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis;
    const t = g.data[1], i = t.x.findIndex(x => x >= it);
    const box = g.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
}"""


def traces(page: Page, chart: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(TRACES, f"[data-testid={chart}]")
    return found


def own_and_history(page: Page, chart: str) -> tuple[list[float], dict[int, list[float]]]:
    """x values of the run's own training curve (trace 0), and of each history segment's
    training curve by the run it comes from."""
    drawn = traces(page, chart)
    history: dict[int, list[float]] = {}
    for t in drawn:
        if t["history"] is not None and not t["name"].startswith("Validation"):
            history.setdefault(t["history"], []).extend(t["x"])
    return (drawn[0]["x"] if drawn else []), history


def test_branch_from_a_clicked_point_with_a_lower_learn_rate(
    server: Server, page: Page, watch: Watch
) -> None:
    watch.allow(r"status of 422 .*/api/runs/\d+/branch")  # the refusal below, on purpose
    parent = create_run(server, spec(max_epochs=3, initial_learn_rate=0.01))
    done = wait_status(server.api(), parent["id"], FINAL, timeout=120)
    assert done["status"] == "completed"
    ipe = done["progress"]["iterations_per_epoch"]
    assert rest_run(server, parent["id"])["branchable_epochs"] == [1, 2, 3]

    page.goto(f"{server.url}/runs/{parent['id']}")
    run_page = page.locator("[data-testid=run-page]")
    expect(run_page).to_have_attribute("data-points", re.compile("[1-9]"))
    # A point in the middle of epoch 1 of the loss curve: "branch from the end of epoch 1".
    wait_for(
        lambda: traces(page, "chart-loss"), lambda t: len(t) > 1 and t[1]["x"], 15, "the loss curve"
    )
    x, y = page.evaluate(POINT_AT, ["[data-testid=chart-loss]", ipe // 2])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    dialog = page.locator("[data-testid=restart-form]")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-mode", "branch")
    epoch = dialog.locator("[data-testid=branch-epoch]")
    expect(epoch).to_have_value("1")
    assert epoch.locator("option").all_text_contents() == ["epoch 1", "epoch 2", "epoch 3"]
    # Prefilled with the run's options; the model and the dataset cannot change at a branch.
    rate = dialog.locator('[data-field="options.initial_learn_rate"]')
    expect(rate).to_have_value(re.compile(r"^0?\.01$"))
    assert dialog.locator('[data-field="model.preset"]').is_disabled()
    assert dialog.locator('[data-field="dataset.name"]').is_disabled()
    assert dialog.locator('[data-field="name"]').is_disabled()

    # A refusal (the branch must train epochs after 1) is shown in the dialog, naming the option.
    max_epochs = dialog.locator('[data-field="options.max_epochs"]')
    max_epochs.fill("1")
    dialog.locator("[data-testid=restart-submit]").click()
    expect(dialog.locator("[data-testid=form-error]")).to_contain_text("max_epochs")
    expect(dialog.locator('[data-error-for="options.max_epochs"]')).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/runs/{parent['id']}$"))
    screenshot(page, "branch-dialog-refused")

    max_epochs.fill("3")
    rate.fill("0.002")
    dialog.locator("[data-testid=restart-submit]").click()
    expect(page).to_have_url(re.compile(rf"/runs/(?!{parent['id']}$)\d+$"))
    branch_id = run_id_of(page)
    branch = wait_status(server.api(), branch_id, FINAL, timeout=120)
    assert branch["status"] == "completed"
    assert branch["parent_id"] == parent["id"]
    assert branch["spec"]["branch"] == {"run_id": parent["id"], "epoch": 1}
    assert branch["spec"]["options"]["initial_learn_rate"] == 0.002

    # The branch page: the parent's curve up to the end of epoch 1 (lighter), its own after.
    expect(page.locator("[data-testid=origin]")).to_contain_text(
        f"branched from run {parent['id']} at epoch 1"
    )
    expect(page.locator("[data-testid=run-status]").first).to_contain_text("completed")
    own, history = wait_for(
        lambda: own_and_history(page, "chart-loss"),
        lambda oh: len(oh[0]) == 2 * ipe and oh[1],
        30,
        "the branch's own points and its history drawn",
    )
    assert list(history) == [parent["id"]]
    assert history[parent["id"]] == list(range(1, ipe + 1))  # every iteration of epoch 1
    assert own == list(range(ipe + 1, 3 * ipe + 1))  # from the branch point on
    lr = traces(page, "chart-lr")
    assert set(lr[0]["y"]) == {0.002}  # the changed learn rate, from the branch point
    lr_history = [t for t in lr if t["history"] == parent["id"]]
    assert lr_history and set(lr_history[0]["y"]) == {0.01} and max(lr_history[0]["x"]) == ipe
    history_trace = next(t for t in traces(page, "chart-loss") if t["history"] is not None)
    assert "to epoch 1" in history_trace["name"]
    screenshot(page, "branch-page")

    # The run list nests the branch under its parent.
    item = page.locator(f'[data-testid=run-item][data-run-id="{branch_id}"]')
    expect(item).to_have_attribute("data-parent-id", str(parent["id"]))
    expect(item).to_have_attribute("data-depth", "1")
    expect(item.locator("[data-testid=branch-badge]")).to_have_text("↳ @1")
    order = page.locator("[data-testid=run-item]").evaluate_all(
        "els => els.map(el => [Number(el.dataset.runId), Number(el.dataset.depth)])"
    )
    at = order.index([parent["id"], 0])
    assert order[at + 1] == [branch_id, 1], order

    # A branch of the branch, from its epoch 2: the page draws the whole chain.
    answer = httpx.post(
        f"{server.url}/api/runs/{branch_id}/branch",
        json={"epoch": 2, "options": {"initial_learn_rate": 0.001}},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    twig_id = answer.json()["id"]
    assert wait_status(server.api(), twig_id, FINAL, timeout=120)["status"] == "completed"
    page.goto(f"{server.url}/runs/{twig_id}")
    own, history = wait_for(
        lambda: own_and_history(page, "chart-loss"),
        lambda oh: len(oh[0]) == ipe and len(oh[1]) == 2,
        30,
        "the twig's chain drawn",
    )
    assert history == {
        parent["id"]: list(range(1, ipe + 1)),
        branch_id: list(range(ipe + 1, 2 * ipe + 1)),
    }
    assert own == list(range(2 * ipe + 1, 3 * ipe + 1))
    twig_item = page.locator(f'[data-testid=run-item][data-run-id="{twig_id}"]')
    expect(twig_item).to_have_attribute("data-depth", "2")
    screenshot(page, "branch-of-a-branch")

    # The parent's page draws its branch from its epoch on, behind a toggle.
    page.goto(f"{server.url}/runs/{parent['id']}")
    toggle = page.locator("[data-testid=show-branches]")
    expect(toggle).to_be_checked()
    expect(page.locator("label[for=show-branches]")).to_contain_text("Branches (1)")

    def branch_xs() -> list[float]:
        return [
            x
            for t in traces(page, "chart-loss")
            if t["branch"] == branch_id and not t["name"].startswith("Validation")
            for x in t["x"]
        ]

    xs = wait_for(branch_xs, lambda xs: len(xs) == 2 * ipe, 30, "the branch's curve")
    assert xs == list(range(ipe + 1, 3 * ipe + 1))  # from the end of epoch 1 on
    lr = [t for t in traces(page, "chart-lr") if t["branch"] == branch_id]
    assert lr and set(lr[0]["y"]) == {0.002}
    screenshot(page, "parent-with-branch")
    toggle.uncheck()
    wait_for(branch_xs, lambda xs: xs == [], 10, "the branch's curve hidden")
