"""Who may talk to the server, and what the browser may do with its pages (docs/security.md).

Three ASGI middlewares, outermost first in `create_app`:

- `HostCheck`: a server bound to a loopback address answers only requests addressed to a
  loopback name, so a web page cannot reach it by DNS rebinding (evil.example resolving to
  127.0.0.1 would otherwise be "same origin" with it).
- `OriginCheck`: a request that changes something (POST, PUT, PATCH, DELETE) or opens a
  websocket from a page of another origin is refused unless that origin is allowed
  (`TRAINSCOPE_CORS_ORIGINS`): without this any web page could start runs on, or read the
  live points of, a server on the visitor's machine.
- `TokenAuth`: with `TRAINSCOPE_API_TOKEN` set, every route but `/api/health` and the sign-in
  page needs the token, as `Authorization: Bearer <token>` (clients) or the HttpOnly cookie the
  sign-in page sets (the browser); websockets are refused before they are accepted.

Plus `SecurityHeaders` on every response: a Content-Security-Policy (no inline script, no
other origin), nosniff, no framing, no referrer to other sites.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "trainscope_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

# Plotly.js sets inline styles on the SVG it draws and embeds its modebar icons as data: URIs;
# the PNG export goes through a canvas and a blob: URL. Nothing else is needed from outside.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# FastAPI's /docs page loads Swagger UI from a CDN: it keeps its own defaults.
CSP_EXEMPT = ("/docs", "/redoc")

# Reachable without the token: liveness, and what the sign-in page itself needs.
OPEN_PATHS = frozenset({"/api/health", "/login", "/static/css/app.css", "/static/favicon.svg"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_value(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie never holds the token itself
    and changing the token signs every browser out."""
    return hmac.new(token.encode(), b"trainscope-session-v1", hashlib.sha256).hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(
    send: Send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"detail": message, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """403/401 for HTTP; a websocket is closed before it is accepted (the client's handshake
    fails with HTTP 403), so nothing is ever sent on it."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
    else:
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        await _send_json(send, status, message, extra)


class HostCheck:
    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed  # None: any host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is not None and scope["type"] in ("http", "websocket"):
            host = (_header(scope, b"host") or "").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.allowed:
                await _refuse(
                    scope,
                    send,
                    403,
                    f"host {host!r} not served here: this server answers {sorted(self.allowed)} "
                    "(set TRAINSCOPE_ALLOWED_HOSTS to add names)",
                )
                return
        await self.app(scope, receive, send)


class OriginCheck:
    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/") for o in allowed_origins)

    def _same_origin(self, scope: Scope, origin: str) -> bool:
        host = _header(scope, b"host")
        return host is not None and urlsplit(origin).netloc.lower() == host.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope.get("method") in UNSAFE_METHODS
        )
        origin = _header(scope, b"origin") if checked else None
        # Clients that are not browsers send no Origin: nothing to check.
        if origin and origin != "null" and not self._same_origin(scope, origin):
            if origin.rstrip("/") not in self.allowed and "*" not in self.allowed:
                await _refuse(
                    scope,
                    send,
                    403,
                    f"cross-origin request from {origin} refused "
                    "(allow it with TRAINSCOPE_CORS_ORIGINS)",
                )
                return
        elif origin == "null":
            await _refuse(scope, send, 403, "request from an opaque origin refused")
            return
        await self.app(scope, receive, send)


class TokenAuth:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.bearer = f"Bearer {token}".encode()
        self.session = session_value(token).encode()

    def authorized(self, scope: Scope) -> bool:
        # compare_digest: how long a comparison takes says nothing about how much matched.
        auth = _header(scope, b"authorization")
        if auth is not None and hmac.compare_digest(auth.encode("latin-1"), self.bearer):
            return True
        cookie_header = _header(scope, b"cookie")
        if cookie_header:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie_header)
            except Exception:  # a malformed Cookie header is just no cookie
                return False
            morsel = jar.get(COOKIE)
            if morsel is not None and hmac.compare_digest(morsel.value.encode(), self.session):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path in OPEN_PATHS or self.authorized(scope):
            await self.app(scope, receive, send)
            return
        is_page = (
            scope["type"] == "http"
            and not path.startswith(("/api/", "/static/", "/ws/"))
            and path != "/openapi.json"
        )
        if is_page and scope.get("method") == "GET":
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            location = f"/login?next={quote(target, safe='')}".encode()
            await send(
                {"type": "http.response.start", "status": 303, "headers": [(b"location", location)]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await _refuse(
            scope,
            send,
            401,
            "this server needs its API token: send the header 'Authorization: Bearer <token>' "
            "(trainscope submit --token, or TRAINSCOPE_API_TOKEN) or sign in at /login",
        )


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exempt = scope.get("path", "").startswith(CSP_EXEMPT)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # same-origin, not no-referrer: with no-referrer a form's POST carries
                # "Origin: null", which OriginCheck must refuse.
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not exempt:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# ---- the sign-in page ---------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never `//other.host` or `https://…` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(next_path: str, error: str | None) -> str:
    err = f'<p class="error-text" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · trainscope</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
<main class="login">
<form class="card login-card" method="post" action="/login" data-testid="login-form">
<h1>trainscope</h1>
<p class="muted">This server needs its API token (TRAINSCOPE_API_TOKEN).</p>
{err}
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{html.escape(next_path)}">
<button class="btn primary" type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""


def login_router(token: str | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_form(next: str | None = None) -> Response:
        if token is None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return HTMLResponse(_login_page(_safe_next(next), None))

    @router.post("/login")
    async def login(request: Request) -> Response:
        if token is None:
            return RedirectResponse("/", status_code=303)
        # A plain HTML form (no script on the page): application/x-www-form-urlencoded.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = form.get("token", [""])[0]
        target = _safe_next(form.get("next", ["/"])[0])
        if not hmac.compare_digest(given.encode(), token.encode()):
            wrong = "Wrong token: it is not the one this server was started with."
            return HTMLResponse(_login_page(target, wrong), 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            session_value(token),
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return router
