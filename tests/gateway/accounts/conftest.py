"""A small seeded shop of this folder's own (its tests write), behind a gateway that
trusts the stand-in identity provider."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveGateway, _migrate_and_seed, serve, settings_for, sqlite_urls

from .identity_provider import IdentityProvider, identity_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with identity_provider() as running:
        yield running


@pytest.fixture(scope="module")
def accounts_shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    urls = sqlite_urls(Path(tmp_path_factory.mktemp("accounts-shop")))
    asyncio.run(_migrate_and_seed(urls, products=60))
    return urls


@pytest.fixture(scope="module")
def live(accounts_shop: dict[str, str], provider: IdentityProvider) -> Iterator[LiveGateway]:
    yield from serve(settings_for(accounts_shop, **provider.settings()))
