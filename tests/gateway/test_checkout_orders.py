"""Placing orders over real HTTP: what the buyer gets (an order awaiting payment whose lines
keep the name, price and discounts they were bought at), what the shop holds for it (stock
reserved in the warehouses, the supplier's feed or a bundle's parts), who may see it, and
cancelling it before payment, which gives the stock and the coupon back exactly once. Also
pins the source calls of a checkout, so a change that adds one shows up in review."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.conftest import LiveGateway, serve, settings_for
from tests.gateway.checkout_helpers import (
    CART_CREATE,
    CART_QUERY,
    CHECKOUT,
    ORDER_CANCEL,
    ORDER_QUERY,
    STOCK_QUERY,
    VIEWER_ORDERS,
    Goods,
    Shop,
    address,
    codes,
    global_id,
    money,
    open_shop,
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    yield from open_shop("sqlite", tmp_path_factory.mktemp("checkout-orders-shop"))


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus(), set_aside=3)


def _order_ref(shop: Shop, number: str) -> str:
    ref = shop.scalar("orders", "SELECT order_ref FROM orders WHERE number = :n", {"n": number})
    assert ref, f"no order {number} in the orders table"
    return str(ref)


def _reservation_status(shop: Shop, order_ref: str) -> str | None:
    return shop.scalar(  # type: ignore[no-any-return]
        "inventory", "SELECT status FROM reservations WHERE order_ref = :r", {"r": order_ref}
    )


def _active_coupon_uses(shop: Shop, order_ref: str) -> int:
    return int(
        shop.scalar(
            "pricing",
            "SELECT COUNT(*) FROM coupon_usages WHERE order_ref = :r AND released_at IS NULL",
            {"r": order_ref},
        )
    )


def test_an_order_awaits_payment_with_its_lines_priced_as_bought(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(1)
    first, second = goods.take(dearer_than=Decimal(300)), goods.take()
    created = shop.create_cart([(first.id, 2), (second.id, 1)], token=token, coupons=["SAVE50"])
    assert created["userErrors"] == []
    cart = created["cart"]
    assert money(cart["cost"]["discountTotal"]) > 0

    placed = shop.checkout(cart, "snapshot", token=token)
    assert placed["userErrors"] == []
    order = placed["order"]
    assert order["status"] == "PENDING_PAYMENT"
    assert re.fullmatch(r"SO-\d{8}-\d{6}", order["number"]), order["number"]
    assert order["customer"]["email"] == "customer1@example.com"
    assert order["shippingAddress"]["region"] == "CN-SH"
    assert order["cost"] == {
        k: {"amount": v["amount"]} for k, v in cart["cost"].items() if k in order["cost"]
    }

    lines = {line["sku"]["id"]: line for line in order["lines"]}
    assert set(lines) == {first.gid, second.gid}
    for sku, quantity in ((first, 2), (second, 1)):
        line = lines[sku.gid]
        assert line["productName"] == sku.product_name
        assert line["quantity"] == quantity
        assert money(line["unitPrice"]) == sku.sale
        discount = sum((money(d["amount"]) for d in line["discounts"]), Decimal(0))
        assert money(line["total"]) == money(line["unitPrice"]) * quantity - discount
    allocated = [money(d["amount"]) for line in order["lines"] for d in line["discounts"]]
    assert sum(allocated, Decimal(0)) == money(order["cost"]["discountTotal"]), (
        "line discounts add up to the order's discount, to the cent"
    )
    assert all(a == a.quantize(Decimal("0.01")) for a in allocated)

    # The payload's lines come from the order's write, not read back: the same as stored.
    stored = shop.query(ORDER_QUERY, {"id": order["id"]}, token=token)["order"]
    assert stored == order

    # The catalog moves on; the order keeps what was bought.
    shop.sql(
        "catalog", "UPDATE products SET name = 'Renamed' WHERE id = :p", {"p": first.product_id}
    )
    shop.sql(
        "pricing",
        "UPDATE prices SET sale_amount = sale_amount + 1, list_amount = list_amount + 1 "
        "WHERE sku_id = :s",
        {"s": first.id},
    )
    again = shop.query(ORDER_QUERY, {"id": order["id"]}, token=token)["order"]
    line = next(line for line in again["lines"] if line["sku"]["id"] == first.gid)
    assert line["productName"] == first.product_name
    assert money(line["unitPrice"]) == first.sale
    assert again["cost"] == order["cost"]


def test_a_checkout_reserves_the_stock_it_sold(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(2)
    sku = goods.take()
    before = shop.staff_stock(sku.id)
    shop.buy([(sku.id, 3)], token=token, key="reserve-three")
    after = shop.staff_stock(sku.id)
    assert after["onHand"] == before["onHand"]
    assert after["reserved"] == before["reserved"] + 3
    assert after["available"] == before["available"] - 3
    assert shop.available(sku.id) == before["available"] - 3


def test_one_parcel_when_a_warehouse_can_serve_it_else_split_by_priority(
    shop: Shop, goods: Goods
) -> None:
    token = shop.customer_token(2)
    sku = next(
        s
        for s in shop.plain_skus()
        if len(shop.stock_rows(s.id)) >= 2 and s.id not in {t.id for t in goods.taken}
    )
    goods.taken.append(sku)
    shop.set_available(sku.id, 3, 4)
    shop.buy([(sku.id, 4)], token=token, key="one-parcel")  # the second warehouse has 4
    assert [on_hand - reserved for _, on_hand, reserved in shop.stock_rows(sku.id)][:2] == [3, 0]
    shop.set_available(sku.id, 3, 4)
    shop.buy([(sku.id, 5)], token=token, key="two-parcels")  # nobody has 5: 3 + 2
    assert [on_hand - reserved for _, on_hand, reserved in shop.stock_rows(sku.id)][:2] == [0, 2]


def test_a_drop_ship_order_takes_from_the_suppliers_feed(shop: Shop) -> None:
    token = shop.customer_token(3)
    sku = next(
        s
        for s in shop.skus()
        if s.fulfillment == "DROPSHIP"
        and s.is_published
        and s.is_active
        and s.sale is not None
        and s.supplier_available >= 10
        and s.purchase_limit is None
    )
    shop.buy([(sku.id, 2)], token=token, key="dropship")
    feed = shop.scalar(
        "inventory", "SELECT SUM(available) FROM supplier_stock WHERE sku_id = :s", {"s": sku.id}
    )
    assert int(feed) == sku.supplier_available - 2


def test_a_bundle_order_reserves_its_parts(shop: Shop) -> None:
    token = shop.customer_token(3)
    skus = {s.id: s for s in shop.skus()}
    parts = shop.bundle_parts()
    bundle = next(
        s
        for s in skus.values()
        if s.kind == "BUNDLE"
        and s.is_published
        and s.product_id in parts
        and all(skus[p].available >= 5 for p, _ in parts[s.product_id])
    )
    before = {p: shop.available(p) for p, _ in parts[bundle.product_id]}
    order = shop.buy([(bundle.id, 2)], token=token, key="bundle")
    assert [line["productName"] for line in order["lines"]] == [bundle.product_name]
    for part, quantity in parts[bundle.product_id]:
        assert shop.available(part) == before[part] - 2 * quantity


def test_my_orders_are_newest_first(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(4)
    sku = goods.common()
    numbers = [shop.buy([(sku.id, 1)], token=token, key=f"mine-{n}")["number"] for n in range(3)]
    viewer = shop.query(VIEWER_ORDERS, {"first": 10}, token=token)["viewer"]
    assert viewer["email"] == "customer4@example.com"
    assert viewer["orders"]["totalCount"] == 3
    assert [e["node"]["number"] for e in viewer["orders"]["edges"]] == numbers[::-1]


def test_an_order_is_seen_by_its_owner_and_order_staff_only(shop: Shop, goods: Goods) -> None:
    order = shop.buy([(goods.common().id, 1)], token=shop.customer_token(5), key="who-sees")
    seen = {
        "owner": shop.customer_token(5),
        "other customer": shop.customer_token(6),
        "anonymous": None,
        "stock staff": shop.staff_token("MANAGE_STOCK"),
        "order staff": shop.staff_token("MANAGE_ORDERS"),
    }
    found = {
        who: shop.query(ORDER_QUERY, {"id": order["id"]}, token=token)["order"]
        for who, token in seen.items()
    }
    assert found["owner"]["number"] == order["number"]
    assert found["order staff"]["number"] == order["number"]
    assert found["order staff"]["customer"]["email"] == "customer5@example.com"
    assert found["other customer"] is None
    assert found["anonymous"] is None
    assert found["stock staff"] is None


def test_an_anonymous_cart_belongs_to_the_customer_who_completes_it(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.common()
    created = shop.create_cart([(sku.id, 1)])  # browsing signed out
    cart = created["cart"]
    token = shop.customer_token(7)
    placed = shop.checkout(cart, "signed-in-at-checkout", token=token)
    assert placed["userErrors"] == []
    assert placed["order"]["customer"]["email"] == "customer7@example.com"

    assert shop.query(CART_QUERY, {"id": cart["id"]})["cart"] is None, "no longer anonymous"
    assert shop.query(CART_QUERY, {"id": cart["id"]}, token=shop.customer_token(8))["cart"] is None
    assert shop.query(CART_QUERY, {"id": cart["id"]}, token=token)["cart"]["id"] == cart["id"]
    mine = shop.query(VIEWER_ORDERS, {"first": 5}, token=token)["viewer"]["orders"]["edges"]
    assert placed["order"]["number"] in [e["node"]["number"] for e in mine]


def test_cancelling_before_payment_gives_stock_and_coupon_back_exactly_once(
    shop: Shop, goods: Goods
) -> None:
    token = shop.customer_token(9)
    sku = goods.take()
    available = shop.available(sku.id)
    order = shop.buy([(sku.id, 2)], token=token, key="cancel-me", coupons=["WELCOME10"])
    ref = _order_ref(shop, order["number"])
    assert shop.available(sku.id) == available - 2
    assert _active_coupon_uses(shop, ref) == 1
    assert _reservation_status(shop, ref) == "CONFIRMED"
    used_again = shop.create_cart([(sku.id, 1)], token=token, coupons=["WELCOME10"])["cart"]
    assert codes(used_again["validation"]["errors"]) == ["COUPON_USAGE_LIMIT_REACHED"]

    cancelled = shop.query(
        ORDER_CANCEL, {"id": order["id"], "reason": "found it cheaper"}, token=token
    )
    assert cancelled["orderCancel"]["userErrors"] == []
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    assert shop.available(sku.id) == available
    assert _active_coupon_uses(shop, ref) == 0
    assert _reservation_status(shop, ref) == "RELEASED"
    assert shop.query(CART_QUERY, {"id": used_again["id"]}, token=token)["cart"]["validation"]["ok"]

    again = shop.query(ORDER_CANCEL, {"id": order["id"], "reason": "again"}, token=token)[
        "orderCancel"
    ]
    assert codes(again["userErrors"]) == ["INVALID_STATUS_TRANSITION"]
    assert shop.available(sku.id) == available, "the stock came back once"
    assert (
        shop.query(ORDER_QUERY, {"id": order["id"]}, token=token)["order"]["status"] == "CANCELLED"
    )


def test_order_staff_may_cancel_a_customers_order(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    available = shop.available(sku.id)
    order = shop.buy([(sku.id, 1)], token=shop.customer_token(10), key="staff-cancels")
    cancelled = shop.query(
        ORDER_CANCEL,
        {"id": order["id"], "reason": "customer called"},
        token=shop.staff_token("MANAGE_ORDERS"),
    )["orderCancel"]
    assert cancelled["userErrors"] == []
    assert cancelled["order"]["status"] == "CANCELLED"
    assert shop.available(sku.id) == available


# -- source calls --------------------------------------------------------------------------

# What a storefront asks for on the cart screen and on "place order".
PIN_CART_CREATE = CART_CREATE
PIN_CHECKOUT = CHECKOUT

# One call per source: the cart's evaluation reads each source once (its snapshot: one
# combined read per source since issue 15), whatever the number of lines; the rest are the
# writes and the fields the screen shows.
CART_CREATE_CALLS = {
    # the lines asked for with everything the snapshot needs of the catalog (products,
    # categories for the demo's category promotion); the snapshot reuses it, the lines'
    # ``sku`` field too
    "catalog.cart_catalog": 1,
    "inventory.cart_stock": 1,  # the cart's holds (none here), then its stock
    # the cart with its lines and address, and the customer and the address's region read
    # in the same call (the snapshot's orders read: no purchase limit here)
    "orders.create_cart_with_buyer": 1,
    "pricing.pricing_for_checkout": 1,  # prices and live promotions (no coupon: no usage)
}
CHECKOUT_CALLS = {
    # the cart, the idempotency claim, the customer and the region: one call
    "orders.checkout_start": 1,
    # the snapshot (source of truth, never the cache): one call per other source
    "catalog.cart_catalog": 1,
    "inventory.cart_stock": 1,
    "pricing.pricing_for_checkout": 1,
    # the saga: with no coupon to record, the reservation is CONFIRMED as it is made
    "inventory.reserve": 1,
    "orders.create_order_with_lines": 1,
}
# The order's fields the confirmation screen shows: its lines come back from the order's
# write, its SKUs and its customer are the ones the saga just read.
ORDER_FIELD_CALLS: dict[str, int] = {}


def test_a_checkout_makes_a_fixed_number_of_source_calls(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(11)
    skus = goods.set_aside
    # No shared cache: every request pays its own calls, whatever ran before.
    for live in serve(settings_for(shop.urls, cache={"enabled": False}, sweep_interval_seconds=0)):
        created, create_calls = live.calls_during(
            PIN_CART_CREATE,
            {
                "input": {
                    "lines": [{"skuId": s.gid, "quantity": 1} for s in skus],
                    "shippingAddress": address("CN-SH"),
                }
            },
            token=token,
        )
        assert "errors" not in created, created["errors"]
        cart = created["data"]["cartCreate"]["cart"]
        assert cart["validation"]["ok"], cart["validation"]
        placed, checkout_calls = live.calls_during(
            PIN_CHECKOUT,
            {"cartId": cart["id"], "key": "pinned", "total": cart["cost"]["total"]["amount"]},
            token=token,
        )
        assert "errors" not in placed, placed["errors"]
        assert placed["data"]["checkoutComplete"]["userErrors"] == []
    assert create_calls == CART_CREATE_CALLS
    expected = dict(CHECKOUT_CALLS)
    for call, n in ORDER_FIELD_CALLS.items():
        expected[call] = expected.get(call, 0) + n
    assert checkout_calls == expected


def test_ids_of_other_types_are_not_orders(shop: Shop) -> None:
    token = shop.customer_token(1)
    assert shop.query(ORDER_QUERY, {"id": global_id("Cart", 1)}, token=token)["order"] is None


def _shown(live: LiveGateway, sku_gid: str) -> int:
    """The stock a buyer sees on the product page."""
    result = live.query(STOCK_QUERY, {"ids": [sku_gid]})
    return int(result["data"]["nodes"][0]["stock"]["available"])


def test_the_stock_buyers_see_comes_back_when_an_order_is_cancelled(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    token = shop.customer_token(12)
    # A server whose display stock stays cached long enough to tell "dropped" from "expired".
    long_cache = {"stock_ttl": 300, "local_ttl": 300}
    settings = settings_for(shop.urls, cache=long_cache, sweep_interval_seconds=0)
    for live in serve(settings):
        before = _shown(live, sku.gid)
        created = live.query(
            CART_CREATE,
            {"input": {"lines": [{"skuId": sku.gid, "quantity": 2}], "shippingAddress": address()}},
            token=token,
        )["data"]["cartCreate"]["cart"]
        placed = live.query(
            CHECKOUT,
            {
                "cartId": created["id"],
                "key": "shown-stock",
                "total": created["cost"]["total"]["amount"],
            },
            token=token,
        )["data"]["checkoutComplete"]
        assert _shown(live, sku.gid) == before - 2  # a reservation drops the cached figure
        cancelled = live.query(
            ORDER_CANCEL, {"id": placed["order"]["id"], "reason": "changed my mind"}, token=token
        )["data"]["orderCancel"]
        assert cancelled["userErrors"] == []
        assert shop.available(sku.id) == before
        assert _shown(live, sku.gid) == before
