"""Persisted queries, the response cache and the invalidation endpoint, over HTTP the way
Apollo clients, CDNs and back-office systems use them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.cache.persisted import add_to_allow_list
from gateway.settings import ConfigurationError
from tests.cache.live import (
    LISTING,
    PRODUCT,
    browsing_calls,
    cache_settings,
    first_product,
    live_gateway,
    sale_of,
    seed_small_shop,
    staff_token,
)
from tests.cache.redis_support import SHARED_URL, require_redis
from tests.conftest import LiveGateway, settings_for

ADMIN_SECRET = "a-test-admin-secret-0123456789"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": query_hash}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return seed_small_shop(tmp_path_factory.mktemp("http-shop"))


@pytest.fixture(params=["redis", "in-process"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "redis":
        require_redis()
        return {"redis_url": SHARED_URL}
    return {}


@pytest.fixture
def gateway(shop: dict[str, str], backend: dict[str, Any]) -> Iterator[LiveGateway]:
    cache = cache_settings(response_cache=True)
    with live_gateway(shop, cache, admin_secret=ADMIN_SECRET, **backend) as live:
        yield live


def test_an_unknown_hash_is_asked_for_then_served_by_hash_alone(gateway: LiveGateway) -> None:
    digest = sha(LISTING)
    first = gateway.client.post("/graphql", json={"extensions": apq(digest)})
    assert first.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = gateway.client.post("/graphql", json={"query": LISTING, "extensions": apq(digest)})
    by_hash = gateway.client.post("/graphql", json={"extensions": apq(digest)})
    by_get = gateway.client.get("/graphql", params={"extensions": json.dumps(apq(digest))})

    assert "errors" not in registered.json()
    assert by_hash.json() == registered.json() == by_get.json()


def test_a_hash_that_does_not_match_its_query_is_refused(gateway: LiveGateway) -> None:
    response = gateway.client.post("/graphql", json={"query": LISTING, "extensions": apq("0" * 64)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


def test_a_repeated_anonymous_query_is_one_cache_lookup_with_an_etag(
    gateway: LiveGateway,
) -> None:
    first = gateway.client.post("/graphql", json={"query": LISTING})
    before = gateway.source_calls()
    second = gateway.client.post("/graphql", json={"query": LISTING})
    after = gateway.source_calls()
    revalidated = gateway.client.post(
        "/graphql", json={"query": LISTING}, headers={"If-None-Match": second.headers["etag"]}
    )

    assert second.json() == first.json()
    assert second.headers["x-cache"] == "HIT"
    assert "max-age=" in second.headers["cache-control"]
    assert after == before
    assert revalidated.status_code == 304 and revalidated.content == b""


def test_staff_and_mutations_are_never_served_from_the_response_cache(
    gateway: LiveGateway,
) -> None:
    gateway.client.post("/graphql", json={"query": LISTING})
    token = staff_token(gateway, "MANAGE_PRODUCTS")
    staff = gateway.client.post(
        "/graphql", json={"query": LISTING}, headers={"Authorization": f"Bearer {token}"}
    )
    assert "x-cache" not in staff.headers and "etag" not in staff.headers


def test_a_price_change_purges_exactly_the_responses_that_showed_it(
    gateway: LiveGateway, shop: dict[str, str]
) -> None:
    products = [e["node"] for e in gateway.query(LISTING)["data"]["products"]["edges"]]
    changed, untouched = products[0], products[1]
    for product in (changed, untouched):
        gateway.query(PRODUCT, {"slug": product["slug"]})
        gateway.query(PRODUCT, {"slug": product["slug"]})  # cached now
    sku = changed["skus"][0]
    new_sale = str(Decimal(sale_of(gateway, changed["slug"], sku["id"])) - Decimal("0.01"))
    _write_price_behind_the_gateways_back(shop, sku["id"], sku["price"]["list"]["amount"], new_sale)

    response = gateway.client.post(
        "/admin/invalidate",
        json={"ids": [sku["id"]]},
        headers={"X-Gateway-Admin-Secret": ADMIN_SECRET},
    )

    assert response.status_code == 200, response.text
    hit = lambda slug: gateway.client.post(  # noqa: E731
        "/graphql", json={"query": PRODUCT, "variables": {"slug": slug}}
    ).headers.get("x-cache")
    assert hit(untouched["slug"]) == "HIT"
    assert hit(changed["slug"]) == "MISS"
    assert sale_of(gateway, changed["slug"], sku["id"]) == new_sale


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Gateway-Admin-Secret": "wrong-secret-0123456789"}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ("staff-without-permission", 403),
    ],
)
def test_invalidation_needs_the_secret_or_a_permitted_staff_token(
    gateway: LiveGateway, headers: Any, status: int
) -> None:
    if headers == "staff-without-permission":
        headers = {"Authorization": f"Bearer {staff_token(gateway, 'MANAGE_STOCK')}"}
    response = gateway.client.post(
        "/admin/invalidate", json={"types": ["Product"]}, headers=headers
    )
    assert response.status_code == status


def test_a_staff_token_with_manage_products_may_invalidate_a_whole_type(
    gateway: LiveGateway,
) -> None:
    gateway.query(LISTING)
    token = staff_token(gateway, "MANAGE_PRODUCTS")
    response = gateway.client.post(
        "/admin/invalidate",
        json={"types": ["Product"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    _, calls = gateway.calls_during(LISTING)

    assert response.status_code == 200
    assert "Product" in response.json()["invalidated"]["types"]
    assert calls.get("catalog.list_products") == 1


def test_allow_list_mode_runs_registered_queries_only(shop: dict[str, str], tmp_path: Path) -> None:
    manifest = tmp_path / "persisted.json"
    add_to_allow_list(manifest, {sha(LISTING): LISTING})
    with live_gateway(
        shop,
        cache_settings(),
        persisted_queries_only=True,
        persisted_queries_file=str(manifest),
    ) as gateway:
        by_hash = gateway.client.post("/graphql", json={"extensions": apq(sha(LISTING))})
        other = gateway.client.post("/graphql", json={"query": "{ categories { id } }"})

    assert "errors" not in by_hash.json()
    assert other.status_code == 400
    assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


def test_allow_list_mode_without_a_list_refuses_to_start(tmp_path: Path) -> None:
    from gateway.app import create_app

    # (With GATEWAY_EXAMPLES on, the example pages' operations would be a list of their own.)
    settings = settings_for(
        {},
        persisted_queries_only=True,
        persisted_queries_file=str(tmp_path / "none.json"),
        examples_setting=False,
    )
    with pytest.raises(ConfigurationError, match="PERSISTED_QUERIES_ONLY"):
        create_app(settings)


def _write_price_behind_the_gateways_back(
    shop: dict[str, str], sku_global_id: str, list_amount: str, sale: str
) -> None:
    import asyncio
    import base64
    from datetime import UTC, datetime

    from sources.common.db import Database
    from sources.pricing.store import PricingStore

    sku_id = int(base64.urlsafe_b64decode(sku_global_id + "==").decode().split(":")[1])

    async def write() -> None:
        db = Database(shop["pricing"])
        try:
            await PricingStore(db).set_price(
                sku_id=sku_id,
                currency="CNY",
                list_amount=Decimal(list_amount),
                sale_amount=Decimal(sale),
                actor="test",
                now=datetime.now(UTC),
            )
        finally:
            await db.dispose()

    asyncio.run(write())


def test_listing_is_free_on_the_second_run_with_the_response_cache_too(
    gateway: LiveGateway,
) -> None:
    gateway.calls_during(LISTING)
    _, calls = gateway.calls_during(LISTING)
    assert browsing_calls(calls) == {}
    assert first_product(gateway)
