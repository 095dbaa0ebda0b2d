"""DESIGN §2's import rules, enforced: which package may import which, the engine stays pure,
the server never imports torch.

Every module of the package is parsed with `ast`, and every import in it counts: at the top,
inside functions, under `if TYPE_CHECKING:`. An import inside a function is still a dependency;
it only hides a cycle, so it obeys the same table.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import trainscope

PACKAGE = Path(trainscope.__file__).parent

# The allowed directions between trainscope's parts: each part (a subpackage, or a top-level
# module; "trainscope" is the package's own __init__) → the parts it may import. A part may
# always import itself. From the bottom layer up (docs/development.md, "Layers"):
ALLOWED: dict[str, set[str]] = {
    # Base: plain data and names, imported by everyone.
    "version": set(),
    "data_layout": set(),
    "schemas": set(),
    "config": {"data_layout"},
    # Domain: each knows the schemas only (and where files live).
    "engine": {"schemas", "data_layout"},
    "store": {"version", "schemas", "data_layout"},
    "live": set(),
    "doctor": {"schemas"},
    # A user's own code (DESIGN §8): its options' schema, argv, roles, metrics on stdout; the
    # probes that import user code run in child processes that jobs/ starts.
    "entrypoints": {"schemas"},
    # Built on the domain: processes that run the engine; sweep logic over stored records.
    "jobs": {"schemas", "data_layout", "engine", "entrypoints"},
    "sweeps": {"schemas", "store"},
    # The server's long-lived services compose the layers below; web calls them.
    "services": {
        "schemas",
        "data_layout",
        "config",
        "store",
        "live",
        "jobs",
        "doctor",
        "sweeps",
        "entrypoints",
    },
    # Front doors.
    "web": {
        "version",
        "schemas",
        "data_layout",
        "config",
        "store",
        "live",
        "jobs",
        "sweeps",
        "services",
        "entrypoints",
    },
    "client": {"schemas"},
    # `trainscope serve`'s start-up checks and `db check | backup | restore` (the data dir).
    "cli_data": {"version", "config", "data_layout", "store"},
    "sdk": {"version", "schemas", "store"},
    # Framework adapters (TensorBoard, wandb, …) over the SDK; none imports its framework early.
    "integrations": {"sdk", "schemas"},
    # Drop-in modules for scripts written for other trackers (trainscope.compat.wandb).
    "compat": {"sdk", "schemas", "integrations"},
    "cli": {
        "cli_data",
        "version",
        "schemas",
        "config",
        "engine",
        "doctor",
        "web",
        "client",
        "entrypoints",
        "services",
        # `trainscope import tensorboard | csv` (integrations/imports.py), loaded on first use.
        "integrations",
    },
    "trainscope": {"version", "sdk", "integrations"},
}
# Packages that run in the server process (or must stay importable without torch). numpy is
# allowed there (the store's columnar chunks); torch and scikit-learn belong to workers.
SERVER_SIDE = [
    "version",
    "data_layout",
    "schemas",
    "config",
    "cli",
    "client",
    "web",
    "services",
    "store",
    "live",
    "jobs",
    "doctor",
    "sweeps",
    "entrypoints",
]
# Modules inside those packages that run only in worker processes (they may load the engine's
# dependencies). The server imports everything else in the packages above, and must get no
# torch through them.
WORKER_SIDE = {"trainscope.jobs.dataset_cache"}
# Libraries the engine may never reach: it knows only emit() and should_stop().
ENGINE_FORBIDDEN = ["fastapi", "starlette", "sqlalchemy"]


def modules_under(name: str) -> list[Path]:
    path = PACKAGE / name
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    file = PACKAGE / f"{name}.py"
    return [file] if file.exists() else []


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    """Every module `path` imports (`source`: its text, when not read from disk), absolute,
    with its line: `from a import b` counts as `a.b` (b may be a submodule); relative imports
    are resolved against `path`'s package."""
    text = path.read_text(encoding="utf-8") if source is None else source
    found: list[tuple[str, int]] = []
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.extend((f"{module}.{a.name}", node.lineno) for a in node.names)
    return found


def part_of(module: str) -> str | None:
    """The part of trainscope `module` belongs to; None for another library."""
    names = module.split(".")
    if names[0] != "trainscope":
        return None
    if len(names) == 1:
        return "trainscope"
    head = names[1]
    if (PACKAGE / head).is_dir() or (PACKAGE / f"{head}.py").exists():
        return head
    return "trainscope"  # a name defined in the package's __init__ (`from trainscope import x`)


def libraries_of(path: Path) -> set[str]:
    return {m.split(".")[0] for m, _ in imports_in(path)}


def test_every_part_of_the_package_is_in_the_table() -> None:
    parts = {part_of(module_name(p)) for p in all_modules()}
    assert parts == set(ALLOWED), "add the new part to ALLOWED (and docs/development.md)"


def test_the_table_has_layers_no_cycles() -> None:
    """A part never reaches, through others, a part that imports it back."""
    for start in ALLOWED:
        seen: set[str] = set()
        todo = list(ALLOWED[start])
        while todo:
            part = todo.pop()
            assert part != start, f"{start} reaches itself through the table"
            if part not in seen:
                seen.add(part)
                todo.extend(ALLOWED[part])


def test_the_layout_in_the_docs_is_this_table() -> None:
    """docs/development.md's layer table says what ALLOWED says, so a newcomer reads the rule
    the test enforces."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "development.md"
    table: dict[str, set[str]] = {}
    for line in docs.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue
        name = cells[1].strip("`").removesuffix("/").removesuffix(".py")
        part = "trainscope" if name == "__init__" else name
        table[part] = set() if cells[3] == "—" else {n.strip() for n in cells[3].split(",")}
    assert table == ALLOWED


def test_every_import_goes_in_an_allowed_direction() -> None:
    offenders = []
    for path in all_modules():
        name = module_name(path)
        mine = part_of(name)
        assert mine is not None
        for target, line in imports_in(path):
            theirs = part_of(target)
            if theirs is None or theirs == mine or theirs in ALLOWED[mine]:
                continue
            rel = path.relative_to(PACKAGE)
            offenders.append(f"{rel}:{line} imports {target} ({mine} → {theirs})")
    assert offenders == [], "imports against ALLOWED:\n" + "\n".join(offenders)


def test_the_check_sees_imports_inside_functions_and_relative_ones() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from trainscope.web.app import create_app\n"
        "def later():\n    from trainscope.services import runs\n"
        "    from ..store import Store\n"
        "    import numpy\n"
    )
    # A module that is not on disk, at its place in the package: the doctor may import none
    # of these parts.
    found = imports_in(PACKAGE / "doctor" / "example.py", source)
    parts = [p for m, _ in found if (p := part_of(m)) is not None]
    assert parts == ["web", "services", "store"]
    assert not {"web", "services", "store"} & ALLOWED["doctor"]


def test_engine_imports_no_web_store_or_jobs() -> None:
    offenders = {
        module_name(p): sorted(libraries_of(p) & set(ENGINE_FORBIDDEN))
        for p in modules_under("engine")
    }
    assert {m: v for m, v in offenders.items() if v} == {}


def test_schemas_are_pure() -> None:
    heavy = {"torch", "numpy", "sklearn"}
    offenders = {
        module_name(p): sorted(libraries_of(p) & heavy)
        for p in [*modules_under("schemas"), *modules_under("data_layout")]
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
