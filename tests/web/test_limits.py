"""What one client may ask of a server: uploads (and only uploads) as data files, never
unpickled; the size of a run; runs per minute; the queue's length. Real server, real runs."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support import console_script

from .conftest import Server, spec, wait_status

# Real uploads trained by real workers on a real server.
pytestmark = pytest.mark.slow


class Marker:
    """Unpickling this creates a file: proof that something was unpickled."""

    path = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def blobs(n: int = 120) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) + y[:, None] * 3.0
    return {"X": X.astype(np.float32), "y": y}


def file_spec(path: str, **options: Any) -> dict[str, Any]:
    body = spec(**options)
    body["dataset"] = {"name": "file", "path": path}
    return body


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "TRAINSCOPE_MAX_UPLOAD_BYTES": "200000",
        "TRAINSCOPE_MAX_EPOCH_SAMPLES": "100000",
        "TRAINSCOPE_MAX_RUNS": "1",
    }
    srv = Server(tmp_path_factory.mktemp("limited"), env=env).start()
    yield srv
    srv.stop()


def upload(server: Server, content: bytes, filename: str) -> Any:
    with server.api() as api:
        return api.post(
            "/api/datasets",
            params={"filename": filename},
            content=content,
            headers={"Content-Type": "application/octet-stream"},
        )


# ---- uploads -------------------------------------------------------------------------------


def test_an_uploaded_npz_trains_and_the_same_bytes_get_the_same_path(limited: Server) -> None:
    data = npz_bytes(**blobs())
    first = upload(limited, data, "../../etc/my data.npz")
    assert first.status_code == 201, first.text
    path = first.json()["path"]
    assert path.startswith("uploads/") and path.endswith(".npz") and ".." not in path
    assert first.json()["bytes"] == len(data)
    assert upload(limited, data, "again.npz").json()["path"] == path
    with limited.api() as api:
        assert path in [d["path"] for d in api.get("/api/datasets").json()]
        run = api.post("/api/runs", json=file_spec(path, max_epochs=2)).json()
        done = wait_status(api, run["id"], ("completed", "failed"))
    assert done["status"] == "completed", done.get("message")


def test_uploads_that_are_not_data_are_refused_at_once(limited: Server) -> None:
    cases = [
        (b"hello", "notes.txt", "filename"),
        (b"not a zip at all", "data.npz", "not a .npz"),
        (npz_bytes(features=np.zeros(3)), "data.npz", "arrays X and y"),
        (b"", "empty.csv", "empty"),
        (b"\xff\xfe\x00garbage", "data.csv", "UTF-8"),
    ]
    for content, name, expected in cases:
        r = upload(limited, content, name)
        assert r.status_code == 422, (name, r.text)
        assert expected in r.json()["message"], (name, r.json())
    big = upload(limited, b"x" * 300_000, "big.csv")
    assert big.status_code == 413 and "200000 bytes" in big.json()["message"]


def test_pickled_objects_in_an_upload_are_never_unpickled(limited: Server, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    Marker.path = str(marker)
    poisoned = np.empty(120, dtype=object)
    poisoned[:] = [Marker() for _ in range(120)]
    r = upload(limited, npz_bytes(X=blobs()["X"], y=poisoned), "poisoned.npz")
    assert r.status_code == 201  # it has arrays X and y; what they hold shows when loaded
    with limited.api() as api:
        run = api.post("/api/runs", json=file_spec(r.json()["path"], max_epochs=1)).json()
        done = wait_status(api, run["id"], ("completed", "failed"))
    assert done["status"] == "failed"
    assert "Python objects" in done["message"] and "unpickle" in done["message"]
    assert not marker.exists(), "the upload was unpickled"


def test_runs_over_the_api_read_no_file_but_uploads(limited: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a,y\n1,2\n")
    for path in (str(secret), "../secret.csv", "uploads/../../secret.csv", "uploads/abc.npz"):
        with limited.api() as api:
            r = api.post("/api/runs", json=file_spec(path, max_epochs=1))
        assert r.status_code == 422, path
        body = r.json()
        assert body["detail"][0]["loc"] == ["body", "dataset", "path"]
        assert "POST /api/datasets" in body["message"]


def test_submit_uploads_a_local_data_file_for_you(limited: Server, tmp_path: Path) -> None:
    (tmp_path / "mine.npz").write_bytes(npz_bytes(**blobs()))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(file_spec("mine.npz", max_epochs=1)))
    done = subprocess.run(
        [console_script(), "submit", str(spec_file), "--url", limited.url, "--follow"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout + done.stderr


# ---- how much work, how often -----------------------------------------------------------


def test_a_run_over_the_epochs_times_samples_ceiling_is_refused_at_the_field(
    limited: Server,
) -> None:
    # spirals, 900 samples: 576 training samples; 500 epochs = 288,000 sample passes.
    with limited.api() as api:
        r = api.post("/api/runs", json=spec(max_epochs=500))
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["loc"] == ["body", "options", "max_epochs"]
    assert "TRAINSCOPE_MAX_EPOCH_SAMPLES" in body["message"] and "500 epochs" in body["message"]


def test_runs_per_minute_and_the_queue_are_limited(tmp_path: Path) -> None:
    env = {
        "TRAINSCOPE_RUNS_PER_MINUTE": "3",
        "TRAINSCOPE_MAX_QUEUED_RUNS": "1",
        "TRAINSCOPE_MAX_RUNS": "1",
    }
    srv = Server(tmp_path, env=env).start()
    try:
        with srv.api() as api:
            first = api.post("/api/runs", json=spec(max_epochs=400)).json()
            wait_status(api, first["id"], ("running",))
            second = api.post("/api/runs", json=spec(max_epochs=400))
            assert second.status_code == 201  # queued behind the first
            full = api.post("/api/runs", json=spec(max_epochs=1))
            assert full.status_code == 429 and "waiting for a worker" in full.json()["message"]
            api.post(f"/api/runs/{second.json()['id']}/stop")
            # The queue has room again, but this client has started 3 runs this minute
            # (the refused one did not count).
            third = api.post(f"/api/runs/{first['id']}/restart", json={})
            assert third.status_code == 201
            api.post(f"/api/runs/{third.json()['id']}/stop")
            fourth = api.post("/api/runs", json=spec(max_epochs=1))
            assert fourth.status_code == 429
            assert "TRAINSCOPE_RUNS_PER_MINUTE" in fourth.json()["message"]
            assert 1 <= int(fourth.headers["retry-after"]) <= 60
            api.post(f"/api/runs/{first['id']}/stop")
    finally:
        srv.stop()
