"""Register the scripted backend for the contract tests, and remove it afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from forkingpaths import registry

from . import scripted


@pytest.fixture(autouse=True)
def scripted_backend() -> Iterator[None]:
    registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
    scripted.CALLS.clear()
    yield
    registry.backends.unregister("scripted")
