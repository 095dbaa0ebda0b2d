"""The user's own training code in the dashboard (issue 15): the New run form generated from an
entry point's schema, a script run's console and options, Restart with a changed option."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    FINAL,
    RUN_URL,
    Watch,
    create_run,
    rest_run,
    run_id_of,
    screenshot,
    stop_quietly,
    tall_screenshot,
    wait_for,
)
from tests.web.conftest import Server

# A script written for the tests: argparse and stdout only, it knows nothing of trainscope.
TOY = """\
import argparse, math, sys, time
p = argparse.ArgumentParser(description="a toy that prints its loss")
p.add_argument("--lr", type=float, default=0.1, help="learning rate")
p.add_argument("--epochs", type=int, default=3, help="how many epochs")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd", help="which optimizer")
p.add_argument("--layers", type=int, nargs="+", default=[16, 8], help="hidden sizes")
p.add_argument("--amp", action="store_true", help="mixed precision")
p.add_argument("--steps", type=int, default=30)
p.add_argument("--delay", type=float, default=0.02)
a = p.parse_args()
print(f"args: lr={a.lr} optimizer={a.optimizer} layers={a.layers} amp={a.amp}", flush=True)
for i in range(1, a.steps + 1):
    print(f"step {i} loss: {math.exp(-a.lr * i):.4f}", flush=True)
    time.sleep(a.delay)
print("warning: finished", file=sys.stderr, flush=True)
"""

# Another without a seed option: no Repeat for its runs.
NOSEED = """\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.5)
a = p.parse_args()
for i in range(1, 6):
    print(f"loss: {a.lr / i:.4f}", flush=True)
"""

# One that crashes after a line: its traceback belongs in the console.
CRASH = """\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.5)
a = p.parse_args()
print("loss: 1.0", flush=True)
raise ZeroDivisionError("the learn rate was divided by zero")
"""


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the registered scripts."""
    return tmp_path_factory.mktemp("code")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, code: Path) -> Iterator[Server]:
    (code / "toy.py").write_text(TOY)
    (code / "noseed.py").write_text(NOSEED)
    (code / "crash.py").write_text(CRASH)
    args = ["--entrypoint", f"toy={code / 'toy.py'}"]
    args += ["--entrypoint", f"noseed={code / 'noseed.py'}"]
    args += ["--entrypoint", f"crash={code / 'crash.py'}"]
    srv = Server(tmp_path_factory.mktemp("e2e"), args=args).start()
    yield srv
    srv.stop()


def wait_final(server: Server, run_id: int, timeout: float = 90) -> dict[str, Any]:
    run: dict[str, Any] = wait_for(
        lambda: rest_run(server, run_id), lambda r: r["status"] in FINAL, timeout, "the run's end"
    )
    return run


def console_texts(page: Page) -> list[str]:
    texts: list[str] = page.locator("[data-testid=console-log] .line .text").all_inner_texts()
    return texts


def test_generated_form_starts_a_script_run(page: Page, server: Server, watch: Watch) -> None:
    watch.allow(r"status of 422")  # the bad value below, answered as it should be
    page.goto(f"{server.url}/runs/new")
    page.locator("[data-testid=run-source]").select_option("toy")
    form = page.locator("[data-testid=script-form]")
    # The schema's types as inputs, its defaults and help text.
    expect(form.locator('[data-field="args.amp"]')).to_have_attribute("type", "checkbox")
    assert form.locator('[data-field="args.optimizer"] option').all_inner_texts() == ["sgd", "adam"]
    expect(form.locator('[data-field="args.layers"]')).to_have_value("16, 8")
    expect(form.locator('[data-field="args.lr"]')).to_have_value("0.1")
    expect(form.locator('[data-arg="lr"] .hint')).to_have_text("learning rate")
    expect(form.locator('[data-arg="seed"] .role-badge')).to_have_text("seed")
    # The engine's form is out of the way.
    expect(page.locator("[data-testid=run-form]")).to_be_hidden()

    # A bad value: the server's 422, shown at the option it names.
    form.locator('[data-field="args.lr"]').fill("fast")
    form.locator("[data-testid=start-run]").click()
    expect(form.locator('[data-error-for="args.lr"]')).to_contain_text("number")
    assert RUN_URL.search(page.url) is None

    form.locator('[data-field="args.lr"]').fill("0.25")
    form.locator('[data-field="args.optimizer"]').select_option("adam")
    form.locator('[data-field="args.layers"]').fill("32, 4")
    form.locator('[data-field="args.amp"]').check()
    screenshot(page, "own-code-new-run-form")
    form.locator("[data-testid=start-run]").click()
    page.wait_for_url(RUN_URL)
    run_id = run_id_of(page)
    run = wait_final(server, run_id)
    assert run["status"] == "completed", run
    assert run["spec"]["args"]["lr"] == 0.25
    assert run["spec"]["args"]["layers"] == [32, 4]

    # The script received them, and its console is on the page: stdout, then stderr apart.
    log = page.locator("[data-testid=console-log]")
    expect(log.locator(".line").first).to_contain_text(
        "args: lr=0.25 optimizer=adam layers=[32, 4] amp=True"
    )
    expect(log.locator('.line[data-stream="stderr"] .text')).to_have_text("warning: finished")
    expect(page.locator("[data-testid=console]")).to_have_attribute("data-lines", "32")
    # Its options panel and its loss curve (read off `loss: ...` lines).
    expect(page.locator('[data-testid=args-table] tr[data-arg="lr"] td')).to_have_text("0.25")
    wait_for(
        lambda: page.evaluate(
            "() => (document.querySelector('[data-testid=chart-loss]').data || [])"
            ".reduce((n, t) => n + (t.x || []).length, 0)"
        ),
        lambda n: n >= 30,
        what="the loss curve's points",
    )
    expect(page.locator("[data-testid=chart-accuracy]")).to_be_hidden()  # it logs no accuracy
    tall_screenshot(page, "own-code-run-page")


def test_console_follows_the_end_and_keeps_its_place(page: Page, server: Server) -> None:
    run = create_run(server, {"entrypoint": "toy", "args": {"steps": 600, "delay": 0.02}})
    try:
        page.goto(f"{server.url}/runs/{run['id']}")
        log = page.locator("[data-testid=console-log]")
        pane = page.locator("[data-testid=console]")
        wait_for(lambda: len(console_texts(page)), lambda n: n > 60, 60, "console lines")
        # Following: the newest line is in view.
        at_end = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 30"
        assert log.evaluate(at_end)
        # Scrolled up, it stays where the reader is while lines keep coming.
        log.evaluate("el => { el.scrollTop = 40; el.dispatchEvent(new Event('scroll')); }")
        expect(pane).to_have_attribute("data-follow", "false")
        before = len(console_texts(page))
        wait_for(lambda: len(console_texts(page)), lambda n: n > before + 40, 30, "more lines")
        assert log.evaluate("el => el.scrollTop") == 40
        jump = page.locator("[data-testid=console-jump]")
        expect(jump).to_be_visible()
        expect(jump).to_contain_text("new")
        jump.click()
        assert log.evaluate(at_end)
        expect(pane).to_have_attribute("data-follow", "true")
        # The search keeps only the matching lines, the match highlighted.
        page.locator("[data-testid=console-search]").fill("step 7 ")
        shown = console_texts(page)
        assert shown == ["step 7 loss: 0.4966"], shown
        expect(log.locator("mark")).to_have_text("step 7 ")
        page.locator("[data-testid=console-search]").fill("")
        wait_for(lambda: len(console_texts(page)), lambda n: n > len(shown) + 60, what="all lines")
        # Stop from the page: the script is interrupted, the run ends stopped.
        page.locator("[data-testid=stop]").click()
        expect(page.locator("[data-testid=run-page] [data-testid=run-status]")).to_have_text(
            "stopped", timeout=60_000
        )
    finally:
        stop_quietly(server, run["id"])
        wait_final(server, run["id"])


def test_restart_with_a_changed_option(page: Page, server: Server, code: Path) -> None:
    parent = create_run(server, {"entrypoint": "toy", "args": {"steps": 5, "lr": 0.5}})
    wait_final(server, parent["id"])
    # The user edits their script between the runs (a comment: the options stay the same).
    with (code / "toy.py").open("a") as f:
        f.write("# tuned the schedule\n")
    page.goto(f"{server.url}/runs/{parent['id']}")
    expect(page.locator("[data-testid=run-status]").first).to_have_text("completed")
    page.locator("[data-testid=restart]").click()
    dialog = page.locator("[data-testid=restart-form]")
    lr = dialog.locator('[data-field="args.lr"]')
    expect(lr).to_have_value("0.5")  # prefilled from the run, not the default
    expect(dialog.locator('[data-field="args.steps"]')).to_have_value("5")
    lr.fill("0.05")
    expect(dialog.locator('[data-arg="lr"]')).to_have_class("field changed")
    expect(dialog.locator(".field.changed")).to_have_count(1)
    dialog.locator("[data-testid=restart-submit]").click()
    page.wait_for_url(re.compile(rf"/runs/(?!{parent['id']}$)\d+$"))
    child = wait_final(server, run_id_of(page))
    assert child["parent_id"] == parent["id"]
    assert child["spec"]["args"]["lr"] == 0.05
    assert child["spec"]["args"]["steps"] == 5  # the rest as the parent had them
    # The script itself got the new value.
    expect(page.locator("[data-testid=console-log] .line").first).to_contain_text("args: lr=0.05 ")
    note = page.locator("[data-testid=code-changed]")
    expect(note).to_contain_text(f"The code changed since the parent run #{parent['id']}")
    assert child["spec"]["launch"]["code"]["sha256"] != parent["spec"]["launch"]["code"]["sha256"]
    # The toy has a seed option: Repeat is offered.
    expect(page.locator("[data-testid=repeat]")).to_be_enabled()

    # Compare shows the args like options: only the one that differs.
    page.goto(f"{server.url}/compare?ids={parent['id']},{child['id']}")
    row = page.locator('[data-testid=diff-table] tr[data-option="args.lr"]')
    expect(row.locator("td")).to_have_text(["0.5", "0.05"])
    expect(page.locator('[data-testid=diff-table] tr[data-option="args.steps"]')).to_have_count(0)


def test_sweep_page_shows_the_scripts_options(page: Page, server: Server) -> None:
    with server.api() as api:
        answer = api.post(
            "/api/sweeps",
            json={
                "base": {"entrypoint": "toy", "args": {"steps": 4, "delay": 0.01}},
                "space": {"lr": {"values": [0.2, 0.4]}},
                "metric": "train_loss",
                "max_parallel": 2,
            },
        )
        assert answer.status_code == 201, answer.text
        sweep = answer.json()
    page.goto(f"{server.url}/sweeps/{sweep['id']}")
    base = page.locator("[data-testid=sweep-base-args]")
    expect(base).to_contain_text("toy with steps=4, delay=0.01")
    table = page.locator("[data-testid=trial-table]")
    expect(table.locator("thead")).to_contain_text("lr")
    expect(table.locator("tbody tr")).to_have_count(2)
    wait_for(
        lambda: httpx.get(f"{server.url}/api/sweeps/{sweep['id']}", timeout=10).json()["status"],
        lambda s: s != "running",
        120,
        "the sweep's end",
    )
    expect(page.locator("[data-testid=sweep-page]")).to_have_attribute("data-status", "completed")


def test_no_repeat_without_a_seed_option(page: Page, server: Server) -> None:
    run = create_run(server, {"entrypoint": "noseed", "args": {}})
    wait_final(server, run["id"])
    page.goto(f"{server.url}/runs/{run['id']}")
    expect(page.locator("[data-testid=repeat]")).to_be_disabled()
    expect(page.locator("[data-testid=repeat-unavailable]")).to_contain_text("no seed option")
    expect(page.locator("[data-testid=console-log] .line")).to_have_count(5)


def test_a_crashing_scripts_traceback_is_in_its_console(page: Page, server: Server) -> None:
    run = create_run(server, {"entrypoint": "crash", "args": {}})
    ended = wait_final(server, run["id"])
    assert ended["status"] == "failed", ended
    page.goto(f"{server.url}/runs/{run['id']}")
    errors = page.locator('[data-testid=console-log] .line[data-stream="stderr"] .text')
    expect(errors.first).to_have_text("Traceback (most recent call last):")
    expect(errors.last).to_have_text("ZeroDivisionError: the learn rate was divided by zero")
    expect(page.locator("[data-testid=info-panel]")).to_contain_text("ZeroDivisionError")
