"""Each of the four sources down, every way a source goes down, embedded and remote: the
storefront answers what it can (the listing, a product page, the category tree, a cart, an
order), every error is SOURCE_UNAVAILABLE naming the source and whether a retry may help,
no driver text reaches the client, the checkout refuses and holds nothing, and the next
request after the source is back is whole again, without a restart.

The gateways here have no shared cache: nothing is known from before (the last-known copies
have their own tests, test_last_known.py). The catalog's in-process stale copies do stand
in (it was read while up), so a catalog outage shows the pages already seen, marked stale.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.auth import ViewerKind, issue_token
from tests.gateway.checkout_helpers import global_id
from tests.resilience.outages import (
    DATABASE_FAULTS,
    HTTP_FAULTS,
    RESILIENCE,
    OutageShop,
    outage_shop,
)

pytestmark = [
    pytest.mark.load_sensitive,  # tests/conftest.py: run again if the machine made it miss
    pytest.mark.long(seconds=140),  # tests/ordering.py: started first on a worker
]

SOURCES = ("catalog", "inventory", "pricing", "orders")
JWT_SECRET = "outage-tests-secret-0123456789abcdef"
LISTING = """{ products(first: 4, sort: NEWEST) { totalCount edges { node {
  id slug name priceRange { min { amount } } inStock promotions { name }
  skus { code price { sale { amount } asOf } stock { available inStock } } } } } }"""
PRODUCT = """query P($id: ID!) { product(id: $id) { name
  skus { code price { sale { amount } } stock { available inStock } } } }"""
CATEGORIES = "{ categories { slug parent { slug } } }"
CART = """query C($id: ID!) { cart(id: $id) { id lines { quantity sku { code } }
  cost { total { amount } } validation { ok } } }"""
ORDER = """query O($id: ID!) { order(id: $id) { number status
  lines { productName quantity unitPrice { amount } } } }"""
CART_CREATE = """mutation($input: CartCreateInput!) { cartCreate(input: $input) {
  cart { id cost { total { amount } } } userErrors { code } } }"""
CHECKOUT = """mutation($c: ID!, $k: String!, $t: Decimal!) { checkoutComplete(cartId: $c,
  idempotencyKey: $k, expectedTotal: $t) { order { id } userErrors { code message } } }"""
ADDRESS = {
    "name": "Wang Wei",
    "phone": "13800138000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "1 Renmin Road",
    "postalCode": "200000",
}
# Words of drivers, hosts and databases that must never reach a client.
LEAKS = ("asyncpg", "sqlalchemy", "gw_test_", "gw_outage_", "127.0.0.1", "Traceback", "HTTP 5")


class Storefront:
    """A buyer's screens over one outage shop, with what they showed while all was well."""

    def __init__(self, shop: OutageShop) -> None:
        self.shop = shop
        live = shop.live
        customer = int(shop.scalar("orders", "SELECT id FROM customers ORDER BY id LIMIT 1"))
        self.token = issue_token(live.settings, kind=ViewerKind.CUSTOMER, subject=str(customer))
        self.sku = self._plain_sku()
        self.healthy = {
            "listing": self.ask(LISTING),
            "categories": self.ask(CATEGORIES),
        }
        first = self.healthy["listing"]["data"]["products"]["edges"][0]["node"]
        self.product_id = first["id"]
        self.healthy["product"] = self.ask(PRODUCT, {"id": self.product_id})
        cart = self.new_cart()
        placed = self.checkout(cart, "outage-setup")
        assert placed["data"]["checkoutComplete"]["userErrors"] == [], placed
        self.order_id = placed["data"]["checkoutComplete"]["order"]["id"]
        self.healthy["order"] = self.ask(ORDER, {"id": self.order_id})
        for name, body in self.healthy.items():
            assert "errors" not in body, (name, body)

    def _plain_sku(self) -> int:
        rows = self.shop.sources["catalog"].sql(
            """SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id
               WHERE p.kind = 'PHYSICAL' AND p.fulfillment = 'WAREHOUSE' AND p.is_published
                 AND s.is_active AND s.purchase_limit IS NULL
                 AND p.presale_starts_at IS NULL ORDER BY s.id"""
        )
        stocked = {
            int(r[0])
            for r in self.shop.sources["inventory"].sql(
                "SELECT sku_id FROM stock_items GROUP BY sku_id HAVING SUM(on_hand - reserved) > 50"
            )
        }
        return next(int(r[0]) for r in rows if int(r[0]) in stocked)

    def ask(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.shop.live.query(query, variables, token=self.token)

    def new_cart(self) -> dict[str, Any]:
        body = self.ask(
            CART_CREATE,
            {
                "input": {
                    "lines": [{"skuId": global_id("Sku", self.sku), "quantity": 1}],
                    "shippingAddress": ADDRESS,
                }
            },
        )
        assert "errors" not in body, body
        payload = body["data"]["cartCreate"]
        assert payload["userErrors"] == [], body
        return payload["cart"]  # type: ignore[no-any-return]

    def wait_until_whole(self, seconds: float = 30) -> None:
        """Each case starts from a storefront that answers whole: the previous case's
        breakers have closed and its dead pooled connections have been replaced (on a
        loaded machine that can take longer than the breaker's pause)."""
        deadline = time.monotonic() + seconds
        while self.ask(LISTING) != self.healthy["listing"]:
            assert time.monotonic() < deadline, "the storefront did not come back whole"
            time.sleep(0.2)

    def checkout(self, cart: dict[str, Any], key: str) -> dict[str, Any]:
        total = cart["cost"]["total"]["amount"]
        return self.ask(CHECKOUT, {"c": cart["id"], "k": key, "t": total})

    def reserved(self) -> int:
        return int(
            self.shop.scalar(
                "inventory", f"SELECT SUM(reserved) FROM stock_items WHERE sku_id = {self.sku}"
            )
        )

    def orders(self) -> int:
        return int(self.shop.scalar("orders", "SELECT COUNT(*) FROM orders"))


def coded(body: dict[str, Any], source: str, retryable: bool) -> list[dict[str, Any]]:
    """The response's errors, each checked: coded, naming ``source``, saying whether a
    retry may help, and free of the driver's words."""
    errors: list[dict[str, Any]] = body.get("errors") or []
    for error in errors:
        extensions = error["extensions"]
        assert extensions["code"] == "SOURCE_UNAVAILABLE", error
        assert extensions["source"] == source, error
        assert extensions["retryable"] is retryable, error
        assert "debug" not in extensions  # production
        assert not any(word in error["message"] for word in LEAKS), error
    return errors


def expected_retryable(kind: str) -> bool:
    # Someone must act first; embedded, the gateway sees the driver's reason, remote, the
    # service's 503 says it (``lasting``).
    return kind not in ("missing_database", "missing_table", "auth")


def check_outage(front: Storefront, source: str, kind: str) -> None:
    shop = front.shop
    healthy = front.healthy
    front.wait_until_whole()
    cart = front.new_cart()
    reserved, orders = front.reserved(), front.orders()
    retryable = expected_retryable(kind)
    shop.break_(source, kind)
    try:
        listing = front.ask(LISTING)
        product = front.ask(PRODUCT, {"id": front.product_id})
        categories = front.ask(CATEGORIES)
        cart_view = front.ask(CART, {"id": cart["id"]})
        order_view = front.ask(ORDER, {"id": front.order_id})
        refused = front.checkout(cart, f"outage-{source}-{kind}")
    finally:
        shop.recover()

    # The listing is never blank: what cannot be shown is left out or stands in, coded.
    coded(listing, source, retryable)
    assert listing["data"] is not None and listing["data"]["products"] is not None
    edges = listing["data"]["products"]["edges"]
    if source in ("pricing", "inventory"):
        # Nothing known of any price or stock: every product left out, named.
        assert edges == []
        named = {e["extensions"].get("productId") for e in listing["errors"]}
        assert named == {e["node"]["id"] for e in healthy["listing"]["data"]["products"]["edges"]}
    elif source == "catalog":  # seen while up: its last good answers, marked
        assert listing["data"] == healthy["listing"]["data"]
        assert {"source": "catalog"} in listing["extensions"]["stale"]
    else:
        assert listing == healthy["listing"]

    coded(product, source, retryable)
    if source in ("pricing", "inventory"):  # the spec's null propagation, from the field
        assert product["data"] == {"product": None}
        lost = {"pricing": {"price"}, "inventory": {"stock", "inStock"}}[source]
        assert all(e["path"][-1] in lost for e in product["errors"]), product
    else:
        assert product["data"] == healthy["product"]["data"]

    coded(categories, source, retryable)
    assert categories["data"] == healthy["categories"]["data"]

    coded(cart_view, source, retryable)
    assert cart_view["data"] is not None
    if source != "catalog":  # the catalog's stale copies may price it after all
        assert cart_view["data"]["cart"] is None and cart_view["errors"]

    coded(order_view, source, retryable)
    if source == "orders" and kind != "missing_table":  # (its orders table is still there)
        assert order_view["data"] == {"order": None} and order_view["errors"]
    else:  # an order keeps what was paid: nothing else is needed to show it
        assert order_view == healthy["order"]

    # The checkout refuses, and nothing is left behind.
    assert coded(refused, source, retryable), refused
    assert not (refused["data"] or {}).get("checkoutComplete"), refused
    assert front.orders() == orders
    assert front.reserved() == reserved

    # Back: the next request (once the breaker's pause is over) is whole again.
    time.sleep(RESILIENCE["breaker_reset"] + 0.1)
    assert front.ask(LISTING) == healthy["listing"]
    assert front.ask(PRODUCT, {"id": front.product_id}) == healthy["product"]
    assert front.ask(ORDER, {"id": front.order_id}) == healthy["order"]
    placed = front.checkout(cart, f"outage-{source}-{kind}")
    assert placed["data"]["checkoutComplete"]["userErrors"] == [], placed
    assert front.reserved() == reserved + 1


@pytest.fixture(scope="module")
def embedded() -> Iterator[Storefront]:
    with outage_shop(remote=False, jwt_secret=JWT_SECRET) as shop:
        yield Storefront(shop)


@pytest.fixture(scope="module")
def remote() -> Iterator[Storefront]:
    with outage_shop(remote=True, jwt_secret=JWT_SECRET) as shop:
        yield Storefront(shop)


@pytest.mark.parametrize("kind", DATABASE_FAULTS)
@pytest.mark.parametrize("source", SOURCES)
def test_an_embedded_source_down_costs_only_what_needs_it(
    embedded: Storefront, source: str, kind: str
) -> None:
    check_outage(embedded, source, kind)


@pytest.mark.parametrize("kind", DATABASE_FAULTS + HTTP_FAULTS)
@pytest.mark.parametrize("source", SOURCES)
def test_a_remote_source_down_costs_only_what_needs_it(
    remote: Storefront, source: str, kind: str
) -> None:
    check_outage(remote, source, kind)
