"""Only here to ship the browser UI inside the wheel: `frontend/` → `trainscope/frontend/`.

Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithFrontend(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "frontend"
        target = Path(self.build_lib) / "trainscope" / "frontend"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)


setup(cmdclass={"build_py": BuildPyWithFrontend})
