"""Every source suite runs twice: against the in-process store and against the HTTP adapter
talking to the source's service over the same database (tests/remote.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["store", "http"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)
