"""Serves the browser UI: `frontend/` as static files, the vendored Plotly.js partial bundle
(frontend/vendor/, rebuilt by scripts/vendor_plotly.sh; its name carries a hash of its content,
so it is sent with an immutable year-long cache header), and index.html for every page URL
(client-side routing)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

# The single page's deep links (routing is client-side). Group names may hold "/": path.
PAGES = (
    "/",
    "/runs/new",
    "/runs/{run_id:int}",
    "/compare",
    "/groups/{name:path}",
    "/sweeps",
    "/sweeps/{sweep_id:int}",
)


def frontend_dir() -> Path:
    """Installed: trainscope/frontend inside the package. From a checkout: ../frontend."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "frontend"
    if (packaged / "index.html").exists():
        return packaged
    return here.parents[1] / "frontend"


# A vendored file's name holds a hash of its content: a new bundle gets a new name.
IMMUTABLE = "public, max-age=31536000, immutable"


def mount_frontend(app: FastAPI) -> None:
    root = frontend_dir()
    index = root / "index.html"
    vendor = {p.name: p for p in (root / "vendor").glob("*.min.js")}

    # Declared before the /static mount, so it wins for these names (StaticFiles would send
    # them without a cache lifetime).
    @app.get("/static/vendor/{name}", include_in_schema=False)
    def vendored(name: str) -> FileResponse:
        path = vendor.get(name)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no vendored file {name!r}")
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": IMMUTABLE}
        )

    def page() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=root), name="static")
