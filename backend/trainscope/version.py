"""trainscope's version: the one place it is written. The package's metadata reads it from here
(pyproject.toml, `dynamic = ["version"]`); the CLI, the API and the SDK import it."""

from __future__ import annotations

__version__ = "0.1.0"
