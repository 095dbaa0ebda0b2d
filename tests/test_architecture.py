"""DESIGN §2's import rules, enforced: the engine stays pure, the server never imports torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import trainscope

PACKAGE = Path(trainscope.__file__).parent
# Packages that run in the server process (or must stay importable without torch). numpy is
# allowed there (the store's columnar chunks); torch and scikit-learn belong to workers.
SERVER_SIDE = [
    "schemas",
    "config",
    "cli",
    "remote",
    "web",
    "store",
    "live",
    "pipeline",
    "jobs",
    "doctor",
    "sweeps",
    "entrypoints",
]
# Modules inside those packages that run only in worker processes (they may load the engine's
# dependencies). The server imports everything else in the packages above, and must get no
# torch through them.
WORKER_SIDE = {"trainscope.jobs.dataset_cache"}
# What the engine may never reach: it knows only emit() and should_stop().
ENGINE_FORBIDDEN = [
    "trainscope.web",
    "trainscope.store",
    "trainscope.jobs",
    "trainscope.pipeline",
    "trainscope.live",
    "trainscope.cli",
    "fastapi",
    "starlette",
    "sqlalchemy",
]


def modules_under(name: str) -> list[Path]:
    path = PACKAGE / name
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    file = PACKAGE / f"{name}.py"
    return [file] if file.exists() else []


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_engine_imports_no_web_store_or_jobs() -> None:
    offenders = {
        module_name(p): sorted(
            i
            for i in imports_of(p)
            if any(i == f or i.startswith(f + ".") for f in ENGINE_FORBIDDEN)
        )
        for p in modules_under("engine")
    }
    assert {m: v for m, v in offenders.items() if v} == {}


def test_schemas_are_pure() -> None:
    heavy = {"torch", "numpy", "sklearn"}
    offenders = {
        module_name(p): sorted(i for i in imports_of(p) if i.split(".")[0] in heavy)
        for p in modules_under("schemas")
    }
    assert {m: v for m, v in offenders.items() if v} == {}


def test_server_side_modules_never_import_torch() -> None:
    names = [
        n
        for side in SERVER_SIDE
        for p in modules_under(side)
        if (n := module_name(p)) not in WORKER_SIDE
    ]
    assert "trainscope.cli" in names and "trainscope.schemas.spec" in names
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"server-side imports pulled in: {out.stdout.strip()}"
