"""A small seeded shop of this folder's own, set up (a profile in zh-CN and en) on SQLite and
on PostgreSQL, behind a live gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.settings import SOURCE_NAMES
from sources.common.db import Database
from sources.orders.records import ShopProfile
from sources.orders.store import OrdersStore
from tests.conftest import (
    LiveGateway,
    _migrate_and_seed,
    require_postgres,
    serve,
    settings_for,
    sqlite_urls,
)
from tests.pg import create_temp_database, drop_database

PROFILE = ShopProfile("Demo Shop", "CNY", ("zh-CN", "en"), None)


async def _set_up(urls: dict[str, str]) -> None:
    await _migrate_and_seed(urls, products=60)
    orders = Database(urls["orders"])
    try:
        await OrdersStore(orders).save_shop_profile(PROFILE, datetime.now(UTC))
    finally:
        await orders.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    if request.param == "sqlite":
        urls = sqlite_urls(Path(tmp_path_factory.mktemp("addresses-shop")))
        asyncio.run(_set_up(urls))
        yield from serve(settings_for(urls))
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        asyncio.run(_set_up(urls))
        yield from serve(settings_for(urls))
    finally:
        asyncio.run(drop_database(url))
