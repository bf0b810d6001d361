"""Back-end faults for real: PostgreSQL sources behind a TCP proxy that goes silent or cuts
every connection, and an orders database whose INSERT kills its own connection. A buyer
sees partial data with coded, retryable errors, never a hang or a 500; a dead source is
not hammered (the breaker answers at once); the catalog's last good answers stand in
while it is down, marked stale; a failed checkout leaves no order and, after the sweeper,
no stock held."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.checkout.sweeper import ATTEMPT_GRACE, sweep
from gateway.settings import Settings
from gateway.sources import Sources
from tests.conftest import LiveGateway, serve, settings_for
from tests.gateway.checkout_helpers import Shop, open_shop, run
from tests.resilience.tcp_fault import FaultyProxy, faulty_proxy

pytestmark = pytest.mark.load_sensitive  # tests/conftest.py: run again if the machine made it miss

RESILIENCE = {
    "read_timeout": 1.5,  # a healthy read on a loaded test machine stays well under it
    "write_timeout": 5.0,
    "breaker_failures": 2,
    "breaker_reset": 1.0,
}
LISTING = """{ products(first: 3, sort: NEWEST) { edges { node {
  slug name skus { code price { sale { amount } } stock { available inStock } } } } } }"""
DETAIL = """query Detail($slug: String!) { product(slug: $slug) {
  slug name kind category { slug } skus { code name } } }"""


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors") or []}


def post(gateway: LiveGateway, query: str, variables: dict[str, Any] | None = None) -> Any:
    started = time.monotonic()
    response = gateway.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


@pytest.fixture(scope="module")
def proxied(postgres_shop: dict[str, str]) -> Iterator[tuple[LiveGateway, dict[str, FaultyProxy]]]:
    """The read-only PostgreSQL shop with catalog and inventory reached through proxies."""
    with (
        faulty_proxy(postgres_shop["catalog"]) as catalog,
        faulty_proxy(postgres_shop["inventory"]) as inventory,
    ):
        urls = {
            **postgres_shop,
            "catalog": catalog.url_for(postgres_shop["catalog"]),
            "inventory": inventory.url_for(postgres_shop["inventory"]),
        }
        settings = settings_for(
            urls,
            cache={"enabled": False},
            resilience=RESILIENCE,
            db_pool_size=2,
            sweep_interval_seconds=0,
        )
        for gateway in serve(settings):
            yield gateway, {"catalog": catalog, "inventory": inventory}


def test_a_hung_inventory_costs_only_what_shows_stock(
    proxied: tuple[LiveGateway, dict[str, FaultyProxy]],
) -> None:
    gateway, proxies = proxied
    healthy, _ = post(gateway, LISTING)
    assert "errors" not in healthy
    proxies["inventory"].go_silent()
    try:
        body, seconds = post(gateway, LISTING)
        assert seconds < 6  # the read timeout (per loader tick), not the driver's minute
        # No stock known (no cache here): each product left out, named, not shown as
        # "none available"; the page itself stands.
        assert body["data"]["products"]["edges"] == []
        assert len(body["errors"]) == len(healthy["data"]["products"]["edges"])
        assert codes(body) == {"SOURCE_UNAVAILABLE"}
        for error in body["errors"]:
            assert error["extensions"]["source"] == "inventory"
            assert error["extensions"]["retryable"] is True
            assert error["path"] == ["products", "edges"]
            assert error["extensions"]["productId"]
        # What needs no stock still answers in full.
        detail, _ = post(
            gateway, DETAIL, {"slug": healthy["data"]["products"]["edges"][0]["node"]["slug"]}
        )
        assert "errors" not in detail and detail["data"]["product"]["skus"]
        # The breaker is open now: no more waiting on the dead source.
        post(gateway, LISTING)
        body, seconds = post(gateway, LISTING)
        assert seconds < RESILIENCE["read_timeout"], seconds
        assert codes(body) == {"SOURCE_UNAVAILABLE"}
    finally:
        proxies["inventory"].recover()
    time.sleep(RESILIENCE["breaker_reset"] + 0.2)
    body, _ = post(gateway, LISTING)
    assert body == healthy  # back, without a restart


def test_a_down_catalog_serves_its_last_good_answer_marked_stale(
    proxied: tuple[LiveGateway, dict[str, FaultyProxy]],
) -> None:
    gateway, proxies = proxied
    listing, _ = post(gateway, LISTING)
    seen, unseen = (e["node"]["slug"] for e in listing["data"]["products"]["edges"][:2])
    fresh, _ = post(gateway, DETAIL, {"slug": seen})
    assert "errors" not in fresh and "extensions" not in fresh
    proxies["catalog"].go_silent()
    try:
        stale, seconds = post(gateway, DETAIL, {"slug": seen})
        assert seconds < 6
        assert "errors" not in stale, stale
        assert stale["data"] == fresh["data"]
        assert stale["extensions"] == {"stale": [{"source": "catalog"}]}
        # Never read while it was up: nothing to stand in, the nullable field is null.
        missing, _ = post(gateway, DETAIL, {"slug": unseen})
        assert missing["data"] == {"product": None}
        assert codes(missing) == {"SOURCE_UNAVAILABLE"}
    finally:
        proxies["catalog"].recover()
    time.sleep(RESILIENCE["breaker_reset"] + 0.2)
    body, _ = post(gateway, DETAIL, {"slug": unseen})
    assert "errors" not in body and "extensions" not in body


def test_cut_connections_are_retried_unseen(
    proxied: tuple[LiveGateway, dict[str, FaultyProxy]],
) -> None:
    gateway, proxies = proxied
    healthy, _ = post(gateway, LISTING)
    for proxy in proxies.values():
        proxy.cut()  # every pooled connection dies, as with pg_terminate_backend
    body, _ = post(gateway, LISTING)
    assert body == healthy


# ---- checkout --------------------------------------------------------------------------

KILL_ON_ORDER_INSERT = """
CREATE FUNCTION die_on_order() RETURNS trigger AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER die_on_order BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION die_on_order();
"""


@pytest.fixture(scope="module")
def pg_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    yield from open_shop("postgresql", tmp_path_factory.mktemp("faults"), resilience=RESILIENCE)


def reserved(shop: Shop, sku_id: int) -> int:
    return int(
        shop.scalar("inventory", f"SELECT SUM(reserved) FROM stock_items WHERE sku_id = {sku_id}")
    )


def sweep_after_grace(settings: Settings) -> None:
    async def go() -> None:
        sources = Sources.from_settings(settings)
        try:
            await sweep(sources, datetime.now(UTC) + ATTEMPT_GRACE + timedelta(minutes=20))
        finally:
            await sources.close()

    run(go)


def test_an_orders_database_lost_mid_checkout_leaves_nothing_behind(pg_shop: Shop) -> None:
    sku = next(s for s in pg_shop.plain_skus() if s.available >= 5)
    token = pg_shop.customer_token(3)
    cart = pg_shop.create_cart([(sku.id, 2)], token=token)["cart"]
    before = reserved(pg_shop, sku.id)
    orders_before = pg_shop.scalar("orders", "SELECT COUNT(*) FROM orders")
    for statement in KILL_ON_ORDER_INSERT.strip().split(";\n"):
        pg_shop.sql("orders", statement)
    try:
        body = pg_shop.live.query(
            """mutation($c: ID!, $t: Decimal!) { checkoutComplete(cartId: $c,
               idempotencyKey: "fault-1", expectedTotal: $t) {
               order { id } userErrors { code } } }""",
            {"c": cart["id"], "t": cart["cost"]["total"]["amount"]},
            token=token,
        )
    finally:
        pg_shop.sql("orders", "DROP TRIGGER die_on_order ON orders")
    assert codes(body) == {"SOURCE_UNAVAILABLE"}, body
    assert body["errors"][0]["extensions"]["retryable"] is True
    assert pg_shop.scalar("orders", "SELECT COUNT(*) FROM orders") == orders_before
    # The attempt may have reached the orders database: its hold stays until the sweeper
    # knows no order came of it, then goes back.
    sweep_after_grace(pg_shop.settings)
    assert reserved(pg_shop, sku.id) == before
    # The buyer retries with the same key, and it works.
    placed = pg_shop.checkout(cart, "fault-1", token=token)
    assert placed["userErrors"] == [] and placed["order"] is not None
    assert reserved(pg_shop, sku.id) == before + 2
