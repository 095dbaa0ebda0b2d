"""Serves the browser UI: `frontend/` as static files, Plotly.js from the installed `plotly`
package (so the UI works offline), and index.html for every page URL (client-side routing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
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


def plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise RuntimeError("the plotly package is missing: pip install plotly")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


def mount_frontend(app: FastAPI) -> None:
    root = frontend_dir()
    index = root / "index.html"
    plotly = plotly_js()

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(
            plotly, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    def page() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=root), name="static")
