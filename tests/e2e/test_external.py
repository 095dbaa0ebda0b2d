"""Runs logged by people's own training scripts (the SDK, `trainscope.init`) in the dashboard:
a real script in a real subprocess, a real server, a real Chromium."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import rest_run, tall_screenshot, wait_for
from tests.sdk.conftest import first_line, script
from tests.support import write_finished_run
from tests.web.conftest import Server

# A training script: a decreasing loss, a rising accuracy, a validation every 25 steps, a
# cosine learn rate and a metric the engine never emits. It ends when asked to stop.
SCRIPT = """
    import json, math, sys, time, trainscope
    n, sleep = {n}, {sleep}
    run = trainscope.init(name={name!r}, url={url!r}, config=json.loads({config!r}),
                          flush_every_s=0.1)
    print(run.id, flush=True)
    for i in range(1, n + 1):
        wobble = math.sin(i * 12.9898) * 0.04
        values = {{"train_loss": 2.3 * math.exp(-i / 120) + 0.08 + wobble,
                   "train_accuracy": min(1.0, 1 - 0.9 * math.exp(-i / 100) + wobble / 2),
                   "learn_rate": 0.05 * (0.5 + 0.5 * math.cos(math.pi * i / n)),
                   "my_metric": (i / 100) ** 2}}
        if {nan_at} and i == {nan_at}:
            values["train_loss"] = float("nan")
        if i % 25 == 0:
            values["val_loss"] = 2.3 * math.exp(-i / 140) + 0.15
            values["val_accuracy"] = 1 - 0.9 * math.exp(-i / 130) - 0.03
        run.log(values, epoch=(i - 1) // 100 + 1)
        if run.should_stop or values["train_loss"] != values["train_loss"]:
            break
        time.sleep(sleep)
    run.finish()
"""
CONFIG = {
    "lr": 0.05,
    "batch_size": 64,
    "epochs": 4,
    "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "weight_decay": 0.01},
    "model": {"depth": 3, "width": 128, "act": "gelu"},
    "augment": True,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No worker is needed (a script's run has none); one finished engine run to compare with."""
    data_dir = tmp_path_factory.mktemp("external")
    write_finished_run(data_dir, 300, per_epoch=100)
    srv = Server(data_dir, env={"TRAINSCOPE_MAX_RUNS": "1"}).start(wait_workers=False)
    yield srv
    srv.stop()


def start_script(
    server: Server,
    name: str,
    config: dict[str, Any],
    n: int = 400,
    sleep: float = 0.0,
    nan_at: int = 0,
) -> tuple[subprocess.Popen[str], int]:
    code = SCRIPT.format(
        n=n, sleep=sleep, name=name, url=server.url, config=json.dumps(config), nan_at=nan_at
    )
    proc = script(code)
    return proc, int(first_line(proc))


def ended(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def wait_ended(server: Server, run_id: int) -> dict[str, Any]:
    return wait_for(
        lambda: rest_run(server, run_id),
        lambda r: r["status"] != "running",
        30,
        f"run {run_id} to end",
    )


def run_status(page: Page) -> Locator:
    return page.locator("[data-testid=run-page] [data-testid=run-status]")


# Plotly keeps each trace's arrays on the graph div: [name, how many x values] per trace.
TRACES = """sel => {
    const g = document.querySelector(sel);
    return g && Array.isArray(g.data) ? g.data.map((t) => [t.name, (t.x || []).length]) : [];
}"""


def trace_lengths(page: Page, testid: str) -> dict[str, int]:
    """The graph's traces by name (the last of a name wins)."""
    return dict(page.evaluate(TRACES, f"[data-testid={testid}]"))


def test_a_script_run_shows_live_with_its_config_and_stops_from_the_ui(
    server: Server, page: Page
) -> None:
    proc, run_id = start_script(server, "script · spirals", CONFIG, n=3000, sleep=0.02)
    try:
        page.goto(server.url)
        item = page.locator(f'[data-testid=run-item][data-run-id="{run_id}"]')
        expect(item.locator("[data-testid=script-badge]")).to_have_text("script")
        # Its progress says what the script said: 4 epochs (the config's), no iterations.
        expect(item).to_contain_text(" epoch ")
        expect(item).to_contain_text("/4")
        item.locator("a").click()

        run_page = page.locator("[data-testid=run-page]")
        expect(run_page).to_have_attribute("data-run-id", str(run_id))
        expect(run_status(page)).to_have_text("running")
        expect(page.locator("[data-testid=run-page] [data-testid=script-badge]")).to_be_visible()
        # Curves grow live, the custom metric included.
        first = wait_for(
            lambda: trace_lengths(page, "chart-loss"),
            lambda n: n.get("Training loss (smoothed)", 0) > 0,
            20,
            "a loss curve",
        )
        wait_for(
            lambda: trace_lengths(page, "chart-loss"),
            lambda n: n["Training loss (smoothed)"] > first["Training loss (smoothed)"] + 20,
            20,
            "the loss curve to grow",
        )
        wait_for(
            lambda: trace_lengths(page, "chart-other"),
            lambda n: n.get("my_metric", 0) > 10,
            20,
            "my_metric drawn in Other metrics",
        )
        expect(page.locator("[data-testid=chart-accuracy]")).to_be_visible()
        expect(page.locator("[data-testid=chart-lr]")).to_be_visible()

        # Who logged it, instead of a dataset and a model.
        info = page.locator("[data-testid=info-panel]")
        expect(info).to_contain_text("a script")
        expect(info).to_contain_text(str(proc.pid))
        expect(info).not_to_contain_text("Dataset")
        # The config, nested as given.
        panel = page.locator("[data-testid=config-panel]")
        expect(panel.locator('tr[data-key="lr"] td')).to_have_text("0.05")
        expect(panel.locator('tr[data-key="optimizer.name"] td')).to_have_text("adamw")
        expect(panel.locator('tr[data-key="optimizer.betas"] td')).to_have_text("[0.9,0.999]")
        expect(panel.locator('tr[data-key="model.depth"] td')).to_have_text("3")
        expect(panel.locator('tr[data-key="augment"] td')).to_have_text("true")
        expect(panel.locator('tr[data-branch="model"]')).to_have_count(1)
        # trainscope cannot restart, resume or repeat what a script trains.
        for testid in ("restart", "resume", "repeat", "repeat-count"):
            expect(page.locator(f"[data-testid={testid}]")).to_have_count(0)
        wait_for(
            lambda: trace_lengths(page, "chart-accuracy"),
            lambda n: n.get("Validation", 0) >= 3,
            30,
            "three validations",
        )
        shot = tall_screenshot(page, "script-run")
        assert shot.stat().st_size > 20_000
        page.locator("[data-testid=theme-toggle]").click()
        page.wait_for_timeout(300)
        tall_screenshot(page, "script-run-dark")
        page.locator("[data-testid=theme-toggle]").click()

        # Stop, from the keyboard: asked at once, the script stops at its next log.
        stop = page.locator("[data-testid=stop]")
        stop.focus()
        page.keyboard.press("Enter")
        note = page.locator("[data-testid=stop-requested]")
        # (the script may have stopped already: the note only lasts while it still runs)
        expect(note.or_(run_status(page).filter(has_text="stopped"))).to_be_visible()
        ended(proc)
        expect(run_status(page)).to_have_text("stopped")
        expect(note).to_be_hidden()
        expect(stop).to_be_disabled()
        assert rest_run(server, run_id)["status"] == "stopped"
        expect(item.locator("[data-testid=run-status]")).to_have_text("stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def diff_rows(page: Page) -> dict[str, str]:
    rows = page.locator("[data-testid=diff-table] tr[data-option]")
    expect(rows.first).to_be_visible()
    return {
        r.get_attribute("data-option") or "": r.inner_text()
        for r in rows.all()  # the table is drawn whole, once
    }


def test_compare_two_script_runs_shows_exactly_the_config_key_that_differs(
    server: Server, page: Page
) -> None:
    other = {**CONFIG, "optimizer": {**CONFIG["optimizer"], "weight_decay": 0.1}}
    runs = [
        start_script(server, f"wd {c['optimizer']['weight_decay']}", c, n=120)
        for c in (CONFIG, other)
    ]
    for proc, run_id in runs:
        ended(proc)
        assert wait_ended(server, run_id)["status"] == "completed"
    a, b = (run_id for _, run_id in runs)
    page.goto(f"{server.url}/compare?ids={a},{b}")
    rows = diff_rows(page)
    assert list(rows) == ["config.optimizer.weight_decay"]
    assert "0.01" in rows["config.optimizer.weight_decay"]
    assert "0.1" in rows["config.optimizer.weight_decay"]
    expect(page.locator("[data-testid=diff-table] [data-testid=script-badge]")).to_have_count(2)
    wait_for(
        lambda: [n for _, n in page.evaluate(TRACES, "[data-testid=compare-chart]")],
        lambda n: len([x for x in n if x > 0]) == 8,  # train/val loss/accuracy of each
        15,
        "both runs' curves",
    )

    # A script's run beside an engine run: what each has, the other's cells empty.
    engine = next(r for r in httpx_runs(server) if r["spec"].get("kind", "train") == "train")
    page.goto(f"{server.url}/compare?ids={engine['id']},{a}")
    rows = diff_rows(page)
    assert "kind" in rows and "external" in rows["kind"]
    assert "config.optimizer.weight_decay" in rows and "dataset.name" in rows
    # Only the options the script's config named count; the defaults it never said do not.
    assert "options.initial_learn_rate" in rows and "options.momentum" not in rows
    expect(page.locator("[data-testid=diff-scripts-note]")).to_be_visible()
    tall_screenshot(page, "compare-script-and-engine")


def httpx_runs(server: Server) -> list[dict[str, Any]]:
    with server.api() as api:
        runs: list[dict[str, Any]] = api.get("/api/runs").json()
        return runs


def test_the_doctor_advises_a_script_run_in_its_config_words(server: Server, page: Page) -> None:
    proc, run_id = start_script(server, "script · nan", CONFIG, n=200, nan_at=80)
    ended(proc)
    wait_ended(server, run_id)
    page.goto(f"{server.url}/runs/{run_id}")
    finding = page.locator('[data-testid=finding][data-code="diverged"]')
    expect(finding).to_be_visible(timeout=20_000)
    fix = finding.locator("[data-testid=finding-fix]")
    expect(fix).to_contain_text("apply it in your script")
    expect(fix.locator("[data-testid=fix-config]")).to_contain_text("config.lr → 0.005")
    expect(page.locator("[data-testid=apply-fix]")).to_have_count(0)
    expect(page.locator("[data-testid=edit-fix]")).to_have_count(0)
