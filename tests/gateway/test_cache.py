"""The shared cache as storefronts and operators see it: repeated browsing costs no source
calls, a write through any gateway process shows on the next request in every process, and
Redis can be flushed or killed without a buyer noticing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.cache.live import (
    LISTING,
    PRICE_SET,
    browsing_calls,
    cache_settings,
    first_product,
    live_gateway,
    sale_of,
    seed_small_shop,
    staff_token,
)
from tests.cache.redis_support import SHARED_URL, require_redis
from tests.conftest import LiveGateway


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A shop of this module's own: these tests change prices."""
    return seed_small_shop(tmp_path_factory.mktemp("cache-shop"))


@pytest.fixture(params=["redis", "in-process"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Gateway settings for each cache backend: the behaviour must not depend on it."""
    if request.param == "redis":
        require_redis()
        return {"redis_url": SHARED_URL}
    return {}


@pytest.fixture
def gateway(shop: dict[str, str], backend: dict[str, Any]) -> Iterator[LiveGateway]:
    with live_gateway(shop, cache_settings(), **backend) as live:
        yield live


def test_a_repeated_listing_costs_no_catalog_or_pricing_calls(gateway: LiveGateway) -> None:
    cold, cold_calls = gateway.calls_during(LISTING)
    warm, warm_calls = gateway.calls_during(LISTING)

    assert "errors" not in cold, cold["errors"]
    assert warm == cold
    assert browsing_calls(cold_calls), "the first listing reads the sources"
    assert browsing_calls(warm_calls) == {}


def test_a_price_set_shows_on_the_next_request(gateway: LiveGateway) -> None:
    product = first_product(gateway)
    sku = product["skus"][0]
    before = sale_of(gateway, product["slug"], sku["id"])  # now cached
    new_sale = str(Decimal(before) - Decimal("0.01"))

    result = gateway.query(
        PRICE_SET,
        {"sku": sku["id"], "list": sku["price"]["list"]["amount"], "sale": new_sale},
        token=staff_token(gateway, "MANAGE_PRICES"),
    )

    assert result["data"]["priceSet"]["userErrors"] == []
    assert sale_of(gateway, product["slug"], sku["id"]) == new_sale
    listed = {
        p["slug"]: p
        for p in (e["node"] for e in gateway.query(LISTING)["data"]["products"]["edges"])
    }
    assert listed[product["slug"]]["skus"][0]["price"]["sale"]["amount"] == new_sale


def test_readiness_names_the_cache(gateway: LiveGateway, backend: dict[str, Any]) -> None:
    body = gateway.client.get("/readyz").json()
    assert body["cache"] == ("ok" if backend else "in-process")


def test_two_processes_sharing_redis_see_a_price_set_through_either(
    shop: dict[str, str],
) -> None:
    require_redis()
    cache = cache_settings()
    with (
        live_gateway(shop, cache, redis_url=SHARED_URL) as first,
        live_gateway(shop, cache, redis_url=SHARED_URL) as second,
    ):
        product = first_product(second)
        sku = product["skus"][0]
        before = sale_of(second, product["slug"], sku["id"])
        _, calls = second.calls_during(LISTING)
        assert browsing_calls(calls) == {}, "the second process reads the shared cache"
        new_sale = str(Decimal(before) - Decimal("0.02"))

        result = first.query(
            PRICE_SET,
            {"sku": sku["id"], "list": sku["price"]["list"]["amount"], "sale": new_sale},
            token=staff_token(first, "MANAGE_PRICES"),
        )

        assert result["data"]["priceSet"]["userErrors"] == []
        assert sale_of(second, product["slug"], sku["id"]) == new_sale
