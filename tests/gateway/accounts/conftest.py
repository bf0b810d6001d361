"""A small seeded shop of this folder's own (its tests write), on SQLite and on PostgreSQL,
behind a gateway that trusts the stand-in identity provider."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.settings import SOURCE_NAMES
from tests.conftest import (
    LiveGateway,
    _migrate_and_seed,
    require_postgres,
    serve,
    settings_for,
    sqlite_urls,
)
from tests.pg import create_temp_database, drop_database

from .identity_provider import IdentityProvider, identity_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with identity_provider() as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def accounts_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        urls = sqlite_urls(Path(tmp_path_factory.mktemp("accounts-shop")))
        asyncio.run(_migrate_and_seed(urls, products=60))
        yield urls
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        asyncio.run(_migrate_and_seed(urls, products=60))
        yield urls
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(scope="module")
def live(accounts_shop: dict[str, str], provider: IdentityProvider) -> Iterator[LiveGateway]:
    yield from serve(settings_for(accounts_shop, **provider.settings()))
