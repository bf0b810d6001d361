"""Bulk back-office mutations over HTTP, as a merchandiser or a stock controller uses them:
partial failure, atomic mode, replay by idempotency key, the request limits, the source
calls of a 1,000-item request, and the cached copies they drop.

Every write lands in shops of this module's own (SQLite, and PostgreSQL for the rules that
depend on the database: locking, constraints, rollback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import SOURCE_NAMES
from tests.conftest import LiveGateway, require_postgres, serve, settings_for, sqlite_urls
from tests.pg import create_temp_database, drop_database

from .permission_cases import Samples, load_samples, uncached_settings
from .support import global_id
from .test_backoffice import OUT_OF_RANGE, Office, _seeded, _Skus, on_hand, set_reserved

PRICES = """
mutation Prices($items: [PriceSetItemInput!]!, $atomic: Boolean! = false, $key: String) {
  priceSetBulk(items: $items, atomic: $atomic, idempotencyKey: $key) {
    results { index skuId applied sku { id } userErrors { code field } }
    replayed
    userErrors { code field message }
  }
}
"""

STOCK = """
mutation Stock($items: [StockAdjustItemInput!]!, $atomic: Boolean! = false, $key: String) {
  stockAdjustBulk(items: $items, atomic: $atomic, idempotencyKey: $key) {
    results { index skuId applied sku { id } userErrors { code field } }
    replayed
    userErrors { code field message }
  }
}
"""

PUBLISH = """
mutation Publish($items: [ProductPublishItemInput!]!, $atomic: Boolean! = false, $key: String) {
  productPublishBulk(items: $items, atomic: $atomic, idempotencyKey: $key) {
    results { index productId applied product { id published } userErrors { code field } }
    replayed
    userErrors { code field message }
  }
}
"""

PRICE_ONLY = "query($id: ID!) { node(id: $id) { ... on Sku { price { sale { amount } } } } }"
PRODUCT_BY_ID = "query($id: ID!) { node(id: $id) { id ... on Product { slug published } } }"
PRODUCT_BY_SLUG = "query($slug: String!) { product(slug: $slug) { id } }"


@pytest.fixture(scope="module")
def sqlite_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    urls = _seeded(sqlite_urls(Path(tmp_path_factory.mktemp("bulk-shop"))))
    for live in serve(settings_for(urls)):
        yield Office(live, urls)


@pytest.fixture(scope="module")
def postgresql_office() -> Iterator[Office]:
    require_postgres()
    url = asyncio.run(create_temp_database())
    urls = dict.fromkeys(SOURCE_NAMES, url)
    try:
        _seeded(urls)
        for live in serve(settings_for(urls, db_pool_size=3)):
            yield Office(live, urls)
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def office_on(request: pytest.FixtureRequest) -> Office:
    return request.getfixturevalue(f"{request.param}_office")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def samples(sqlite_office: Office) -> Samples:
    return load_samples(sqlite_office.urls)


@pytest.fixture(scope="module")
def fresh(samples: Samples) -> _Skus:
    return _Skus(samples)


def _bulk(office: Office, document: str, token: str, **variables: Any) -> dict[str, Any]:
    data = office.ok(document, variables, token)
    return next(iter(data.values()))  # type: ignore[no-any-return]


def _codes(payload: dict[str, Any]) -> list[list[str]]:
    return [[e["code"] for e in r["userErrors"]] for r in payload["results"]]


def _sale(office: Office, sku_id: str) -> Decimal:
    return Decimal(office.sku(sku_id)["price"]["sale"]["amount"])


def _audits(office: Office, sku_id: str, action: str) -> int:
    return sum(1 for e in office.sku(sku_id)["auditLog"] if e["action"] == action)


# ---------------------------------------------------------------------------------------
# priceSetBulk


def test_valid_prices_apply_and_each_refused_item_says_why(office_on: Office, fresh: _Skus) -> None:
    a, b = fresh.take(), fresh.take()
    audits_before = _audits(office_on, a, "price.set"), _audits(office_on, b, "price.set")
    items = [
        {"skuId": a, "list": "120.00", "sale": "99.00"},
        {"skuId": global_id("Sku", OUT_OF_RANGE), "list": "10.00", "sale": "9.00"},
        {"skuId": b, "list": "10.00", "sale": "-1"},
        {"skuId": b, "list": "10.00", "sale": "12.00"},
        {"skuId": "not-an-id", "list": "10.00", "sale": "9.00"},
        {"skuId": b, "list": "50.00", "sale": "40.50"},
    ]
    payload = _bulk(office_on, PRICES, office_on.prices, items=items)
    assert payload["userErrors"] == []
    assert _codes(payload) == [
        [],
        ["SKU_NOT_FOUND"],
        ["INVALID_INPUT"],
        ["INVALID_INPUT"],
        ["SKU_NOT_FOUND"],
        [],
    ]
    assert [r["applied"] for r in payload["results"]] == [True, False, False, False, False, True]
    assert [r["index"] for r in payload["results"]] == list(range(6))
    assert payload["results"][3]["userErrors"][0]["field"] == ["sale"]
    assert payload["results"][1]["sku"] is None and payload["results"][0]["sku"]["id"] == a
    assert _sale(office_on, a) == Decimal("99.00")
    assert _sale(office_on, b) == Decimal("40.50")
    # One audit entry per applied item, none for the refused ones.
    assert _audits(office_on, a, "price.set") == audits_before[0] + 1
    assert _audits(office_on, b, "price.set") == audits_before[1] + 1


def test_atomic_prices_apply_nothing_when_one_item_is_refused(
    office_on: Office, fresh: _Skus
) -> None:
    a, b = fresh.take(), fresh.take()
    before = _sale(office_on, a), _audits(office_on, a, "price.set")
    items = [
        {"skuId": a, "list": "300.00", "sale": "250.00"},
        {"skuId": b, "list": "1.001", "sale": "1.00"},
    ]
    payload = _bulk(office_on, PRICES, office_on.prices, items=items, atomic=True)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["items"])
    ]
    assert _codes(payload) == [[], ["INVALID_INPUT"]]
    assert [r["applied"] for r in payload["results"]] == [False, False]
    assert (_sale(office_on, a), _audits(office_on, a, "price.set")) == before


def test_a_bulk_request_takes_one_to_a_thousand_items(sqlite_office: Office, fresh: _Skus) -> None:
    a = fresh.take()
    item = {"skuId": a, "list": "10.00", "sale": "9.00"}
    for items in ([], [item] * 1001):
        payload = _bulk(sqlite_office, PRICES, sqlite_office.prices, items=items)
        assert payload["results"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("INVALID_INPUT", ["items"])
        ]
    assert _sale(sqlite_office, a) != Decimal("9.00")


# ---------------------------------------------------------------------------------------
# stockAdjustBulk


def test_valid_adjustments_apply_and_the_stock_rules_hold_per_item(
    office_on: Office, fresh: _Skus
) -> None:
    a, held = fresh.take(), fresh.take()
    start_a = on_hand(office_on.sku(a)) or 0
    start_held = on_hand(office_on.sku(held)) or 0
    set_reserved(office_on, held, "SH-01", start_held)  # all of it is held by checkouts
    items = [
        {"skuId": a, "warehouseCode": "SH-01", "delta": 5, "reason": "delivery"},
        {"skuId": held, "warehouseCode": "SH-01", "delta": -1, "reason": "damaged"},
        {"skuId": a, "warehouseCode": "XX-99", "delta": 5, "reason": "delivery"},
        {"skuId": a, "warehouseCode": "SH-01", "delta": 0, "reason": "nothing"},
        {"skuId": a, "warehouseCode": "SH-01", "delta": -2, "reason": "damaged"},
    ]
    payload = _bulk(office_on, STOCK, office_on.stock, items=items)
    assert payload["userErrors"] == []
    assert _codes(payload) == [
        [],
        ["INSUFFICIENT_STOCK"],
        ["WAREHOUSE_NOT_FOUND"],
        ["INVALID_INPUT"],
        [],
    ]
    assert [r["applied"] for r in payload["results"]] == [True, False, False, False, True]
    # Two items on one stock row add up.
    assert on_hand(office_on.sku(a)) == start_a + 3
    assert on_hand(office_on.sku(held)) == start_held
    reasons = [e["reason"] for e in office_on.sku(a)["auditLog"] if e["action"] == "stock.adjust"]
    assert reasons[:2] == ["damaged", "delivery"]


def test_atomic_adjustments_apply_nothing_when_the_source_refuses_one(
    office_on: Office, fresh: _Skus
) -> None:
    a, held = fresh.take(), fresh.take()
    start_a = on_hand(office_on.sku(a)) or 0
    start_held = on_hand(office_on.sku(held)) or 0
    set_reserved(office_on, held, "SH-01", start_held)
    items = [
        {"skuId": a, "warehouseCode": "SH-01", "delta": 7, "reason": "delivery"},
        {"skuId": held, "warehouseCode": "SH-01", "delta": -1, "reason": "damaged"},
    ]
    payload = _bulk(office_on, STOCK, office_on.stock, items=items, atomic=True)
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_INPUT"]
    assert "none was applied" in payload["userErrors"][0]["message"]
    assert _codes(payload) == [[], ["INSUFFICIENT_STOCK"]]
    assert [r["applied"] for r in payload["results"]] == [False, False]
    assert on_hand(office_on.sku(a)) == start_a
    assert _audits(office_on, a, "stock.adjust") == 0


def test_a_retried_bulk_request_applies_once_and_another_under_its_key_is_refused(
    office_on: Office, fresh: _Skus
) -> None:
    a, b = fresh.take(), fresh.take()
    start = on_hand(office_on.sku(a)) or 0, on_hand(office_on.sku(b)) or 0
    items = [
        {"skuId": a, "warehouseCode": "SH-01", "delta": 4, "reason": "delivery 7"},
        {"skuId": b, "warehouseCode": "SH-01", "delta": 6, "reason": "delivery 7"},
    ]
    first = _bulk(office_on, STOCK, office_on.stock, items=items, key="delivery-7")
    again = _bulk(office_on, STOCK, office_on.stock, items=items, key="delivery-7")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert first["results"] == again["results"]
    assert all(r["applied"] for r in again["results"])
    assert (on_hand(office_on.sku(a)), on_hand(office_on.sku(b))) == (start[0] + 4, start[1] + 6)
    assert _audits(office_on, a, "stock.adjust") == 1
    other = _bulk(office_on, STOCK, office_on.stock, items=items[:1], key="delivery-7")
    assert other["results"] is None
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert on_hand(office_on.sku(a)) == start[0] + 4
    # The single write's keys are another namespace: the same string applies there.
    single = office_on.adjust(a, 1, key="delivery-7")
    assert single["userErrors"] == []


def test_a_retried_bulk_price_change_applies_once(sqlite_office: Office, fresh: _Skus) -> None:
    a = fresh.take()
    items = [{"skuId": a, "list": "77.00", "sale": "70.00"}]
    first = _bulk(sqlite_office, PRICES, sqlite_office.prices, items=items, key="k1")
    again = _bulk(sqlite_office, PRICES, sqlite_office.prices, items=items, key="k1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert _audits(sqlite_office, a, "price.set") == 1
    other = dict(items[0], sale="71.00")
    refused = _bulk(sqlite_office, PRICES, sqlite_office.prices, items=[other], key="k1")
    assert [e["code"] for e in refused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert _sale(sqlite_office, a) == Decimal("70.00")


# ---------------------------------------------------------------------------------------
# productPublishBulk


def test_publishing_in_bulk_hides_and_shows_products_on_the_storefront(
    office_on: Office, samples: Samples
) -> None:
    first, second = samples.spare_products[-1], samples.spare_products[-2]
    slug = office_on.product(first)["slug"]
    items = [
        {"productId": first, "published": False},
        {"productId": global_id("Product", OUT_OF_RANGE), "published": False},
        {"productId": second, "published": False},
        {"productId": global_id("Product", 2_000_000_000), "published": False},
    ]
    atomic = _bulk(office_on, PUBLISH, office_on.products, items=items, atomic=True)
    assert [e["code"] for e in atomic["userErrors"]] == ["INVALID_INPUT"]
    assert _codes(atomic) == [[], ["PRODUCT_NOT_FOUND"], [], ["PRODUCT_NOT_FOUND"]]
    assert office_on.product(first)["published"] is True
    payload = _bulk(office_on, PUBLISH, office_on.products, items=items)
    assert _codes(payload) == [[], ["PRODUCT_NOT_FOUND"], [], ["PRODUCT_NOT_FOUND"]]
    assert [r["applied"] for r in payload["results"]] == [True, False, True, False]
    assert payload["results"][0]["product"] == {"id": first, "published": False}
    assert office_on.live.query(PRODUCT_BY_SLUG, {"slug": slug})["data"]["product"] is None
    back = [{"productId": p, "published": True} for p in (first, second)]
    assert _codes(_bulk(office_on, PUBLISH, office_on.products, items=back)) == [[], []]
    shown = office_on.live.query(PRODUCT_BY_SLUG, {"slug": slug})["data"]["product"]
    assert shown == {"id": first}
    audit = office_on.product(first)["auditLog"]
    assert [(e["action"], e["after"]) for e in audit[:2]] == [
        ("product.publish", {"published": True}),
        ("product.publish", {"published": False}),
    ]


# ---------------------------------------------------------------------------------------
# Source calls and the cache


@pytest.fixture(scope="module")
def uncached(sqlite_office: Office) -> Iterator[LiveGateway]:
    yield from serve(uncached_settings(sqlite_office.urls))


def test_a_thousand_item_bulk_costs_one_call_per_source_method(
    sqlite_office: Office, uncached: LiveGateway, samples: Samples
) -> None:
    pool = list(samples.pool_skus)
    prices = [
        {"skuId": pool[i % len(pool)], "list": f"{100 + i % 50}.00", "sale": "99.00"}
        for i in range(1000)
    ]
    payload, calls = uncached.calls_during(PRICES, {"items": prices}, token=sqlite_office.prices)
    assert "errors" not in payload, payload["errors"]
    results = payload["data"]["priceSetBulk"]["results"]
    assert len(results) == 1000 and all(r["applied"] for r in results)
    assert calls == {
        "catalog.skus_by_ids": 1,  # the items' SKUs, checked
        "pricing.set_prices": 1,  # every change, in one transaction
        "catalog.skus_by_product_ids": 1,  # the listing projection of the touched products
        "pricing.prices_by_sku_ids": 1,
        "catalog.update_listings": 1,
        "catalog.products_by_ids": 1,  # the results' SKUs, shown as the viewer may see them
    }
    stock = [
        {"skuId": pool[i % len(pool)], "warehouseCode": "SH-01", "delta": 1, "reason": "count"}
        for i in range(1000)
    ]
    payload, calls = uncached.calls_during(STOCK, {"items": stock}, token=sqlite_office.stock)
    assert "errors" not in payload, payload["errors"]
    assert all(r["applied"] for r in payload["data"]["stockAdjustBulk"]["results"])
    assert calls == {
        "catalog.skus_by_ids": 1,
        "inventory.adjust_stock_many": 1,
        "catalog.skus_by_product_ids": 1,
        "inventory.stock_by_sku_ids": 1,
        "catalog.update_listings": 1,
        "catalog.products_by_ids": 1,
    }
    spare = list(samples.spare_products)
    publish = [{"productId": spare[i % len(spare)], "published": True} for i in range(1000)]
    payload, calls = uncached.calls_during(
        PUBLISH, {"items": publish}, token=sqlite_office.products
    )
    assert "errors" not in payload, payload["errors"]
    assert all(r["applied"] for r in payload["data"]["productPublishBulk"]["results"])
    assert calls == {"catalog.set_published_many": 1}


def test_a_bulk_price_change_drops_the_cached_copies_of_exactly_its_skus(
    sqlite_office: Office, fresh: _Skus
) -> None:
    changed, untouched = fresh.take(), fresh.take()
    live, token = sqlite_office.live, sqlite_office.admin
    for sku in (changed, untouched):  # both now cached
        live.query(PRICE_ONLY, {"id": sku}, token=token)
    items = [{"skuId": changed, "list": "500.00", "sale": "450.00"}]
    assert _codes(_bulk(sqlite_office, PRICES, sqlite_office.prices, items=items)) == [[]]
    shown, calls = live.calls_during(PRICE_ONLY, {"id": changed}, token=token)
    assert shown["data"]["node"]["price"]["sale"]["amount"] == "450.00"
    assert calls.get("pricing.prices_by_sku_ids") == 1
    _, calls = live.calls_during(PRICE_ONLY, {"id": untouched}, token=token)
    assert "pricing.prices_by_sku_ids" not in calls, "an untouched SKU's price was dropped"
