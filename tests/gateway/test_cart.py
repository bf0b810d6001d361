"""Carts over real HTTP, as a storefront builds them: create, add, change, remove, coupons
and address; what is valid applies, what is not comes back as a userError with its field
(and line); carts belong to their buyer; a completed cart refuses every change."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import (
    CART_ADDRESS_SET,
    CART_COUPONS_SET,
    CART_LINES_ADD,
    CART_LINES_REMOVE,
    CART_LINES_UPDATE,
    CART_QUERY,
    Shop,
    SkuFacts,
    address,
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
        "sqlite", tmp_path_factory.mktemp("cart-shop"), languages={"default": "en"}
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> list[SkuFacts]:
    skus = shop.plain_skus()
    assert len(skus) >= 12, "the demo shop has too few plain SKUs for these tests"
    return skus


def _lines(cart: dict[str, Any]) -> dict[str, int]:
    """The cart's lines as {sku global id: quantity}."""
    return {line["sku"]["id"]: line["quantity"] for line in cart["lines"]}


def _cart_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["cart"] is not None, payload
    return payload["cart"]  # type: ignore[no-any-return]


def test_an_anonymous_cart_is_reachable_by_its_id_alone(shop: Shop, goods: list[SkuFacts]) -> None:
    created = shop.create_cart([(goods[0].id, 2)])
    assert created["userErrors"] == []
    cart = _cart_of(created)
    assert _lines(cart) == {goods[0].gid: 2}
    assert cart["validation"] == {"ok": True, "errors": []}

    again = shop.query(CART_QUERY, {"id": cart["id"]})["cart"]
    assert again["id"] == cart["id"]
    assert _lines(again) == {goods[0].gid: 2}
    # A signed-in customer who holds the link sees it too (it is attached when they check out).
    assert shop.query(CART_QUERY, {"id": cart["id"]}, token=shop.customer_token(7))["cart"]


def test_a_customers_cart_is_theirs_alone(shop: Shop, goods: list[SkuFacts]) -> None:
    owner, other = shop.customer_token(1), shop.customer_token(2)
    cart = _cart_of(shop.create_cart([(goods[1].id, 1)], token=owner))

    assert shop.query(CART_QUERY, {"id": cart["id"]}, token=owner)["cart"]["id"] == cart["id"]
    assert shop.query(CART_QUERY, {"id": cart["id"]}, token=other)["cart"] is None
    assert shop.query(CART_QUERY, {"id": cart["id"]})["cart"] is None  # anonymous

    refused = shop.query(
        CART_LINES_ADD,
        {"cartId": cart["id"], "lines": [{"skuId": goods[2].gid, "quantity": 1}]},
        token=other,
    )["cartLinesAdd"]
    assert refused["cart"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("CART_NOT_FOUND", ["cartId"])
    ]
    placed = shop.checkout(cart, "someone-elses-cart", token=other)
    assert placed["order"] is None
    assert codes(placed["userErrors"]) == ["CART_NOT_FOUND"]
    # Nothing changed for the owner.
    assert _lines(shop.query(CART_QUERY, {"id": cart["id"]}, token=owner)["cart"]) == {
        goods[1].gid: 1
    }


@pytest.mark.parametrize(
    "cart_id",
    [
        global_id("Cart", "no-such-cart-token"),
        global_id("Order", 1),  # an id of another type
        "not-a-global-id",
    ],
)
def test_an_unknown_cart_is_cart_not_found(shop: Shop, goods: list[SkuFacts], cart_id: str) -> None:
    assert shop.query(CART_QUERY, {"id": cart_id})["cart"] is None
    added = shop.query(
        CART_LINES_ADD, {"cartId": cart_id, "lines": [{"skuId": goods[0].gid, "quantity": 1}]}
    )["cartLinesAdd"]
    assert added["cart"] is None
    assert codes(added["userErrors"]) == ["CART_NOT_FOUND"]


def test_adding_a_sku_already_in_the_cart_adds_to_its_line(
    shop: Shop, goods: list[SkuFacts]
) -> None:
    token = shop.customer_token(3)
    cart = _cart_of(shop.create_cart([(goods[0].id, 2), (goods[1].id, 1)], token=token))
    added = shop.query(
        CART_LINES_ADD,
        {
            "cartId": cart["id"],
            "lines": [
                {"skuId": goods[0].gid, "quantity": 3},
                {"skuId": goods[2].gid, "quantity": 1},
                {"skuId": goods[2].gid, "quantity": 4},  # twice in one request
            ],
        },
        token=token,
    )["cartLinesAdd"]
    assert added["userErrors"] == []
    after = _cart_of(added)
    assert _lines(after) == {goods[0].gid: 5, goods[1].gid: 1, goods[2].gid: 5}
    assert len(after["lines"]) == 3, "one line per SKU"
    # The line keeps its id when it grows, so the storefront's line keys stay stable.
    first_line = {line["sku"]["id"]: line["id"] for line in cart["lines"]}[goods[0].gid]
    assert {line["sku"]["id"]: line["id"] for line in after["lines"]}[goods[0].gid] == first_line
    # Priced now: the subtotal is the sum of quantity x unit price.
    assert money(after["cost"]["subtotal"]) == sum(
        (money(line["unitPrice"]) * line["quantity"] for line in after["lines"]), Decimal(0)
    )


def test_updating_a_line_to_zero_removes_it(shop: Shop, goods: list[SkuFacts]) -> None:
    token = shop.customer_token(3)
    cart = _cart_of(shop.create_cart([(goods[3].id, 1), (goods[4].id, 2)], token=token))
    by_sku = {line["sku"]["id"]: line["id"] for line in cart["lines"]}
    updated = shop.query(
        CART_LINES_UPDATE,
        {
            "cartId": cart["id"],
            "lines": [
                {"lineId": by_sku[goods[3].gid], "quantity": 0},
                {"lineId": by_sku[goods[4].gid], "quantity": 7},
            ],
        },
        token=token,
    )["cartLinesUpdate"]
    assert updated["userErrors"] == []
    assert _lines(_cart_of(updated)) == {goods[4].gid: 7}


def test_removing_lines(shop: Shop, goods: list[SkuFacts]) -> None:
    token = shop.customer_token(4)
    cart = _cart_of(shop.create_cart([(goods[5].id, 1), (goods[6].id, 1)], token=token))
    by_sku = {line["sku"]["id"]: line["id"] for line in cart["lines"]}
    removed = shop.query(
        CART_LINES_REMOVE, {"cartId": cart["id"], "lineIds": [by_sku[goods[5].gid]]}, token=token
    )["cartLinesRemove"]
    assert removed["userErrors"] == []
    assert _lines(_cart_of(removed)) == {goods[6].gid: 1}


def test_valid_lines_apply_and_bad_ones_come_back_with_their_field(
    shop: Shop, goods: list[SkuFacts]
) -> None:
    skus = shop.skus()
    inactive = next(s for s in skus if not s.is_active and s.is_published)
    unpublished = next(s for s in skus if not s.is_published and s.is_active)
    token = shop.customer_token(5)
    cart = _cart_of(shop.create_cart([(goods[7].id, 1)], token=token))
    added = shop.query(
        CART_LINES_ADD,
        {
            "cartId": cart["id"],
            "lines": [
                {"skuId": goods[8].gid, "quantity": 2},  # fine
                {"skuId": sku_gid(9_999_999), "quantity": 1},
                {"skuId": inactive.gid, "quantity": 1},
                {"skuId": unpublished.gid, "quantity": 1},
                {"skuId": goods[9].gid, "quantity": 0},
                {"skuId": goods[9].gid, "quantity": 1000},
                {"skuId": global_id("Product", goods[9].product_id), "quantity": 1},
            ],
        },
        token=token,
    )["cartLinesAdd"]
    assert _lines(_cart_of(added)) == {goods[7].gid: 1, goods[8].gid: 2}
    assert [(e["code"], e["field"]) for e in added["userErrors"]] == [
        ("SKU_NOT_FOUND", ["lines", "1", "skuId"]),
        ("SKU_INACTIVE", ["lines", "2", "skuId"]),
        ("PRODUCT_UNAVAILABLE", ["lines", "3", "skuId"]),
        ("INVALID_QUANTITY", ["lines", "4", "quantity"]),
        ("INVALID_QUANTITY", ["lines", "5", "quantity"]),
        ("SKU_NOT_FOUND", ["lines", "6", "skuId"]),
    ]
    assert all(e["message"] for e in added["userErrors"])


def test_line_changes_name_the_line_they_could_not_apply_to(
    shop: Shop, goods: list[SkuFacts]
) -> None:
    token = shop.customer_token(5)
    cart = _cart_of(shop.create_cart([(goods[10].id, 1), (goods[11].id, 1)], token=token))
    by_sku = {line["sku"]["id"]: line["id"] for line in cart["lines"]}
    updated = shop.query(
        CART_LINES_UPDATE,
        {
            "cartId": cart["id"],
            "lines": [
                {"lineId": by_sku[goods[10].gid], "quantity": 3},
                {"lineId": "987654", "quantity": 1},
                {"lineId": by_sku[goods[11].gid], "quantity": -1},
            ],
        },
        token=token,
    )["cartLinesUpdate"]
    assert _lines(_cart_of(updated)) == {goods[10].gid: 3, goods[11].gid: 1}
    assert [(e["code"], e["field"], e["lineId"]) for e in updated["userErrors"]] == [
        ("INVALID_INPUT", ["lines", "1", "lineId"], "987654"),
        ("INVALID_QUANTITY", ["lines", "2", "quantity"], by_sku[goods[11].gid]),
    ]

    removed = shop.query(
        CART_LINES_REMOVE,
        {"cartId": cart["id"], "lineIds": ["987654", by_sku[goods[11].gid]]},
        token=token,
    )["cartLinesRemove"]
    assert _lines(_cart_of(removed)) == {goods[10].gid: 3}
    assert [(e["code"], e["field"], e["lineId"]) for e in removed["userErrors"]] == [
        ("INVALID_INPUT", ["lineIds", "0"], "987654")
    ]


def test_coupon_codes_are_kept_and_the_ones_that_do_not_apply_are_named(
    shop: Shop, goods: list[SkuFacts]
) -> None:
    token = shop.customer_token(6)
    dear = next(s for s in goods if s.sale is not None and s.sale >= 600)
    cart = _cart_of(shop.create_cart([(dear.id, 1)], token=token))
    assert money(cart["cost"]["discountTotal"]) == 0 or cart["lines"][0]["discounts"]

    applied = shop.query(
        CART_COUPONS_SET, {"cartId": cart["id"], "codes": ["save50", "NO-SUCH-CODE"]}, token=token
    )["cartCouponsSet"]
    after = _cart_of(applied)
    assert after["couponCodes"] == ["save50", "NO-SUCH-CODE"]
    assert [(e["code"], e["field"]) for e in applied["userErrors"]] == [
        ("COUPON_NOT_FOUND", ["couponCodes"])
    ]
    assert "NO-SUCH-CODE" in applied["userErrors"][0]["message"]
    promotions = {d["promotion"]["name"] for line in after["lines"] for d in line["discounts"]}
    assert any("save" in name.lower() for name in promotions), promotions
    assert money(after["cost"]["discountTotal"]) >= Decimal("50.00")
    assert money(after["cost"]["total"]) == (
        money(after["cost"]["subtotal"])
        - money(after["cost"]["discountTotal"])
        + money(after["cost"]["shippingTotal"])
    )

    cleared = shop.query(CART_COUPONS_SET, {"cartId": cart["id"], "codes": []}, token=token)[
        "cartCouponsSet"
    ]
    assert cleared["userErrors"] == []
    assert _cart_of(cleared)["couponCodes"] == []
    assert money(_cart_of(cleared)["cost"]["total"]) == money(cart["cost"]["total"])


def test_the_shipping_address_is_set_checked_and_priced(shop: Shop, goods: list[SkuFacts]) -> None:
    token = shop.customer_token(6)
    cheap = min((s for s in goods if s.sale is not None), key=lambda s: s.sale or 0)
    cart = _cart_of(shop.create_cart([(cheap.id, 1)], token=token, ship_to=None))
    assert cart["shippingAddress"] is None
    assert codes(cart["validation"]["errors"]) == ["SHIPPING_ADDRESS_REQUIRED"]

    bad = shop.query(
        CART_ADDRESS_SET,
        {"cartId": cart["id"], "address": address(country="China", line1=" ")},
        token=token,
    )["cartShippingAddressSet"]
    assert _cart_of(bad)["shippingAddress"] is None, "an invalid address is not stored"
    assert sorted((e["code"], tuple(e["field"])) for e in bad["userErrors"]) == [
        ("INVALID_INPUT", ("shippingAddress", "country")),
        ("INVALID_INPUT", ("shippingAddress", "line1")),
    ]

    good = shop.query(
        CART_ADDRESS_SET, {"cartId": cart["id"], "address": address("CN-GS")}, token=token
    )["cartShippingAddressSet"]
    assert good["userErrors"] == []
    priced = _cart_of(good)
    assert priced["shippingAddress"]["region"] == "CN-GS"
    assert priced["validation"] == {"ok": True, "errors": []}
    goods_total = money(priced["cost"]["subtotal"]) - money(priced["cost"]["discountTotal"])
    # Gansu's rate, unless the goods reach the free-shipping threshold.
    expected = Decimal("0.00") if goods_total >= Decimal("199.00") else Decimal("25.00")
    assert money(priced["cost"]["shippingTotal"]) == expected
    assert money(priced["cost"]["total"]) == goods_total + expected


def test_a_completed_cart_refuses_every_change(shop: Shop, goods: list[SkuFacts]) -> None:
    token = shop.customer_token(8)
    created = shop.create_cart([(goods[0].id, 1)], token=token)
    cart = _cart_of(created)
    line_id = cart["lines"][0]["id"]
    placed = shop.checkout(cart, "completed-cart", token=token)
    assert placed["userErrors"] == []

    changes = [
        (CART_LINES_ADD, {"lines": [{"skuId": goods[1].gid, "quantity": 1}]}, "cartLinesAdd"),
        (CART_LINES_UPDATE, {"lines": [{"lineId": line_id, "quantity": 2}]}, "cartLinesUpdate"),
        (CART_LINES_REMOVE, {"lineIds": [line_id]}, "cartLinesRemove"),
        (CART_COUPONS_SET, {"codes": ["SAVE50"]}, "cartCouponsSet"),
        (CART_ADDRESS_SET, {"address": address("CN-BJ")}, "cartShippingAddressSet"),
    ]
    for mutation, variables, name in changes:
        payload = shop.query(mutation, {"cartId": cart["id"], **variables}, token=token)[name]
        assert codes(payload["userErrors"]) == ["CART_COMPLETED"], name
    again = shop.query(CART_QUERY, {"id": cart["id"]}, token=token)["cart"]
    assert _lines(again) == {goods[0].gid: 1}
    assert again["shippingAddress"]["region"] == "CN-SH"
    assert again["couponCodes"] == []

    second = shop.checkout(cart, "completed-cart-again", token=token)
    assert second["order"] is None
    assert codes(second["userErrors"]) == ["CART_COMPLETED"]
