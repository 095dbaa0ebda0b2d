"""Dataset uploads: the only files a run created over the API may read (docs/security.md).

The server stores an upload under a name of its own (the SHA-256 of its bytes), never under the
name it came with, and never parses it here: the worker loads it with allow_pickle=False. Here
only its shape is checked (a zip holding X.npy and y.npy, or UTF-8 text with a header row), so
that a wrong file is refused at upload rather than when its run starts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from trainscope.data_layout import UPLOAD_PATH, UPLOADS
from trainscope.services.errors import SpecRejected
from trainscope.web.errors import error_responses
from trainscope.web.state import StateDep

router = APIRouter(prefix="/api/datasets", tags=["datasets"])

SUFFIXES = (".npz", ".csv")


def _check_content(path: Path, suffix: str) -> None:
    if suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            raise SpecRejected(("body",), "not a .npz file (numpy.savez writes one)") from None
        missing = [n for n in ("X.npy", "y.npy") if n not in names]
        if missing:
            found = ", ".join(sorted(names)) or "nothing"
            raise SpecRejected(("body",), f"the .npz must hold arrays X and y; it holds {found}")
        return
    with path.open("rb") as stream:
        head = stream.read(65536)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the 64 KiB mark is fine.
        text = head[:-4].decode("utf-8-sig", errors="strict") if len(head) == 65536 else ""
        if not text:
            raise SpecRejected(("body",), "the .csv is not UTF-8 text") from None
    first = text.splitlines()[0] if text.strip() else ""
    if first.count(",") < 1:
        raise SpecRejected(
            ("body",), "the .csv needs a header row with a target column and feature columns"
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a dataset (.npz or .csv)",
    responses=error_responses(413, 422),
)
async def upload_dataset(
    request: Request,
    state: StateDep,
    filename: Annotated[str, Query(min_length=1, max_length=255)],
) -> dict[str, Any]:
    """The raw file as the request body (`Content-Type: application/octet-stream`), its name in
    `filename` (only its extension is used: .npz with arrays X and y, or .csv with a header
    row). Answers the `path` to put in a run's `{"dataset": {"name": "file", "path": ...}}`.
    Uploading the same bytes twice gives the same path."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise SpecRejected(
            ("query", "filename"), f"'{suffix or filename}': upload a .npz or a .csv file"
        )
    folder = state.settings.data_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():  # bounded by BodyLimit's upload limit
                digest.update(chunk)
                size += len(chunk)
                await run_in_threadpool(out.write, chunk)
        if size == 0:
            raise SpecRejected(("body",), "the upload is empty")
        await run_in_threadpool(_check_content, tmp, suffix)
        name = f"{digest.hexdigest()[:32]}{suffix}"
        tmp.replace(folder / name)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": f"{UPLOADS}/{name}", "bytes": size, "filename": Path(filename).name}


@router.get("", summary="Uploaded datasets")
def list_datasets(state: StateDep) -> list[dict[str, Any]]:
    folder = state.settings.data_dir / UPLOADS
    if not folder.is_dir():
        return []
    return [
        {"path": f"{UPLOADS}/{p.name}", "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if UPLOAD_PATH.fullmatch(f"{UPLOADS}/{p.name}")
    ]
