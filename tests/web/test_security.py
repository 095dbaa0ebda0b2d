"""Who gets in (the API token, the sign-in page), which pages may call the API (Origin, Host),
and the headers every response carries — against a real `trainscope serve`."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support import console_script

from .conftest import Server, free_port, spec

# Real servers with and without a token.
pytestmark = pytest.mark.slow

TOKEN = "correct horse battery staple"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("guarded"), env={"TRAINSCOPE_API_TOKEN": TOKEN}).start()
    yield srv
    srv.stop()


def handshake_status(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The HTTP status a refused websocket handshake got; None when it was accepted."""
    try:
        with connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
            assert '"hello"' in str(ws.recv(timeout=10))
            return None
    except InvalidStatus as refused:
        return refused.response.status_code


# ---- the API token -------------------------------------------------------------------------------


def test_without_the_token_the_api_answers_401_and_says_how_to_send_it(guarded: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = httpx.get(f"{guarded.url}/api/runs", headers=headers, timeout=10)
        assert r.status_code == 401, headers
        assert "Authorization: Bearer" in r.json()["message"]
        assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(f"{guarded.url}/api/runs", json=spec(), timeout=10)
    assert r.status_code == 401
    assert httpx.get(f"{guarded.url}/api/runs", headers=BEARER, timeout=10).status_code == 200
    assert httpx.get(f"{guarded.url}/openapi.json", timeout=10).status_code == 401


def test_health_stays_open_and_says_nothing_private(guarded: Server) -> None:
    r = httpx.get(f"{guarded.url}/api/health", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status", "version", "workers", "storage"}
    # The disk's state for the dashboard's banner, never a path.
    assert set(body["storage"]) <= {"free_bytes", "total_bytes", "full", "message"}
    assert str(guarded.data_dir) not in r.text


def test_websockets_are_refused_before_they_open_without_the_token(guarded: Server) -> None:
    url = f"{guarded.ws_url}/ws/runs"
    assert handshake_status(url) == 403
    assert handshake_status(url, {"Authorization": "Bearer wrong"}) == 403
    assert handshake_status(url, BEARER) is None


def test_the_browser_signs_in_once_and_gets_an_httponly_cookie(guarded: Server) -> None:
    with httpx.Client(base_url=guarded.url, timeout=10) as browser:
        page = browser.get("/runs/7?x=1")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fruns%2F7%3Fx%3D1"
        form = browser.get("/login", params={"next": "/runs/7"})
        assert form.status_code == 200 and 'name="token"' in form.text
        assert "<script" not in form.text

        wrong = browser.post("/login", data={"token": "nope", "next": "/runs/7"})
        assert wrong.status_code == 401 and "Wrong token" in wrong.text
        assert "trainscope_session" not in browser.cookies

        right = browser.post("/login", data={"token": TOKEN, "next": "/runs/7"})
        assert right.status_code == 303 and right.headers["location"] == "/runs/7"
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert TOKEN.lower() not in cookie, "the cookie must not carry the token itself"
        assert browser.get("/api/runs").status_code == 200
        assert browser.get("/").status_code == 200
        session = browser.cookies["trainscope_session"]
    assert (
        handshake_status(f"{guarded.ws_url}/ws/runs", {"Cookie": f"trainscope_session={session}"})
        is None
    )


def test_sign_in_never_redirects_off_the_server(guarded: Server) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = httpx.post(f"{guarded.url}/login", data={"token": TOKEN, "next": target}, timeout=10)
        assert r.status_code == 303 and r.headers["location"] == "/", target


def test_submit_sends_the_token(guarded: Server, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(httpx.Response(200, json=spec(max_epochs=1)).text)
    cmd = [console_script(), "submit", str(spec_file), "--url", guarded.url]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "token" in refused.stderr.lower()
    ok = subprocess.run([*cmd, "--token", TOKEN], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


# ---- pages of other origins, other host names ----------------------------------------------------


def test_another_origin_cannot_start_runs_or_open_websockets(server: Server) -> None:
    evil = {"Origin": "http://evil.example"}
    with server.api() as api:
        r = api.post("/api/runs", json=spec(), headers=evil)
        assert r.status_code == 403 and "evil.example" in r.json()["message"]
        assert api.delete("/api/runs/1", headers=evil).status_code == 403
        # Reading is not refused, but no CORS header lets that page see the answer.
        read = api.get("/api/runs", headers=evil)
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
        # The dashboard itself (same origin) is not affected.
        same = api.post("/api/runs", json={"nonsense": 1}, headers={"Origin": server.url})
        assert same.status_code == 422
    assert handshake_status(f"{server.ws_url}/ws/runs", evil) == 403
    assert handshake_status(f"{server.ws_url}/ws/runs", {"Origin": server.url}) is None


def test_a_loopback_server_answers_only_loopback_host_names(server: Server) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1."""
    r = httpx.get(f"{server.url}/api/runs", headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 403 and "TRAINSCOPE_ALLOWED_HOSTS" in r.json()["message"]
    assert httpx.get(f"http://localhost:{server.port}/api/health", timeout=10).status_code == 200


def test_allowed_origins_get_cors(tmp_path: Path) -> None:
    origin = "http://dash.example:3000"
    srv = Server(tmp_path, env={"TRAINSCOPE_CORS_ORIGINS": origin}).start(wait_workers=False)
    try:
        pre = httpx.options(
            f"{srv.url}/api/runs",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == origin
        r = httpx.post(f"{srv.url}/api/runs", json={"bad": 1}, headers={"Origin": origin})
        assert r.status_code == 422 and r.headers["access-control-allow-origin"] == origin
    finally:
        srv.stop()


# ---- headers and binding -------------------------------------------------------------------


def test_pages_carry_a_content_security_policy(server: Server) -> None:
    for path in ("/", "/runs/1", "/api/runs", "/static/js/main.js"):
        r = httpx.get(f"{server.url}{path}", timeout=10)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp, path
        assert "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    index = httpx.get(server.url, timeout=10).text
    assert "<script>" not in index and "onload=" not in index, "no inline scripts"


def test_serving_beyond_this_machine_without_a_token_warns(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            console_script(),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "WARNING" in line:
                break
        assert any("no API token" in line for line in lines), lines
        assert any("TRAINSCOPE_API_TOKEN" in line for line in lines)
    finally:
        proc.kill()
        proc.wait()
