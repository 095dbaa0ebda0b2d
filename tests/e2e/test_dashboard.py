"""The dashboard in a real Chromium against a real server: what a user does and checks."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import (
    FINAL,
    RUN_URL,
    Watch,
    create_run,
    digits,
    fill_form,
    rest_run,
    run_id_of,
    screenshot,
    screenshot_path,
    set_field,
    stop_quietly,
    wait_for,
)
from tests.support import write_finished_run
from tests.web.conftest import Server, spec, wait_status

# Plotly keeps each trace's arrays on the graph div: how many x values each trace holds.
TRACE_LENGTHS = """sel => {
    const g = document.querySelector(sel);
    return g && Array.isArray(g.data) ? g.data.map(t => (t.x || []).length) : null;
}"""


def create(server: Server, **options: Any) -> dict[str, Any]:
    """A small real spirals run (tests.web.conftest.spec) with these options."""
    return create_run(server, spec(**options))


def run_status(page: Page) -> Locator:
    """The run page's status (the rail has one per run too)."""
    return page.locator("[data-testid=run-page] [data-testid=run-status]")


def held(page: Page) -> tuple[int, int]:
    """(points the run page holds, the last seq it has seen)."""
    run_page = page.locator("[data-testid=run-page]")
    points = run_page.get_attribute("data-points")
    last_seq = run_page.get_attribute("data-last-seq")
    return int(points or 0), int(last_seq or 0)


def loss_lengths(page: Page) -> list[int]:
    lengths: list[int] | None = page.evaluate(TRACE_LENGTHS, "[data-testid=chart-loss]")
    return lengths or []


# ---- New run ---------------------------------------------------------------------------------


def test_start_a_run_from_the_form_and_watch_its_curves_grow(server: Server, page: Page) -> None:
    page.goto(server.url)
    page.locator("[data-testid=new-run-link]").click()
    expect(page).to_have_url(re.compile(r"/runs/new$"))
    fill_form(
        page,
        {
            "dataset.name": "digits",
            "model.preset": "simple-cnn",
            "options.max_epochs": "60",
            "options.mini_batch_size": "32",
            "options.validation_frequency": "10",
            "options.execution_environment": "cpu",
        },
    )
    before = {r["id"] for r in httpx.get(f"{server.url}/api/runs").json()}
    page.locator("[data-testid=start-run]").click()

    expect(page).to_have_url(RUN_URL, timeout=15_000)
    run_id = run_id_of(page)
    assert run_id not in before
    try:
        run = rest_run(server, run_id)
        assert run["spec"]["dataset"]["name"] == "digits"
        assert run["spec"]["model"]["preset"] == "simple-cnn"
        assert run["spec"]["options"]["max_epochs"] == 60
        assert run["spec"]["options"]["mini_batch_size"] == 32

        # The curves grow while the run trains: more points held, more drawn.
        first, _ = wait_for(lambda: held(page), lambda h: h[0] > 0, 60, "first points")
        drawn = wait_for(lambda: loss_lengths(page), lambda n: sum(n) > 0, 10, "a loss trace")
        grown, _ = wait_for(lambda: held(page), lambda h: h[0] > first + 20, 60, "more points")
        wait_for(lambda: loss_lengths(page), lambda n: sum(n) > sum(drawn), 10, "a longer trace")
        assert grown > first
        expect(page.locator("[data-testid=chart-accuracy]")).to_be_visible()
        screenshot(page, "run-page")
        done = wait_status(server.api(), run_id, FINAL, timeout=120)
        assert done["status"] == "completed"
        expect(run_status(page)).to_contain_text("completed")
        wait_for(lambda: held(page), lambda h: h == (done["last_seq"],) * 2, 15, "every point")
        # CSV export: every stored point, straight from the server.
        with page.expect_download() as download:
            page.locator("[data-testid=export-csv]").click()
        text = Path(download.value.path()).read_text()
        assert text.splitlines()[0].startswith("seq,iteration,epoch,wall_time,")
        assert len(text.splitlines()) - 1 == done["last_seq"]
    finally:
        stop_quietly(server, run_id)


def test_a_data_file_is_uploaded_from_the_form_and_trains(
    server: Server, page: Page, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    y = np.arange(150) % 3
    np.savez(tmp_path / "three blobs.npz", X=rng.normal(size=(150, 2)) + y[:, None] * 3.0, y=y)
    page.goto(f"{server.url}/runs/new")
    set_field(page, "dataset.name", "file")
    page.locator("[data-testid=dataset-upload]").set_input_files(tmp_path / "three blobs.npz")
    path = page.locator('[data-field="dataset.path"]')
    expect(path).to_have_value(re.compile(r"^uploads/[0-9a-f]{32}\.npz$"))
    set_field(page, "model.preset", "mlp")
    set_field(page, "options.max_epochs", "2")
    set_field(page, "options.mini_batch_size", "16")
    uploaded = path.input_value()
    page.locator("[data-testid=start-run]").click()
    expect(page).to_have_url(RUN_URL, timeout=15_000)
    done = wait_status(server.api(), run_id_of(page), FINAL, timeout=120)
    assert done["status"] == "completed", done.get("message")
    assert done["spec"]["dataset"]["path"] == uploaded


def test_a_bad_option_shows_its_error_at_the_field(
    server: Server, page: Page, watch: Watch
) -> None:
    # Chromium itself logs every 4xx response; the 422s here are the point of the test.
    watch.allow(r"status of 422 .*/api/runs\)$")
    page.goto(f"{server.url}/runs/new")
    set_field(page, "dataset.name", "spirals")
    set_field(page, "options.momentum", "1.5")
    before = httpx.get(f"{server.url}/api/runs").json()
    page.locator("[data-testid=start-run]").click()

    error = page.locator('[data-error-for="options.momentum"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("less than 1")
    expect(page).to_have_url(re.compile(r"/runs/new$"))
    assert httpx.get(f"{server.url}/api/runs").json() == before

    # Fixed, the error goes and a second bad field gets its own message.
    set_field(page, "options.momentum", "0.9")
    set_field(page, "options.initial_learn_rate", "-1")
    page.locator("[data-testid=start-run]").click()
    expect(page.locator('[data-error-for="options.initial_learn_rate"]')).to_be_visible()
    expect(error).to_be_hidden()
    assert httpx.get(f"{server.url}/api/runs").json() == before


# ---- Run page actions ------------------------------------------------------------------------


def test_stop_a_long_run(server: Server, page: Page) -> None:
    run = create(server, max_epochs=1000)
    try:
        page.goto(f"{server.url}/runs/{run['id']}")
        wait_for(lambda: held(page), lambda h: h[0] > 0, 60, "the run to train")
        expect(run_status(page)).to_contain_text("running")
        page.locator("[data-testid=stop]").click()
        expect(run_status(page)).to_contain_text("stopped", timeout=5_000)
        assert rest_run(server, run["id"])["status"] == "stopped"
    finally:
        stop_quietly(server, run["id"])


def test_restart_with_a_lower_learn_rate_lands_on_the_child(server: Server, page: Page) -> None:
    parent = create(server, initial_learn_rate=0.1, max_epochs=2)
    wait_status(server.api(), parent["id"], FINAL, timeout=120)
    page.goto(f"{server.url}/runs/{parent['id']}")
    page.locator("[data-testid=restart]").click()
    dialog = page.locator("[data-testid=restart-form]")
    expect(dialog).to_be_visible()
    rate = dialog.locator('[data-field="options.initial_learn_rate"]')
    expect(rate).to_have_value(re.compile(r"^0?\.1$"))
    rate.fill("0.01")
    rate.dispatch_event("change")
    changed = rate.evaluate("el => el.classList.contains('changed') || !!el.closest('.changed')")
    assert changed, "the edited field is not marked as changed"
    unchanged = dialog.locator('[data-field="options.max_epochs"]')
    assert not unchanged.evaluate("el => !!el.closest('.changed')")
    dialog.locator("[data-testid=restart-submit]").click()

    expect(page).to_have_url(re.compile(rf"/runs/(?!{parent['id']}$)\d+$"))
    child = rest_run(server, run_id_of(page))
    try:
        assert child["parent_id"] == parent["id"]
        assert child["spec"]["options"]["initial_learn_rate"] == 0.01
        assert child["spec"]["options"]["max_epochs"] == 2
        expect(page.locator("[data-testid=run-page]")).to_have_attribute(
            "data-run-id", str(child["id"])
        )
    finally:
        stop_quietly(server, child["id"])


def test_compare_two_runs_shows_only_the_options_that_differ(server: Server, page: Page) -> None:
    parent = create(server, initial_learn_rate=0.1, max_epochs=2)
    with server.api() as api:
        response = api.post(
            f"/api/runs/{parent['id']}/restart", json={"options": {"initial_learn_rate": 0.01}}
        )
        assert response.status_code == 201, response.text
        child = response.json()
    for run in (parent, child):
        wait_status(server.api(), run["id"], FINAL, timeout=120)

    page.goto(f"{server.url}/runs/{child['id']}")
    for run in (parent, child):
        item = page.locator(f'[data-testid=run-item][data-run-id="{run["id"]}"]')
        item.locator("[data-testid=run-select]").check()
    page.locator("[data-testid=compare-button]").click()
    expect(page).to_have_url(re.compile(r"/compare"))

    table = page.locator("[data-testid=diff-table]")
    row = table.locator('tr[data-option="options.initial_learn_rate"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("0.1")
    expect(row).to_contain_text("0.01")
    expect(table.locator('tr[data-option="options.max_epochs"]')).to_have_count(0)
    expect(table.locator('tr[data-option="options.mini_batch_size"]')).to_have_count(0)
    # Both runs' curves, overlaid on one loss chart.
    wait_for(
        lambda: page.evaluate(TRACE_LENGTHS, "[data-testid=compare-chart]") or [],
        lambda n: len([x for x in n if x > 0]) >= 2,
        15,
        "both runs' traces",
    )
    screenshot(page, "compare-page")
    table.screenshot(path=str(screenshot_path("compare-diff-table")))


# ---- Live data survives reloads and server restarts -------------------------------------------


def assert_no_gaps(page: Page, server: Server, run_id: int) -> None:
    """The longest loss trace (per-iteration training loss) holds the iterations of every
    stored point with a training loss, each exactly once, in order: nothing lost, nothing
    twice. (The final test point has a seq of its own but no training loss.)"""
    # Points are drawn within a redraw budget: wait until every held point is drawn.
    run_page = page.locator("[data-testid=run-page]")
    wait_for(
        lambda: (run_page.get_attribute("data-drawn"), run_page.get_attribute("data-points")),
        lambda d: d[0] == d[1],
        15,
        "every held point drawn",
    )
    xs: list[float] = page.evaluate(
        """() => {
            const g = document.querySelector('[data-testid=chart-loss]');
            const traces = g.data.filter(t => t.x && t.x.length);
            traces.sort((a, b) => b.x.length - a.x.length);
            return Array.from(traces[0].x, Number);
        }"""
    )
    with server.api() as api:
        cols = api.get(f"/api/runs/{run_id}/metrics").json()
    stored = [
        it
        for it, v in zip(cols["iteration"], cols["values"]["train_loss"], strict=True)
        if v is not None
    ]
    assert xs == stored, (len(xs), len(stored), xs[:3], xs[-3:], stored[-3:])


def test_reload_mid_run_loses_no_points(server: Server, page: Page) -> None:
    # 3,500 points (a few seconds here): the reload happens while the run trains, and the
    # page loads the whole history, not a downsampled one.
    run = create_run(server, digits(max_epochs=100))
    try:
        page.goto(f"{server.url}/runs/{run['id']}")
        wait_for(lambda: held(page), lambda h: h[0] >= 200, 60, "some points")
        assert rest_run(server, run["id"])["status"] == "running", "reload came too late"
        page.reload()
        done = wait_status(server.api(), run["id"], FINAL, timeout=120)
        assert done["status"] == "completed"
        last = done["last_seq"]
        wait_for(lambda: held(page), lambda h: h == (last, last), 15, "every point once")
        assert_no_gaps(page, server, run["id"])
    finally:
        stop_quietly(server, run["id"])


def test_the_page_keeps_working_across_a_server_restart(
    tmp_path_factory: Any, page: Page, watch: Watch
) -> None:
    first = Server(tmp_path_factory.mktemp("restart"), env={"TRAINSCOPE_MAX_RUNS": "1"}).start()
    second: Server | None = None
    # While the server is away the browser itself logs the refused connections.
    watch.allow(r"ERR_CONNECTION_REFUSED|WebSocket connection to .* failed")
    try:
        run = create(first, max_epochs=1000)
        page.goto(f"{first.url}/runs/{run['id']}")
        live = page.locator("[data-testid=live-state]")
        wait_for(lambda: held(page), lambda h: h[0] > 0, 60, "points")
        expect(run_status(page)).to_contain_text("running")

        first.stop(signal.SIGTERM)  # a graceful shutdown stops the run it was training
        expect(live).to_contain_text("reconnecting", timeout=10_000)
        second = Server(first.data_dir, port=first.port, env=first.env).start()
        expect(live).not_to_contain_text("reconnecting", timeout=20_000)

        # The page shows what the new server says, without a reload.
        after = rest_run(second, run["id"])
        assert after["status"] in FINAL, after
        expect(run_status(page)).to_contain_text(after["status"])
        last = after["last_seq"]
        wait_for(lambda: held(page), lambda h: h == (last, last), 15, "every point once")
        assert_no_gaps(page, second, run["id"])
    finally:
        first.stop()
        if second is not None:
            second.stop()


# ---- Long histories ----------------------------------------------------------------------------

LOSS_XS_BETWEEN = """([lo, hi]) => {
    const g = document.querySelector('[data-testid=chart-loss]');
    const raw = g.data[0]; // the per-iteration training loss
    return Array.from(raw.x, Number).filter(x => x >= lo && x <= hi);
}"""


def test_a_long_history_loads_downsampled_and_zooming_in_fetches_the_detail(
    tmp_path_factory: Any, page: Page
) -> None:
    data_dir = tmp_path_factory.mktemp("long")
    run_id, _ = write_finished_run(data_dir, 30_000, per_epoch=1000)
    srv = Server(data_dir).start()
    try:
        page.goto(f"{srv.url}/runs/{run_id}")
        expect(page.locator("[data-testid=notice]")).to_contain_text("downsampled")
        points, last_seq = held(page)
        assert points <= 5_100 and last_seq == 30_000
        # Before the zoom, iterations 10,000..10,400 are only sparsely drawn.
        assert len(page.evaluate(LOSS_XS_BETWEEN, [10_000, 10_400])) < 200
        with page.expect_request(lambda r: "before_seq=" in r.url) as request:
            # What a drag-to-zoom on the loss chart does.
            page.evaluate(
                """() => Plotly.relayout(document.querySelector('[data-testid=chart-loss]'),
                    {'xaxis.range': [10000, 10400]})"""
            )
        assert "after_seq=" in request.value.url
        window = wait_for(
            lambda: page.evaluate(LOSS_XS_BETWEEN, [10_000, 10_400]),
            lambda xs: len(xs) == 401,
            15,
            "every iteration of the zoomed window",
        )
        assert window == list(range(10_000, 10_401))
        # The other charts follow the zoom: they share the x axis.
        acc_range = page.evaluate(
            "() => document.querySelector('[data-testid=chart-accuracy]').layout.xaxis.range"
        )
        assert [round(v) for v in acc_range] == [10_000, 10_400]
    finally:
        page.goto("about:blank")  # leave before the server goes, or the page reconnects
        srv.stop()


# ---- Sign-in ---------------------------------------------------------------------------------


def test_with_a_token_the_browser_signs_in_then_works_as_usual(
    tmp_path_factory: Any, page: Page, watch: Watch
) -> None:
    # The wrong token's answer is a 401, which Chromium logs.
    watch.allow(r"status of 401 \(Unauthorized\) \(http://127\.0\.0\.1:\d+/login\)")
    srv = Server(
        tmp_path_factory.mktemp("token"), env={"TRAINSCOPE_API_TOKEN": "e2e-secret"}
    ).start(wait_workers=False)
    try:
        page.goto(f"{srv.url}/runs/new")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fruns%2Fnew$"))
        page.locator("#token").fill("not it")
        page.locator("[data-testid=login-form] button").click()
        expect(page.locator("[role=alert]")).to_contain_text("Wrong token")
        page.locator("#token").fill("e2e-secret")
        page.locator("[data-testid=login-form] button").click()
        # Back where it was going, with the form built from the (guarded) schema and a live rail.
        expect(page).to_have_url(re.compile(r"/runs/new$"))
        expect(page.locator('[data-field="options.initial_learn_rate"]')).to_be_visible()
        expect(page.locator("[data-testid=run-list]")).to_be_visible()
    finally:
        page.goto("about:blank")
        srv.stop()


# ---- The rail, themes, keyboard -------------------------------------------------------------


def test_the_rail_lists_runs_live(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.locator("[data-testid=run-list]")).to_be_visible()
    run = create(server, max_epochs=2)
    item = page.locator(f'[data-testid=run-item][data-run-id="{run["id"]}"]')
    expect(item).to_be_visible(timeout=10_000)
    done = wait_status(server.api(), run["id"], FINAL, timeout=120)
    assert done["status"] == "completed"
    expect(item.locator("[data-testid=run-status]")).to_contain_text("completed")
    item.click()
    expect(page).to_have_url(re.compile(rf"/runs/{run['id']}$"))


THEME = """() => [document.documentElement, document.body]
    .map(el => (el.dataset.theme || '') + '|' + el.className).join(' ')"""


def test_theme_toggle_and_keyboard_reach(server: Server, page: Page) -> None:
    page.goto(server.url)
    before = page.evaluate(THEME)
    page.locator("[data-testid=theme-toggle]").click()
    after = page.evaluate(THEME)
    assert after != before, "the theme toggle changed nothing on <html> or <body>"
    page.locator("[data-testid=theme-toggle]").click()
    assert page.evaluate(THEME) == before

    # Tab reaches the New run link and the buttons; Enter on the link opens the form.
    page.locator("body").focus()
    focused: list[dict[str, str]] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate(
                """() => { const el = document.activeElement;
                    return {tag: el.tagName, testid: el.dataset.testid || ''}; }"""
            )
        )
    testids = {f["testid"] for f in focused}
    assert "new-run-link" in testids, focused
    assert "theme-toggle" in testids, focused
    while page.evaluate("() => document.activeElement.dataset.testid") != "new-run-link":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/runs/new$"))
    expect(page.locator('[data-field="options.initial_learn_rate"]')).to_be_visible()
