"""The search tests' shops: the suite's seeded one per backend (read-only), or an empty
migrated catalog per test for writes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from sources.common.db import Database
from tests.conftest import require_postgres
from tests.migrated import upgrade_fresh
from tests.pg import create_temp_database, drop_database


@pytest.fixture(scope="session")
def shop_url(shop: dict[str, str]) -> str:
    """The suite's seeded shop on each backend (tests/conftest.py), its catalog only: the
    search tests read it, and share it with every other reader of ``shop``."""
    return shop["catalog"]


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty migrated catalog per test (for writes), on the backend asked."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/catalog.db"
        asyncio.run(_migrate(url))
        yield url
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(drop_database(url))


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade_fresh("catalog", db)
    finally:
        await db.dispose()
