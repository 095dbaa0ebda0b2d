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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test is `browser` and `slow` by where it lives, so a new file in
    tests/e2e cannot land in the quick loop by forgetting a marker."""
    for item in items:
        if "e2e" in item.path.relative_to(item.config.rootpath).parts[:2]:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
