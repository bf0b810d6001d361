"""Every source suite runs twice: against the in-process store and against the HTTP adapter
talking to the source's service over the same database (tests/remote.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.remote import stop_shared_services


@pytest.fixture(params=["store", "http"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session", autouse=True)
def _shared_services() -> Iterator[None]:
    yield
    stop_shared_services()
