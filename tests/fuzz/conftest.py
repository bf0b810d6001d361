from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.support import TALLY


@pytest.fixture(scope="session", autouse=True)
def fuzz_report() -> Iterator[None]:
    yield
    if TALLY.requests:
        print(
            f"\nfuzz: {TALLY.requests} requests; by status {dict(sorted(TALLY.by_status.items()))};"
            f" errors by code {dict(sorted(TALLY.by_code.items(), key=lambda kv: -kv[1]))}"
        )
