"""Fixtures every test package may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .web.in_process import InProcessServer, in_process_server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The fast tier's server: the real app in this process on a scripted executor."""
    with in_process_server(tmp_path_factory.mktemp("app")) as srv:
        yield srv
