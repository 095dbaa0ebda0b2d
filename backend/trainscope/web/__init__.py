"""The FastAPI app: routers per resource, websockets, error handling. Never imports torch."""

from __future__ import annotations

from trainscope.web.app import create_app

__all__ = ["create_app"]
