"""A real `trainscope serve` and a real Chromium (Debian's, /usr/bin/chromium) driven by
Playwright.

The UI contract these tests rely on (data attributes, not CSS classes or wording):

- every page: `a[data-testid=new-run]` (the New run link), `[data-testid=theme-toggle]`, the
  run rail `[data-testid=rail]` with one `[data-testid=rail-run][data-run-id=ID]` per run (a
  checkbox inside selects it for comparison, `[data-testid=status-badge]` shows its status) and
  `[data-testid=compare]`; `<html>` or `<body>` carries the theme (`data-theme` or a class);
- the New run form (`/runs/new`): one input or select per field, `[data-field="options.momentum"]`
  etc., the server's error for a field in `[data-error-for="options.momentum"]`, a submit
  button in the form;
- the run page (`/runs/{id}`): `[data-testid=run-page]` with `data-run-id`, `data-points` (points
  held) and `data-last-seq`; `[data-testid=run-status]`; the Plotly graphs
  `[data-testid=chart-loss]` and `[data-testid=chart-accuracy]`; `[data-testid=live-state]`
  ("live", "reconnecting", ...); buttons `[data-testid=stop]` and `[data-testid=restart]`, the
  latter opening `[data-testid=restart-form]`, the options editor, whose changed fields get
  the class `changed`;
- branching (tests/e2e/test_branching.py): `[data-testid=branch]` and a click on a point of the
  loss or accuracy chart open the same `restart-form` with `data-mode="branch"` and the epoch
  picker `[data-testid=branch-epoch]`; a refusal in `[data-testid=form-error]`; a branch's page
  says `[data-testid=origin]`; history traces carry `meta.history`, a parent's branch traces
  `meta.branch` (toggle `[data-testid=show-branches]`); a rail item has `data-parent-id`,
  `data-depth` and, for a branch, `[data-testid=branch-badge]`;
- the compare page (`/compare?runs=1,2`): `[data-testid=diff-table]` with one
  `tr[data-option="options.initial_learn_rate"]` per option that differs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, sync_playwright

from tests.web.conftest import Server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1"}
FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")
RUN_URL = re.compile(r"/runs/(\d+)$")


def launch_chromium(pw: Playwright) -> Browser:
    """Debian's Chromium; a missing browser is an error, never a skip (CI installs it)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    pw = sync_playwright().start()
    try:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("e2e"), env={"TRAINSCOPE_MAX_RUNS": "2"}).start()
    yield srv
    srv.stop()


@dataclass
class Watch:
    """What the page said and fetched: console errors, uncaught errors, outside requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Tolerate console errors matching `pattern` (the browser's own network messages while
        a test has taken the server away on purpose)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    def problems(self) -> list[str]:
        console = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return (
            [f"console error: {e}" for e in console]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"fetched from outside: {u}" for u in self.outside]
        )


def is_outside(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A 1280×800 tab. The test fails when the page logged a console error, threw, or asked
    for anything from a host other than 127.0.0.1 (such requests are refused)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})

    def refuse_outside(route: Route) -> None:
        if is_outside(route.request.url):
            watch.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", refuse_outside)
    tab = context.new_page()
    tab.on("console", watch.on_console)
    tab.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    tab.on("websocket", lambda ws: is_outside(ws.url) and watch.outside.append(ws.url))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    problems = watch.problems()
    assert not problems, "\n".join(problems)


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def screenshot(page: Page, name: str) -> Path:
    """Saved under tests/e2e/artifacts/ (ignored by git) for people to look at."""
    path = screenshot_path(name)
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for(
    probe: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 30, what: str = ""
) -> Any:
    """Poll `probe()` until `until(value)`; the last value is in the failure message."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'condition'}; last: {value!r}")
        time.sleep(0.1)  # probes talk to the page or the server: events keep flowing
        value = probe()
    return value


# ---- runs and pages shared by the test files ---------------------------------------------------


def digits(**options: Any) -> dict[str, Any]:
    """A real run of digits with the simple CNN: 35 iterations an epoch."""
    return {
        "dataset": {"name": "digits"},
        "model": {"preset": "simple-cnn"},
        "options": {
            "mini_batch_size": 32,
            "validation_frequency": 10,
            "execution_environment": "cpu",
            **options,
        },
    }


def create_run(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    with server.api() as api:
        response = api.post("/api/runs", json=body)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run


def rest_run(server: Server, run_id: int) -> dict[str, Any]:
    run: dict[str, Any] = httpx.get(f"{server.url}/api/runs/{run_id}", timeout=10).json()
    return run


def stop_quietly(server: Server, run_id: int) -> None:
    """Free the run's worker slot for the next test (409 when it had ended already)."""
    httpx.post(f"{server.url}/api/runs/{run_id}/stop", timeout=30)


def set_field(page: Page, name: str, value: str, within: str = "body") -> None:
    field = page.locator(within).locator(f'[data-field="{name}"]')
    tag = field.evaluate("el => el.tagName")
    if tag == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def fill_form(page: Page, fields: dict[str, str]) -> None:
    """Set the New run form's fields (by `data-field` path), in order."""
    for name, value in fields.items():
        set_field(page, name, value)


def run_id_of(page: Page) -> int:
    match = RUN_URL.search(page.url)
    assert match, page.url
    return int(match.group(1))


def tall_screenshot(page: Page, name: str) -> Path:
    """The whole page: the app scrolls inside <main>, so grow the viewport to its content."""
    height = page.evaluate("() => document.querySelector('#main').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(3000, max(800, int(height)))})
    page.wait_for_timeout(400)  # Plotly's responsive relayout
    path = screenshot_path(name)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 800})
    return path
