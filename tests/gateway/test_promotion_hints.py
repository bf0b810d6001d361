"""Promotion hints (凑单) over real HTTP, on SQLite and PostgreSQL, with the demo shop's
promotions: a cart is told what unlocks the promotions it nearly qualifies for, doing what a
hint says does unlock it (and costs no more than what was added), each line says why the
promotions that cover it give it nothing, and none of it costs source calls per line."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from gateway.checkout.hint_settings import PromotionHintSettings
from tests.gateway.checkout_helpers import (
    BACKENDS,
    CART_COUPONS_SET,
    CART_LINES_ADD,
    CART_LINES_UPDATE,
    Shop,
    SkuFacts,
    global_id,
    money,
    open_shop,
)

HINTS = """
query Hints($id: ID!) {
  cart(id: $id) {
    id
    cost { subtotal { amount } total { amount } }
    lines {
      id quantity
      sku { id }
      discounts { amount { amount } promotion { name } }
      promotionsNotApplied { promotion { id name couponRequired } reason }
    }
    promotionHints {
      promotion { id name }
      kind message couponCode unitsToAdd skuId productIds
      amountToUnlock { amount currency }
      saving { amount }
    }
  }
}"""
SAVE50 = "Spend ¥500, save ¥50"
WELCOME = "Welcome offer: 10% off"
VIP = "VIP 20% off"
SPRING = "Spring sale: 12% off"
EARLY = "Early bird: ¥20 off"
AUDIO = "Audio week: 15% off"
CLOTHING = "Buy 2, get 1 free on clothing"
HOME = "Home upgrade: spend ¥2,000, save 8%"


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    # A horizon wide enough for the demo's spring sale (ended 60 days ago) and early bird
    # (opens in 14 days) to be named on the lines.
    hints = PromotionHintSettings(horizon_days=90)
    # The demo promotions' names as written (its base text, English): buyers asking in English.
    yield from open_shop(
        request.param,
        tmp_path_factory.mktemp("hints"),
        promotion_hints=hints,
        languages={"default": "en"},
    )


@pytest.fixture(scope="module")
def catalog(shop: Shop) -> dict[str, list[SkuFacts]]:
    """Plain SKUs by the demo promotion that covers them ("" for none but order-wide ones)."""
    slugs = dict(shop.sql("catalog", "SELECT id, slug FROM categories"))
    parents = dict(shop.sql("catalog", "SELECT id, parent_id FROM categories"))
    targeted = {pid for (pid,) in shop.sql("pricing", "SELECT product_id FROM promotion_targets")}

    def top(category_id: int | None) -> str:
        while category_id is not None and parents.get(category_id) is not None:
            if slugs[category_id] in ("audio", "mens-clothing", "womens-clothing"):
                return str(slugs[category_id])
            category_id = parents[category_id]
        return str(slugs.get(category_id, ""))

    found: dict[str, list[SkuFacts]] = {}
    for sku in shop.plain_skus():
        group = "targeted" if sku.product_id in targeted else top(sku.category_id)
        found.setdefault(group, []).append(sku)
    found["plain"] = [
        s for group in ("electronics", "home-appliances", "fashion") for s in found.get(group, [])
    ]
    return found


def hints_of(shop: Shop, cart_id: str, token: str | None = None) -> dict[str, Any]:
    return shop.query(HINTS, {"id": cart_id}, token=token)["cart"]  # type: ignore[no-any-return]


def new_cart(shop: Shop, lines: list[tuple[int, int]], token: str | None = None) -> str:
    created = shop.create_cart(lines, token=token)
    assert created["userErrors"] == [], created["userErrors"]
    return str(created["cart"]["id"])


def by_promotion(cart: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {hint["promotion"]["name"]: hint for hint in cart["promotionHints"]}


def reasons(line: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["promotion"]["name"], n["reason"]) for n in line["promotionsNotApplied"]]


def units_worth(sku: SkuFacts, amount: Decimal) -> int:
    assert sku.sale is not None
    return max(1, math.ceil(amount / sku.sale))


def order_wide_cart(
    catalog: dict[str, list[SkuFacts]], low: str, high: str
) -> list[tuple[int, int]]:
    """One line of goods no demo promotion singles out, worth between low and high."""
    for sku in catalog["plain"]:
        assert sku.sale is not None
        quantity = units_worth(sku, Decimal(low))
        if sku.sale * quantity < Decimal(high) and quantity <= 10:
            return [(sku.id, quantity)]
    raise AssertionError(f"no plain SKU makes a cart of {low} to {high}")


def test_a_cart_short_of_a_threshold_is_told_what_unlocks_it_and_that_does(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    cart_id = new_cart(shop, order_wide_cart(catalog, "300", "480"))
    before = hints_of(shop, cart_id)
    subtotal = money(before["cost"]["subtotal"])

    hints = by_promotion(before)
    save50 = hints[SAVE50]
    missing = Decimal("500.00") - subtotal
    assert save50["kind"] == "SPEND"
    assert save50["amountToUnlock"] == {"amount": f"{missing:.2f}", "currency": "CNY"}
    assert (save50["couponCode"], money(save50["saving"])) == ("SAVE50", Decimal("50.00"))
    assert save50["message"] == f"Add ¥{missing:,.2f} more and enter coupon SAVE50 to save ¥50.00"
    assert save50["productIds"] == []  # order-wide: anything counts
    # The coupons that apply as they are, by their codes; the largest saving first.
    assert hints[WELCOME]["kind"] == hints[VIP]["kind"] == "COUPON"
    assert money(hints[WELCOME]["saving"]) == (subtotal / 10).quantize(Decimal("0.01"))
    savings = [money(h["saving"]) for h in before["promotionHints"]]
    assert savings == sorted(savings, reverse=True) and len(savings) <= 3
    # Entering a hinted code lowers the total by exactly the saving it showed.
    welcome = shop.query(CART_COUPONS_SET, {"cartId": cart_id, "codes": ["WELCOME10"]})
    welcome_total = money(welcome["cartCouponsSet"]["cart"]["cost"]["total"])
    assert welcome_total == money(before["cost"]["total"]) - money(hints[WELCOME]["saving"])
    shop.query(CART_COUPONS_SET, {"cartId": cart_id, "codes": []})

    # Do what it says: goods worth the missing amount, and the code.
    other = next(s for s in catalog["plain"] if s.gid != before["lines"][0]["sku"]["id"])
    quantity = units_worth(other, missing)
    added = shop.query(
        CART_LINES_ADD, {"cartId": cart_id, "lines": [{"skuId": other.gid, "quantity": quantity}]}
    )
    assert added["cartLinesAdd"]["userErrors"] == []
    shop.query(CART_COUPONS_SET, {"cartId": cart_id, "codes": ["SAVE50"]})
    after = hints_of(shop, cart_id)

    applied = {d["promotion"]["name"] for line in after["lines"] for d in line["discounts"]}
    assert SAVE50 in applied
    assert SAVE50 not in by_promotion(after)
    assert other.sale is not None
    assert money(after["cost"]["total"]) <= money(before["cost"]["total"]) + other.sale * quantity


def test_each_line_says_why_the_promotions_that_cover_it_give_it_nothing(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    cart = hints_of(shop, new_cart(shop, [(catalog["plain"][0].id, 1)]))

    [line] = cart["lines"]
    # In the engine's order (priority, then id); the paused flash sale is not the buyer's.
    assert reasons(line) == [
        (VIP, "COUPON_REQUIRED"),
        (SAVE50, "COUPON_REQUIRED"),
        (WELCOME, "COUPON_REQUIRED"),
        (SPRING, "ENDED"),
        (EARLY, "NOT_STARTED"),  # a coupon, but its window comes first
    ]


def test_typed_coupons_that_do_not_apply_are_told_apart(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    audio = catalog["audio"][0]
    cart_id = new_cart(shop, [(audio.id, 1)])
    codes = {"cartId": cart_id, "codes": ["VIP20", "WELCOME10", "EARLYBIRD"]}
    shop.query(CART_COUPONS_SET, codes)

    [line] = hints_of(shop, cart_id)["lines"]

    # 15% then 10% of the rest beats 20% alone: the exclusive VIP20 is left out.
    assert [d["promotion"]["name"] for d in line["discounts"]] == [AUDIO, WELCOME]
    assert reasons(line) == [
        (VIP, "EXCLUDED_BY_BETTER"),
        (SAVE50, "COUPON_REQUIRED"),
        (SPRING, "ENDED"),
        (EARLY, "NOT_STARTED"),
    ]

    shop.query(CART_COUPONS_SET, {"cartId": cart_id, "codes": ["VIP20"]})
    [line] = hints_of(shop, cart_id)["lines"]

    # 20% beats 15%: now the exclusive one wins and the audio week is left out.
    assert [d["promotion"]["name"] for d in line["discounts"]] == [VIP]
    assert (AUDIO, "EXCLUDED_BY_BETTER") in reasons(line)


def test_one_more_piece_of_clothing_gets_one_free(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    clothing = catalog.get("mens-clothing", []) + catalog.get("womens-clothing", [])
    shirt = clothing[0]
    assert shirt.sale is not None
    cart_id = new_cart(shop, [(shirt.id, 2)])
    before = hints_of(shop, cart_id)

    hint = by_promotion(before)[CLOTHING]
    assert (hint["kind"], hint["unitsToAdd"], hint["skuId"]) == ("UNITS", 1, shirt.gid)
    assert hint["productIds"] == [global_id("Product", shirt.product_id)]
    assert money(hint["amountToUnlock"]) == money(hint["saving"]) == shirt.sale
    assert hint["message"] == (
        f"Add one more {shirt.product_name} to get one free (save ¥{shirt.sale:,.2f})"
    )
    assert (CLOTHING, "QUANTITY_NOT_MET") in reasons(before["lines"][0])

    line_id = before["lines"][0]["id"]
    shop.query(
        CART_LINES_UPDATE, {"cartId": cart_id, "lines": [{"lineId": line_id, "quantity": 3}]}
    )
    after = hints_of(shop, cart_id)

    [line] = after["lines"]
    assert [(d["promotion"]["name"], money(d["amount"])) for d in line["discounts"]] == [
        (CLOTHING, shirt.sale)
    ]
    assert CLOTHING not in by_promotion(after)
    assert money(after["cost"]["total"]) <= money(before["cost"]["total"]) + shirt.sale


def test_a_category_threshold_names_its_category_and_products(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    home = sorted(catalog["home-living"], key=lambda s: s.sale or 0, reverse=True)
    lines, spent = [], Decimal(0)
    for sku in home:  # at least half-way to ¥2,000 of home and living
        assert sku.sale is not None
        if spent + sku.sale < Decimal("1900"):
            lines.append((sku.id, 1))
            spent += sku.sale
        if spent >= Decimal("1000"):
            break
    assert Decimal("1000") <= spent < Decimal("2000"), "too little home and living in the demo"
    cart = hints_of(shop, new_cart(shop, lines))

    hint = by_promotion(cart)[HOME]
    missing = Decimal("2000.00") - spent
    assert (hint["kind"], money(hint["amountToUnlock"])) == ("SPEND", missing)
    assert money(hint["saving"]) == Decimal("160.00")  # 8% of ¥2,000
    assert hint["message"] == f"Add ¥{missing:,.2f} more of Home & Living to save ¥160.00"
    under_home = {
        global_id("Product", pid)
        for (pid,) in shop.sql(
            "catalog",
            "SELECT p.id FROM products p JOIN categories c ON c.id = p.category_id "
            "WHERE c.slug = 'home-living' OR c.parent_id = "
            "(SELECT id FROM categories WHERE slug = 'home-living')",
        )
    }
    assert hint["productIds"] and set(hint["productIds"]) <= under_home
    assert all(reasons(line) for line in cart["lines"])
    assert all((HOME, "THRESHOLD_NOT_MET") in reasons(line) for line in cart["lines"])


def test_a_coupon_the_customer_has_used_up_is_no_hint(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    token = shop.customer_token(5)
    lines = [(catalog["plain"][1].id, 1)]
    shop.buy(lines, token=token, key="hints-welcome-once", coupons=["WELCOME10"])

    cart = hints_of(shop, new_cart(shop, lines, token=token), token=token)

    assert WELCOME not in by_promotion(cart)
    assert (WELCOME, "USAGE_LIMIT_REACHED") in reasons(cart["lines"][0])


def test_hints_cost_the_same_source_calls_for_two_lines_as_for_six(
    shop: Shop, catalog: dict[str, list[SkuFacts]]
) -> None:
    goods = [s for group in ("plain", "audio", "home-living") for s in catalog.get(group, [])]
    two = new_cart(shop, [(s.id, 1) for s in goods[:2]])
    six = new_cart(shop, [(s.id, 1) for s in goods[:6]])
    live = shop.live
    for cart_id in (two, six):  # warm the shared cache: both carts then read it alike
        live.query(HINTS, {"id": cart_id})

    _, calls_two = live.calls_during(HINTS, {"id": two})
    result, calls_six = live.calls_during(HINTS, {"id": six})

    assert "errors" not in result and len(result["data"]["cart"]["lines"]) == 6
    assert calls_six == calls_two
    # The hints read the promotions once more than the cart's own snapshot (which reads
    # them inside pricing.pricing_for_checkout), never at checkout; everything else once.
    assert calls_six["pricing.pricing_for_checkout"] == 1
    assert calls_six["pricing.promotions_for_checkout"] == 1
    assert all(count == 1 for count in calls_six.values()), calls_six
