"""The browser's Plotly: the vendored partial bundle that index.html names, sent with a
year-long immutable cache header because its name carries a hash of its content."""

from __future__ import annotations

import hashlib
import re

from trainscope.web.frontend import frontend_dir

from .in_process import InProcessServer


def test_index_names_the_vendored_bundle_by_its_content_hash(app: InProcessServer) -> None:
    with app.api() as client:
        index = client.get("/").text
        src = re.search(r'<script src="(/static/vendor/[^"]+)" async data-plotly>', index)
        assert src, "index.html has no Plotly script tag"
        got = client.get(src.group(1))
    assert got.status_code == 200
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert got.headers["content-type"].startswith("text/javascript")
    digest = hashlib.sha256(got.content).hexdigest()[:12]
    assert src.group(1).endswith(f".{digest}.min.js"), "the name's hash is not the content's"
    assert b"plotly.js (cartesian - minified) v" in got.content[:200]
    assert (frontend_dir() / "vendor" / "plotly.js-LICENSE").read_text().startswith("MIT License")


def test_an_unknown_vendored_name_is_404(app: InProcessServer) -> None:
    with app.api() as client:
        assert client.get("/static/vendor/plotly.min.js").status_code == 404
