"""Every userError code of the checkout, each from the request a real storefront sends,
and validation that reports every problem of a cart at once (in ``cart.validation`` and
again in ``checkoutComplete``). States a buyer cannot make (a SKU retired, stock gone, a
coupon used up) are set by SQL on the shop's own databases, as the back office would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import (
    CART_LINES_ADD,
    CART_QUERY,
    ORDER_CANCEL,
    Goods,
    Shop,
    SkuFacts,
    codes,
    global_id,
    money,
    open_shop,
    sku_gid,
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    # Promotion names as written (the demo's base text, English).
    yield from open_shop(
        "sqlite", tmp_path_factory.mktemp("checkout-errors-shop"), languages={"default": "en"}
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _cart(shop: Shop, lines: list[tuple[int, int]], token: str | None, **kw: Any) -> dict[str, Any]:
    created = shop.create_cart(lines, token=token, **kw)
    assert created["cart"] is not None, created
    return created["cart"]  # type: ignore[no-any-return]


def _fresh(shop: Shop, cart: dict[str, Any], token: str | None) -> dict[str, Any]:
    """The cart as the storefront reloads it before the buyer pays."""
    return shop.query(CART_QUERY, {"id": cart["id"]}, token=token)["cart"]  # type: ignore[no-any-return]


def _errors(errors: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((e["code"], e["lineId"]) for e in errors)


def _refused(
    shop: Shop, cart: dict[str, Any], token: str, key: str, **kw: Any
) -> list[dict[str, Any]]:
    placed = shop.checkout(cart, key, token=token, **kw)
    assert placed["order"] is None, placed
    return placed["userErrors"]  # type: ignore[no-any-return]


def _line_of(cart: dict[str, Any], sku: SkuFacts) -> str:
    return next(line["id"] for line in cart["lines"] if line["sku"]["id"] == sku.gid)


# -- carts ---------------------------------------------------------------------------------


def test_cart_not_found(shop: Shop) -> None:
    placed = shop.query(
        """mutation Place($cart: ID!) {
             checkoutComplete(cartId: $cart, idempotencyKey: "k", expectedTotal: "1.00") {
               order { id } userErrors { code field }
             }
           }""",
        {"cart": global_id("Cart", "nope")},
        token=shop.customer_token(1),
    )["checkoutComplete"]
    assert placed == {
        "order": None,
        "userErrors": [{"code": "CART_NOT_FOUND", "field": ["cartId"]}],
    }


def test_cart_empty(shop: Shop) -> None:
    token = shop.customer_token(1)
    cart = _cart(shop, [], token)
    assert cart["lines"] == []
    assert codes(cart["validation"]["errors"]) == ["CART_EMPTY"]
    assert codes(_refused(shop, cart, token, "empty")) == ["CART_EMPTY"]


def test_cart_completed(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(1)
    sku = goods.take()
    cart = _cart(shop, [(sku.id, 1)], token)
    assert shop.checkout(cart, "first", token=token)["order"]
    added = shop.query(
        CART_LINES_ADD,
        {"cartId": cart["id"], "lines": [{"skuId": sku.gid, "quantity": 1}]},
        token=token,
    )["cartLinesAdd"]
    assert codes(added["userErrors"]) == ["CART_COMPLETED"]
    assert codes(_refused(shop, cart, token, "second")) == ["CART_COMPLETED"]


# -- lines ---------------------------------------------------------------------------------


def test_sku_not_found(shop: Shop) -> None:
    created = shop.create_cart([(sku_gid(10_000_000), 1)], token=shop.customer_token(2))
    assert created["cart"]["lines"] == []
    assert [(e["code"], e["field"]) for e in created["userErrors"]] == [
        ("SKU_NOT_FOUND", ["lines", "0", "skuId"])
    ]


def test_product_unavailable_when_unpublished_after_it_was_added(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(2)
    unpublished = next(s for s in shop.skus() if not s.is_published and s.is_active)
    created = shop.create_cart([(unpublished.id, 1)], token=token)
    assert [(e["code"], e["field"]) for e in created["userErrors"]] == [
        ("PRODUCT_UNAVAILABLE", ["lines", "0", "skuId"])
    ]

    sku = goods.take()
    cart = _cart(shop, [(sku.id, 1)], token)
    shop.sql(
        "catalog",
        "UPDATE products SET is_published = :f WHERE id = :p",
        {"f": False, "p": sku.product_id},
    )
    line = _line_of(cart, sku)
    assert _errors(_fresh(shop, cart, token)["validation"]["errors"]) == [
        ("PRODUCT_UNAVAILABLE", line)
    ]
    assert _errors(_refused(shop, cart, token, "unpublished")) == [("PRODUCT_UNAVAILABLE", line)]


def test_sku_inactive_when_retired_after_it_was_added(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(2)
    retired = next(s for s in shop.skus() if not s.is_active and s.is_published)
    created = shop.create_cart([(retired.id, 1)], token=token)
    assert codes(created["userErrors"]) == ["SKU_INACTIVE"]

    sku = goods.take()
    cart = _cart(shop, [(sku.id, 1)], token)
    shop.sql("catalog", "UPDATE skus SET is_active = :f WHERE id = :s", {"f": False, "s": sku.id})
    line = _line_of(cart, sku)
    assert _errors(_fresh(shop, cart, token)["validation"]["errors"]) == [("SKU_INACTIVE", line)]
    assert _errors(_refused(shop, cart, token, "retired")) == [("SKU_INACTIVE", line)]


@pytest.mark.parametrize("quantity", [0, -2, 1000])
def test_invalid_quantity(shop: Shop, goods: Goods, quantity: int) -> None:
    created = shop.create_cart([(goods.common().id, quantity)], token=shop.customer_token(2))
    assert [(e["code"], e["field"]) for e in created["userErrors"]] == [
        ("INVALID_QUANTITY", ["lines", "0", "quantity"])
    ]
    assert created["cart"]["lines"] == []


def test_purchase_limit_counts_the_customers_earlier_orders(shop: Shop) -> None:
    limited = next(
        s
        for s in shop.skus()
        if s.purchase_limit
        and s.purchase_limit <= 5
        and not s.is_presale
        and s.is_published
        and s.is_active
        and s.kind == "PHYSICAL"
        and s.fulfillment == "WAREHOUSE"
        and s.available >= s.purchase_limit + 1
    )
    limit = limited.purchase_limit
    assert limit is not None
    token = shop.customer_token(3)

    too_many = _cart(shop, [(limited.id, limit + 1)], token)
    assert _errors(too_many["validation"]["errors"]) == [
        ("PURCHASE_LIMIT_EXCEEDED", _line_of(too_many, limited))
    ]

    order = shop.buy([(limited.id, limit)], token=token, key="up-to-the-limit")
    one_more = _cart(shop, [(limited.id, 1)], token)
    problems = one_more["validation"]["errors"]
    assert _errors(problems) == [("PURCHASE_LIMIT_EXCEEDED", _line_of(one_more, limited))]
    assert "0 left" in problems[0]["message"]
    assert codes(_refused(shop, one_more, token, "over-the-limit")) == ["PURCHASE_LIMIT_EXCEEDED"]
    # Another customer has their own allowance.
    assert _cart(shop, [(limited.id, 1)], shop.customer_token(4))["validation"]["ok"]
    # A cancelled order no longer counts.
    cancelled = shop.query(
        ORDER_CANCEL, {"id": order["id"], "reason": "changed my mind"}, token=token
    )
    assert cancelled["orderCancel"]["userErrors"] == []
    assert _fresh(shop, one_more, token)["validation"] == {"ok": True, "errors": []}


def test_insufficient_warehouse_stock(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(4)
    sku = goods.take()
    cart = _cart(shop, [(sku.id, 3)], token)
    shop.set_available(sku.id, 2)
    line = _line_of(cart, sku)
    fresh = _fresh(shop, cart, token)
    assert _errors(fresh["validation"]["errors"]) == [("INSUFFICIENT_STOCK", line)]
    assert "only 2 left" in fresh["validation"]["errors"][0]["message"]
    assert _errors(_refused(shop, cart, token, "short")) == [("INSUFFICIENT_STOCK", line)]


def test_insufficient_drop_ship_stock_in_the_suppliers_feed(shop: Shop) -> None:
    token = shop.customer_token(4)
    dropship = next(
        s
        for s in shop.skus()
        if s.fulfillment == "DROPSHIP"
        and s.is_published
        and s.is_active
        and s.sale is not None
        and s.supplier_available >= 5
        and s.purchase_limit is None
    )
    cart = _cart(shop, [(dropship.id, 2)], token)
    assert cart["validation"]["ok"], cart["validation"]
    shop.sql(
        "inventory",
        "UPDATE supplier_stock SET available = 1 WHERE sku_id = :s",
        {"s": dropship.id},
    )
    line = _line_of(cart, dropship)
    assert _errors(_fresh(shop, cart, token)["validation"]["errors"]) == [
        ("INSUFFICIENT_STOCK", line)
    ]
    assert _errors(_refused(shop, cart, token, "feed-short")) == [("INSUFFICIENT_STOCK", line)]


def _presale(shop: Shop, state: str) -> SkuFacts:
    now = datetime.now(UTC)
    for sku in shop.skus():
        if not (sku.is_presale and sku.is_published and sku.is_active and sku.available > 0):
            continue
        assert sku.presale_starts_at is not None and sku.presale_ends_at is not None
        if state == "upcoming" and sku.presale_starts_at > now:
            return sku
        if state == "ended" and sku.presale_ends_at < now:
            return sku
        if state == "open" and sku.presale_starts_at < now < sku.presale_ends_at:
            return sku
    raise AssertionError(f"the demo shop has no {state} presale")


@pytest.mark.parametrize(
    ("state", "code"), [("upcoming", "PRESALE_NOT_STARTED"), ("ended", "PRESALE_ENDED")]
)
def test_presale_window(shop: Shop, state: str, code: str) -> None:
    token = shop.customer_token(5)
    sku = _presale(shop, state)
    cart = _cart(shop, [(sku.id, 1)], token)
    line = _line_of(cart, sku)
    assert _errors(cart["validation"]["errors"]) == [(code, line)]
    assert _errors(_refused(shop, cart, token, f"presale-{state}")) == [(code, line)]


def test_an_open_presale_asks_for_the_deposit(shop: Shop) -> None:
    sku = _presale(shop, "open")
    cart = _cart(shop, [(sku.id, 1)], shop.customer_token(5))
    assert cart["validation"]["ok"], cart["validation"]
    assert cart["cost"]["depositDue"] is not None
    assert Decimal(0) < money(cart["cost"]["depositDue"]) < money(cart["cost"]["total"])


def test_bundle_incomplete_when_a_part_runs_out(shop: Shop) -> None:
    token = shop.customer_token(5)
    skus = {s.id: s for s in shop.skus()}
    bundles = shop.bundle_parts()
    bundle = next(
        s
        for s in skus.values()
        if s.kind == "BUNDLE" and s.is_published and s.product_id in bundles
    )
    cart = _cart(shop, [(bundle.id, 1)], token)
    assert cart["validation"]["ok"], cart["validation"]
    physical = next(
        sku_id for sku_id, _ in bundles[bundle.product_id] if skus[sku_id].kind == "PHYSICAL"
    )
    shop.set_available(physical, 0)
    line = _line_of(cart, bundle)
    fresh = _fresh(shop, cart, token)
    assert _errors(fresh["validation"]["errors"]) == [("BUNDLE_INCOMPLETE", line)]
    assert _errors(_refused(shop, cart, token, "bundle")) == [("BUNDLE_INCOMPLETE", line)]


# -- delivery ------------------------------------------------------------------------------


def test_shipping_address_required(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(6)
    cart = _cart(shop, [(goods.common().id, 1)], token, ship_to=None)
    assert codes(cart["validation"]["errors"]) == ["SHIPPING_ADDRESS_REQUIRED"]
    errors = _refused(shop, cart, token, "no-address")
    assert [(e["code"], e["field"]) for e in errors] == [
        ("SHIPPING_ADDRESS_REQUIRED", ["shippingAddress"])
    ]


@pytest.mark.parametrize("region", ["CN-XZ", "CN-XJ", "CN-QH"])
def test_region_not_deliverable(shop: Shop, goods: Goods, region: str) -> None:
    token = shop.customer_token(6)
    cart = _cart(shop, [(goods.common().id, 1)], token, ship_to=region)
    assert codes(cart["validation"]["errors"]) == ["REGION_NOT_DELIVERABLE"]
    errors = _refused(shop, cart, token, f"far-{region}")
    assert [(e["code"], e["field"]) for e in errors] == [
        ("REGION_NOT_DELIVERABLE", ["shippingAddress", "region"])
    ]


def test_service_area_unavailable(shop: Shop) -> None:
    token = shop.customer_token(6)
    areas = shop.service_areas()
    service = next(
        s
        for s in shop.skus()
        if s.kind == "SERVICE" and s.is_published and s.is_active and s.product_id in areas
    )
    assert {"CN-SH", "CN-BJ", "CN-GD"} <= areas[service.product_id]
    outside = next(r for r in shop.deliverable_regions() if r not in areas[service.product_id])

    inside = _cart(shop, [(service.id, 1)], token, ship_to="CN-BJ")
    assert inside["validation"]["ok"], inside["validation"]
    assert money(inside["cost"]["shippingTotal"]) == 0, "services alone do not ship"

    cart = _cart(shop, [(service.id, 1)], token, ship_to=outside)
    line = _line_of(cart, service)
    assert _errors(cart["validation"]["errors"]) == [("SERVICE_AREA_UNAVAILABLE", line)]
    assert _errors(_refused(shop, cart, token, "service-far")) == [
        ("SERVICE_AREA_UNAVAILABLE", line)
    ]


# -- coupons -------------------------------------------------------------------------------


def test_coupon_not_found(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(7)
    cart = _cart(shop, [(goods.common().id, 1)], token, coupons=["NOSUCHCODE"])
    assert codes(cart["validation"]["errors"]) == ["COUPON_NOT_FOUND"]
    assert codes(_refused(shop, cart, token, "coupon-unknown")) == ["COUPON_NOT_FOUND"]


def test_coupon_expired_before_its_window_opens(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(7)
    cart = _cart(shop, [(goods.common().id, 1)], token, coupons=["EARLYBIRD"])
    assert codes(cart["validation"]["errors"]) == ["COUPON_EXPIRED"]
    assert "EARLYBIRD" in cart["validation"]["errors"][0]["message"]
    assert codes(_refused(shop, cart, token, "coupon-early")) == ["COUPON_EXPIRED"]


def test_coupon_expired_after_the_buyer_applied_it(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(19)
    cart = _cart(shop, [(goods.common().id, 1)], token, coupons=["WELCOME10"])
    assert cart["validation"]["ok"], cart["validation"]
    shown = cart["cost"]["total"]["amount"]
    coupon = shop.coupon("WELCOME10")
    ends_at = shop.scalar(
        "pricing", "SELECT ends_at FROM promotions WHERE id = :p", {"p": coupon["id"]}
    )
    shop.sql(
        "pricing",
        "UPDATE promotions SET ends_at = :t WHERE id = :p",
        {"t": datetime.now(UTC) - timedelta(minutes=1), "p": coupon["id"]},
    )
    try:
        assert codes(_fresh(shop, cart, token)["validation"]["errors"]) == ["COUPON_EXPIRED"]
        assert codes(_refused(shop, cart, token, "coupon-ended", total=shown)) == [
            "COUPON_EXPIRED",
            "PRICE_CHANGED",
        ]
    finally:
        shop.sql(
            "pricing",
            "UPDATE promotions SET ends_at = :t WHERE id = :p",
            {"t": ends_at, "p": coupon["id"]},
        )


def test_coupon_not_applicable_under_its_threshold(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(7)
    cheap = goods.common(cheaper_than=Decimal(400))
    cart = _cart(shop, [(cheap.id, 1)], token, coupons=["SAVE50"])
    assert codes(cart["validation"]["errors"]) == ["COUPON_NOT_APPLICABLE"]
    assert money(cart["cost"]["discountTotal"]) == 0
    assert codes(_refused(shop, cart, token, "coupon-small")) == ["COUPON_NOT_APPLICABLE"]


def test_coupon_not_combinable_with_an_exclusive_one(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(7)
    dear = goods.common(dearer_than=Decimal(600))
    cart = _cart(shop, [(dear.id, 1)], token, coupons=["VIP20", "SAVE50"])
    assert codes(cart["validation"]["errors"]) == ["COUPON_NOT_COMBINABLE"]
    assert codes(_refused(shop, cart, token, "coupon-stack")) == ["COUPON_NOT_COMBINABLE"]


def test_coupon_usage_limit_per_customer(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(8)
    shop.buy([(goods.common().id, 1)], token=token, key="welcome-once", coupons=["WELCOME10"])
    again = _cart(shop, [(goods.common().id, 1)], token, coupons=["WELCOME10"])
    assert codes(again["validation"]["errors"]) == ["COUPON_USAGE_LIMIT_REACHED"]
    assert money(again["cost"]["discountTotal"]) == 0 or all(
        d["promotion"]["name"] != "Welcome offer: 10% off"
        for line in again["lines"]
        for d in line["discounts"]
    )
    assert codes(_refused(shop, again, token, "welcome-twice")) == ["COUPON_USAGE_LIMIT_REACHED"]
    # Someone else still may.
    assert _cart(shop, [(goods.common().id, 1)], shop.customer_token(9), coupons=["WELCOME10"])[
        "validation"
    ]["ok"]


def test_coupon_usage_limit_in_total_reached_after_the_buyer_saw_the_discount(
    shop: Shop, goods: Goods
) -> None:
    coupon = shop.coupon("VIP20")
    token = shop.customer_token(10)
    cart = _cart(shop, [(goods.common().id, 1)], token, coupons=["VIP20"])
    assert cart["validation"]["ok"], cart["validation"]
    shown = cart["cost"]["total"]["amount"]
    shop.buy(
        [(goods.common().id, 1)], token=shop.customer_token(11), key="vip-first", coupons=["VIP20"]
    )
    shop.sql("pricing", "UPDATE promotions SET usage_limit = 1 WHERE id = :p", {"p": coupon["id"]})
    try:
        assert codes(_fresh(shop, cart, token)["validation"]["errors"]) == [
            "COUPON_USAGE_LIMIT_REACHED"
        ]
        # The buyer pays what they were shown, which is no longer the price: both are said.
        assert codes(_refused(shop, cart, token, "vip-late", total=shown)) == [
            "COUPON_USAGE_LIMIT_REACHED",
            "PRICE_CHANGED",
        ]
    finally:
        shop.sql(
            "pricing",
            "UPDATE promotions SET usage_limit = :n WHERE id = :p",
            {"n": coupon["usage_limit"], "p": coupon["id"]},
        )


# -- price, buyer, key ---------------------------------------------------------------------


def test_price_changed_says_the_new_total(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(12)
    sku = goods.take(dearer_than=Decimal(300))
    cart = _cart(shop, [(sku.id, 1)], token)
    shown = money(cart["cost"]["total"])
    shop.sql(
        "pricing",
        "UPDATE prices SET sale_amount = sale_amount + 10, list_amount = list_amount + 10 "
        "WHERE sku_id = :s",
        {"s": sku.id},
    )
    fresh = _fresh(shop, cart, token)
    now = money(fresh["cost"]["total"])
    # Ten more, less what a percentage promotion on this SKU now takes off the ten.
    more_off = money(fresh["cost"]["discountTotal"]) - money(cart["cost"]["discountTotal"])
    assert now == shown + 10 - more_off and now > shown
    errors = _refused(shop, cart, token, "price-moved", total=str(shown))
    assert [(e["code"], e["field"]) for e in errors] == [("PRICE_CHANGED", ["expectedTotal"])]
    assert f"{now:.2f}" in errors[0]["message"]
    # With the new total the same key now places the order (a refused attempt is forgotten).
    placed = shop.checkout(cart, "price-moved", token=token, total=f"{now:.2f}")
    assert placed["userErrors"] == []
    assert money(placed["order"]["cost"]["total"]) == now


def test_login_required(shop: Shop, goods: Goods) -> None:
    cart = _cart(shop, [(goods.common().id, 1)], None)
    placed = shop.checkout(cart, "anonymous", token=None)
    assert placed["order"] is None
    assert codes(placed["userErrors"]) == ["LOGIN_REQUIRED"]


def test_customer_blocked(shop: Shop, goods: Goods) -> None:
    blocked = shop.customer_token(50)
    cart = _cart(shop, [(goods.common().id, 1)], blocked)
    assert codes(cart["validation"]["errors"]) == ["CUSTOMER_BLOCKED"]
    assert codes(_refused(shop, cart, blocked, "blocked")) == ["CUSTOMER_BLOCKED"]


def test_idempotency_key_reused_for_another_cart(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(13)
    first = _cart(shop, [(goods.common().id, 1)], token)
    order = shop.checkout(first, "pay-once", token=token)["order"]
    assert order is not None
    # The same key for the same cart is the same order (a client retry).
    assert shop.checkout(first, "pay-once", token=token)["order"]["number"] == order["number"]
    other = _cart(shop, [(goods.common().id, 1)], token)
    errors = _refused(shop, other, token, "pay-once")
    assert [(e["code"], e["field"]) for e in errors] == [
        ("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])
    ]
    # Keys are per customer: another customer may use the same string.
    third = _cart(shop, [(goods.common().id, 1)], shop.customer_token(14))
    assert shop.checkout(third, "pay-once", token=shop.customer_token(14))["order"]


def test_order_not_found_for_someone_elses_order(shop: Shop, goods: Goods) -> None:
    order = shop.buy([(goods.common().id, 1)], token=shop.customer_token(15), key="mine")
    for order_id in (order["id"], global_id("Order", 99_999_999), "garbage"):
        cancelled = shop.query(
            ORDER_CANCEL, {"id": order_id, "reason": "not yours"}, token=shop.customer_token(16)
        )["orderCancel"]
        assert cancelled["order"] is None
        assert [(e["code"], e["field"]) for e in cancelled["userErrors"]] == [
            ("ORDER_NOT_FOUND", ["orderId"])
        ]


def test_invalid_status_transition_when_cancelling_twice(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(15)
    order = shop.buy([(goods.common().id, 1)], token=token, key="cancel-twice")
    first = shop.query(ORDER_CANCEL, {"id": order["id"], "reason": "oops"}, token=token)[
        "orderCancel"
    ]
    assert first["userErrors"] == []
    assert first["order"]["status"] == "CANCELLED"
    second = shop.query(ORDER_CANCEL, {"id": order["id"], "reason": "oops"}, token=token)[
        "orderCancel"
    ]
    assert codes(second["userErrors"]) == ["INVALID_STATUS_TRANSITION"]
    assert second["order"]["status"] == "CANCELLED"


# -- all at once ---------------------------------------------------------------------------


def test_validation_reports_every_problem_at_once(shop: Shop, goods: Goods) -> None:
    token = shop.customer_token(17)
    ended = _presale(shop, "ended")
    short = goods.take()
    shop.set_available(short.id, 1)
    cart = _cart(
        shop, [(ended.id, 1), (short.id, 2)], token, ship_to="CN-XZ", coupons=["NOSUCHCODE"]
    )
    expected = [
        ("COUPON_NOT_FOUND", None),
        ("INSUFFICIENT_STOCK", _line_of(cart, short)),
        ("PRESALE_ENDED", _line_of(cart, ended)),
        ("REGION_NOT_DELIVERABLE", None),
    ]
    assert cart["validation"]["ok"] is False
    assert _errors(cart["validation"]["errors"]) == expected
    assert _errors(_refused(shop, cart, token, "everything-wrong")) == expected
    # Nothing was held for a refused checkout.
    assert shop.available(short.id) == 1


def test_a_bundle_and_its_part_bought_together_are_counted_together(shop: Shop) -> None:
    token = shop.customer_token(18)
    skus = {s.id: s for s in shop.skus()}
    bundles = shop.bundle_parts()
    bundle = next(
        s
        for s in skus.values()
        if s.kind == "BUNDLE"
        and s.is_published
        and s.product_id in bundles
        and all(skus[p].available > 0 for p, _ in bundles[s.product_id])
    )
    part = next(
        sku_id for sku_id, _ in bundles[bundle.product_id] if skus[sku_id].kind == "PHYSICAL"
    )
    shop.set_available(part, 1)
    cart = _cart(shop, [(bundle.id, 1), (part, 1)], token)
    assert shop.checkout(cart, "bundle-and-part", token=token)["order"] is None
    # The storefront must have said so before the buyer pressed "place order".
    assert "INSUFFICIENT_STOCK" in codes(
        cart["validation"]["errors"]
    ) or "BUNDLE_INCOMPLETE" in codes(cart["validation"]["errors"])
