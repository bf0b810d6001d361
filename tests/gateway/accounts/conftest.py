"""A small seeded shop of this folder's own (its tests write), on SQLite and on PostgreSQL,
behind a gateway that trusts the stand-in identity provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveGateway, seeded_shop_urls, serve, settings_for

from .identity_provider import IdentityProvider, identity_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with identity_provider() as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def accounts_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    directory = Path(tmp_path_factory.mktemp("accounts-shop"))
    yield from seeded_shop_urls(request.param, directory, 60)


@pytest.fixture(scope="module")
def live(accounts_shop: dict[str, str], provider: IdentityProvider) -> Iterator[LiveGateway]:
    yield from serve(settings_for(accounts_shop, **provider.settings()))
