"""A seeded demo shop per backend (read-only, built once per worker and shared by the
search modules) for search tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources.common.db import Database
from sources.common.migrate import upgrade_source
from sources.demo.seed import seed_demo_shop
from tests.conftest import require_postgres
from tests.pg import create_temp_database, drop_database

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SOURCES = ("catalog", "inventory", "pricing", "orders")


async def build_shop(url: str, products: int = 240) -> None:
    db = Database(url)
    try:
        for source in SOURCES:
            await upgrade_source(source, db)
        await seed_demo_shop({s: db for s in SOURCES}, products=products, now=NOW)
    finally:
        await db.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shop_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        directory: Path = tmp_path_factory.mktemp("search")
        url = f"sqlite+aiosqlite:///{directory}/shop.db"
        asyncio.run(build_shop(url))
        yield url
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        asyncio.run(build_shop(url))
        yield url
    finally:
        asyncio.run(drop_database(url))


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
        await upgrade_source("catalog", db)
    finally:
        await db.dispose()
