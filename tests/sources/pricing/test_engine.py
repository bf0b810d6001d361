"""The promotion engine, case by case: every kind, scope, window, stacking and exclusivity
rule, and every coupon problem a buyer can see. (Properties over random carts are in
test_engine_properties.py.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from sources.pricing.engine import (
    CartLine,
    CouponProblem,
    CouponUsage,
    PricingResult,
    allocate_discount,
    price_cart,
)
from sources.pricing.records import Promotion, PromotionKind, PromotionScope

from .factories import AT, fixed, line, percentage, promotion

D = Decimal


def price(
    lines: Sequence[CartLine],
    promotions: Sequence[Promotion] = (),
    codes: Sequence[str] = (),
    usage: Mapping[int, CouponUsage] | None = None,
) -> PricingResult:
    return price_cart(lines, promotions=promotions, coupon_codes=codes, usage=usage or {}, at=AT)


def discounts(result: PricingResult) -> dict[str, tuple[tuple[int, Decimal], ...]]:
    return {r.line_id: r.discounts for r in result.lines}


def totals(result: PricingResult) -> dict[str, Decimal]:
    return {r.line_id: r.total for r in result.lines}


def problems(result: PricingResult) -> dict[str, CouponProblem]:
    return dict(result.coupon_problems)


# Kinds --------------------------------------------------------------------------------------


def test_percentage_takes_its_share_of_the_whole_order() -> None:
    result = price([line("a", "100.00"), line("b", "50.00", 2)], [percentage(1, "10")])

    assert result.subtotal == D("200.00")
    assert result.discount_total == D("20.00")
    assert result.total == D("180.00")
    assert discounts(result) == {"a": ((1, D("10.00")),), "b": ((1, D("10.00")),)}
    assert result.applied_promotion_ids == (1,)
    assert result.promotion_discounts == ((1, D("20.00")),)


def test_percentage_rounds_half_up_to_the_cent() -> None:
    result = price([line("a", "0.05")], [percentage(1, "10")])

    assert result.discount_total == D("0.01")
    assert result.total == D("0.04")


def test_fixed_amount_never_takes_more_than_the_lines_cost() -> None:
    result = price([line("a", "30.00")], [fixed(1, "50.00")])

    assert result.discount_total == D("30.00")
    assert result.total == D("0.00")


def test_a_discount_is_split_to_the_cent_and_the_odd_cent_goes_to_the_smallest_line_id() -> None:
    result = price([line("c", "10.00"), line("a", "10.00"), line("b", "10.00")], [fixed(1, "10")])

    assert discounts(result) == {
        "c": ((1, D("3.33")),),
        "a": ((1, D("3.34")),),
        "b": ((1, D("3.33")),),
    }
    assert [r.line_id for r in result.lines] == ["c", "a", "b"]  # the caller's order


def test_leftover_cents_go_to_the_largest_remainders() -> None:
    cart = [line("a", "10.00"), line("b", "20.00"), line("c", "70.00")]

    result = price(cart, [fixed(1, "33.33")])

    # Exact shares 3.333, 6.666, 23.331: the floors leave one cent, for b (.6 of a cent).
    assert {k: v[0][1] for k, v in discounts(result).items()} == {
        "a": D("3.33"),
        "b": D("6.67"),
        "c": D("23.33"),
    }


def test_threshold_saves_its_amount_from_exactly_the_threshold() -> None:
    spend_500 = promotion(1, kind=PromotionKind.THRESHOLD, threshold="500", amount="50")

    met = price([line("a", "300.00"), line("b", "200.00")], [spend_500])
    short = price([line("a", "300.00"), line("b", "199.99")], [spend_500])

    assert discounts(met) == {"a": ((1, D("30.00")),), "b": ((1, D("20.00")),)}
    assert short.discount_total == 0
    assert short.applied_promotion_ids == ()


def test_threshold_with_a_percent_counts_only_the_targeted_lines() -> None:
    home = promotion(
        1,
        kind=PromotionKind.THRESHOLD,
        scope=PromotionScope.CATEGORIES,
        categories=[5],
        threshold="2000",
        percent="8",
    )
    cart = [
        line("a", "1500.00", categories=(5,)),
        line("b", "600.00", categories=(9, 5)),
        line("c", "1000.00", categories=(7,)),
    ]

    result = price(cart, [home])

    assert discounts(result) == {"a": ((1, D("120.00")),), "b": ((1, D("48.00")),), "c": ()}
    just_short = price([*cart[:1], line("b", "499.99", categories=(5,)), cart[2]], [home])
    assert just_short.discount_total == 0


def test_a_threshold_is_judged_before_other_discounts_so_stacking_never_loses_it() -> None:
    ten_percent = percentage(1, "10", priority=10)
    spend_500 = promotion(2, kind=PromotionKind.THRESHOLD, threshold="500", amount="50")

    result = price([line("a", "500.00")], [ten_percent, spend_500])

    assert discounts(result) == {"a": ((1, D("50.00")), (2, D("50.00")))}
    assert result.total == D("400.00")


@pytest.mark.parametrize(
    ("quantity", "free_units"), [(2, 0), (3, 1), (5, 1), (6, 2), (7, 2), (9, 3)]
)
def test_buy_two_get_one_frees_one_unit_in_every_three(quantity: int, free_units: int) -> None:
    buy_2_get_1 = promotion(1, kind=PromotionKind.BUY_X_GET_Y, buy=2, get=1)

    result = price([line("a", "10.00", quantity, sku=1)], [buy_2_get_1])

    assert result.discount_total == D("10.00") * free_units


def test_buy_x_get_y_counts_units_per_sku_across_lines_never_across_skus() -> None:
    buy_2_get_1 = promotion(1, kind=PromotionKind.BUY_X_GET_Y, buy=2, get=1)

    mixed = price([line("a", "10.00", 2, sku=1), line("b", "10.00", 1, sku=2)], [buy_2_get_1])
    same = price([line("a", "10.00", 2, sku=1), line("b", "10.00", 1, sku=1)], [buy_2_get_1])

    assert mixed.discount_total == 0
    assert discounts(same) == {"a": ((1, D("6.67")),), "b": ((1, D("3.33")),)}


def test_buy_x_get_y_frees_units_at_what_is_left_of_their_price() -> None:
    half_off = percentage(1, "50", priority=5)
    buy_2_get_1 = promotion(2, kind=PromotionKind.BUY_X_GET_Y, buy=2, get=1)

    result = price([line("a", "10.00", 3, sku=1)], [half_off, buy_2_get_1])

    assert discounts(result) == {"a": ((1, D("15.00")), (2, D("5.00")))}
    assert result.total == D("10.00")


def test_a_promotion_missing_the_fields_of_its_kind_gives_nothing() -> None:
    broken = [
        promotion(1, kind=PromotionKind.PERCENTAGE),
        promotion(2, kind=PromotionKind.FIXED_AMOUNT),
        promotion(3, kind=PromotionKind.THRESHOLD, amount="10"),
        promotion(4, kind=PromotionKind.BUY_X_GET_Y, buy=2),
    ]

    assert price([line("a", "10.00", 5, sku=1)], broken).discount_total == 0


def test_a_percentage_above_100_takes_the_line_to_zero_not_below() -> None:
    result = price([line("a", "10.00")], [percentage(1, "150")])

    assert result.total == D("0.00")


# Scopes -------------------------------------------------------------------------------------


def test_a_products_promotion_reaches_only_its_products() -> None:
    kitchen = fixed(1, "30", scope=PromotionScope.PRODUCTS, products=[7])

    result = price([line("a", "100.00", product=7), line("b", "100.00", product=8)], [kitchen])

    assert discounts(result) == {"a": ((1, D("30.00")),), "b": ()}


def test_a_category_promotion_reaches_products_of_its_subcategories() -> None:
    audio = percentage(1, "15", scope=PromotionScope.CATEGORIES, categories=[1])
    cart = [
        line("headphones", "100.00", categories=(5, 1)),
        line("speaker", "100.00", categories=(1,)),
        line("kettle", "100.00", categories=(6, 2)),
    ]

    result = price(cart, [audio])

    assert totals(result) == {
        "headphones": D("85.00"),
        "speaker": D("85.00"),
        "kettle": D("100.00"),
    }


# Windows ------------------------------------------------------------------------------------


def test_an_automatic_promotion_applies_only_inside_its_window() -> None:
    hour = timedelta(hours=1)
    cart = [line("a", "100.00")]

    assert price(cart, [percentage(1, "10", starts_at=AT)]).discount_total == D("10.00")
    assert price(cart, [percentage(1, "10", ends_at=AT + hour)]).discount_total == D("10.00")
    assert price(cart, [percentage(1, "10", starts_at=AT + hour)]).discount_total == 0
    assert price(cart, [percentage(1, "10", ends_at=AT)]).discount_total == 0
    assert price(cart, [percentage(1, "10", is_active=False)]).discount_total == 0


# Coupons ------------------------------------------------------------------------------------


def test_a_coupon_matches_whatever_the_case_and_spaces_the_buyer_typed() -> None:
    welcome = percentage(1, "10", code="WELCOME10")

    result = price([line("a", "100.00")], [welcome], codes=["  welcome10 "])

    assert result.discount_total == D("10.00")
    assert result.coupon_problems == ()


def test_a_coupon_promotion_applies_only_when_its_code_is_typed() -> None:
    result = price([line("a", "100.00")], [percentage(1, "10", code="WELCOME10")])

    assert result.discount_total == 0


def test_an_unknown_code_is_not_found_and_reported_as_typed() -> None:
    result = price([line("a", "100.00")], [percentage(1, "10", code="SAVE")], codes=["nope "])

    assert result.coupon_problems == (("nope ", CouponProblem.NOT_FOUND),)


@pytest.mark.parametrize(
    "window",
    [
        {"ends_at": AT},
        {"starts_at": AT + timedelta(days=14)},
        {"is_active": False},
    ],
    ids=["ended", "not-started", "paused"],
)
def test_a_coupon_outside_its_window_is_expired(window: dict[str, object]) -> None:
    coupon = percentage(1, "10", code="EARLY", **window)

    result = price([line("a", "100.00")], [coupon], codes=["early"])

    assert problems(result) == {"early": CouponProblem.EXPIRED}
    assert result.discount_total == 0


@pytest.mark.parametrize(
    ("uses", "expected"),
    [
        (CouponUsage(total_uses=4, customer_uses=1), None),
        (CouponUsage(total_uses=5, customer_uses=0), CouponProblem.USAGE_LIMIT_REACHED),
        (CouponUsage(total_uses=3, customer_uses=2), CouponProblem.USAGE_LIMIT_REACHED),
    ],
    ids=["under-both", "total-reached", "customer-reached"],
)
def test_a_coupon_whose_limit_is_reached_is_refused(
    uses: CouponUsage, expected: CouponProblem | None
) -> None:
    coupon = percentage(1, "10", code="SAVE", usage_limit=5, per_customer_limit=2)

    result = price([line("a", "100.00")], [coupon], codes=["SAVE"], usage={1: uses})

    assert problems(result).get("SAVE") == expected
    assert result.discount_total == (0 if expected else D("10.00"))


def test_an_expired_coupon_is_expired_even_when_used_up() -> None:
    coupon = percentage(1, "10", code="OLD", ends_at=AT, usage_limit=1)

    result = price([line("a", "9.00")], [coupon], ["OLD"], {1: CouponUsage(1, 1)})

    assert problems(result) == {"OLD": CouponProblem.EXPIRED}


@pytest.mark.parametrize(
    "coupon",
    [
        fixed(1, "100", code="C", scope=PromotionScope.CATEGORIES, categories=[42]),
        fixed(1, "100", code="C", scope=PromotionScope.PRODUCTS, products=[42]),
        promotion(1, kind=PromotionKind.THRESHOLD, threshold="500", amount="50", code="C"),
        promotion(1, kind=PromotionKind.BUY_X_GET_Y, buy=2, get=1, code="C"),
    ],
    ids=["other-category", "other-product", "threshold-not-met", "too-few-units"],
)
def test_a_coupon_that_saves_nothing_on_this_cart_is_not_applicable(coupon: Promotion) -> None:
    result = price([line("a", "100.00", 2, sku=1, categories=(3,))], [coupon], codes=["C"])

    assert problems(result) == {"C": CouponProblem.NOT_APPLICABLE}
    assert result.applied_promotion_ids == ()


def test_an_empty_cart_makes_every_coupon_not_applicable() -> None:
    result = price([], [percentage(1, "10", code="C")], codes=["C"])

    assert (result.subtotal, result.total, result.lines) == (D("0.00"), D("0.00"), ())
    assert problems(result) == {"C": CouponProblem.NOT_APPLICABLE}


def test_a_code_typed_twice_counts_once() -> None:
    result = price([line("a", "100.00")], [fixed(1, "10", code="TEN")], ["TEN", "ten", "x", "x"])

    assert result.discount_total == D("10.00")
    assert result.coupon_problems == (("x", CouponProblem.NOT_FOUND),)


def test_every_problem_is_reported_in_the_order_typed() -> None:
    coupons = [
        fixed(1, "10", code="OLD", ends_at=AT),
        fixed(2, "10", code="FULL", usage_limit=1),
        fixed(3, "10", code="FAR", scope=PromotionScope.PRODUCTS, products=[99]),
        fixed(4, "10", code="GOOD"),
    ]

    typed = ["FAR", "GOOD", "NOPE", "FULL", "OLD"]

    result = price([line("a", "100.00")], coupons, typed, {2: CouponUsage(1, 0)})

    assert result.coupon_problems == (
        ("FAR", CouponProblem.NOT_APPLICABLE),
        ("NOPE", CouponProblem.NOT_FOUND),
        ("FULL", CouponProblem.USAGE_LIMIT_REACHED),
        ("OLD", CouponProblem.EXPIRED),
    )
    assert result.applied_promotion_ids == (4,)


# Stacking -----------------------------------------------------------------------------------


def test_stacked_promotions_apply_by_priority_on_what_is_left() -> None:
    ten_off = fixed(1, "10", priority=1)
    half_off = percentage(2, "50", priority=5)

    result = price([line("a", "100.00")], [ten_off, half_off])

    assert result.applied_promotion_ids == (2, 1)
    assert discounts(result) == {"a": ((2, D("50.00")), (1, D("10.00")))}
    assert result.total == D("40.00")


def test_equal_priorities_apply_in_id_order() -> None:
    result = price([line("a", "100.00")], [percentage(2, "50"), fixed(1, "10")])

    assert result.applied_promotion_ids == (1, 2)
    assert result.total == D("45.00")


def test_stacked_discounts_never_take_a_line_below_zero() -> None:
    stack = [fixed(1, "80", priority=3), fixed(2, "80", priority=2), percentage(3, "50")]

    result = price([line("a", "60.00"), line("b", "40.00")], stack)

    assert result.total == D("0.00")
    assert all(r.total == 0 for r in result.lines)
    assert result.applied_promotion_ids == (1, 2)


def test_a_stacked_coupon_left_with_nothing_to_discount_is_not_applicable() -> None:
    everything_free = percentage(1, "100", priority=10)
    coupon = fixed(2, "10", code="TEN")

    result = price([line("a", "100.00")], [everything_free, coupon], ["TEN"])

    assert result.applied_promotion_ids == (1,)
    assert problems(result) == {"TEN": CouponProblem.NOT_APPLICABLE}


def test_a_coupon_stacks_with_automatic_promotions() -> None:
    audio = percentage(1, "15", priority=30)
    welcome = percentage(2, "10", code="WELCOME10", priority=10)

    result = price([line("a", "200.00")], [audio, welcome], ["WELCOME10"])

    assert result.applied_promotion_ids == (1, 2)
    assert result.discount_total == D("30.00") + D("17.00")
    assert result.coupon_problems == ()


# Exclusivity --------------------------------------------------------------------------------


def test_an_exclusive_promotion_that_saves_more_applies_alone() -> None:
    vip = percentage(1, "20", code="VIP20", exclusive=True, priority=100)
    automatic = percentage(2, "5")

    result = price([line("a", "100.00")], [vip, automatic], ["VIP20"])

    assert result.applied_promotion_ids == (1,)
    assert result.total == D("80.00")
    assert result.coupon_problems == ()


def test_a_coupon_that_loses_to_an_exclusive_promotion_is_not_combinable() -> None:
    exclusive_sale = percentage(1, "20", exclusive=True)
    welcome = percentage(2, "10", code="WELCOME10")
    automatic = percentage(3, "5")

    result = price([line("a", "100.00")], [exclusive_sale, welcome, automatic], ["WELCOME10"])

    # The stack would save 10 + 4.50; the exclusive sale saves 20.
    assert result.applied_promotion_ids == (1,)
    assert problems(result) == {"WELCOME10": CouponProblem.NOT_COMBINABLE}


def test_an_exclusive_coupon_that_saves_less_than_the_stack_is_not_combinable() -> None:
    vip = percentage(1, "20", code="VIP20", exclusive=True, priority=100)
    audio = percentage(2, "15", priority=30)
    welcome = percentage(3, "10", code="WELCOME10")

    result = price([line("a", "100.00")], [vip, audio, welcome], ["VIP20", "WELCOME10"])

    # 15 + 8.50 = 23.50 beats 20.
    assert result.applied_promotion_ids == (2, 3)
    assert result.discount_total == D("23.50")
    assert problems(result) == {"VIP20": CouponProblem.NOT_COMBINABLE}


def test_on_a_tie_the_stack_wins_and_the_exclusive_coupon_is_kept_unused() -> None:
    vip = percentage(1, "20", code="VIP20", exclusive=True)
    automatic = fixed(2, "20")

    result = price([line("a", "100.00")], [vip, automatic], ["VIP20"])

    assert result.applied_promotion_ids == (2,)
    assert problems(result) == {"VIP20": CouponProblem.NOT_COMBINABLE}


def test_of_two_equal_exclusive_coupons_the_second_typed_is_not_combinable() -> None:
    first = percentage(7, "20", code="FIRST", exclusive=True)
    second = percentage(3, "20", code="SECOND", exclusive=True)

    result = price([line("a", "100.00")], [first, second], ["second", "first"])

    assert result.applied_promotion_ids == (3,)
    assert result.coupon_problems == (("first", CouponProblem.NOT_COMBINABLE),)


def test_of_two_exclusive_coupons_the_better_one_applies_whatever_the_order() -> None:
    small = percentage(1, "10", code="SMALL", exclusive=True)
    big = percentage(2, "30", code="BIG", exclusive=True)

    result = price([line("a", "100.00")], [small, big], ["SMALL", "BIG"])

    assert result.applied_promotion_ids == (2,)
    assert result.coupon_problems == (("SMALL", CouponProblem.NOT_COMBINABLE),)


def test_an_exclusive_automatic_promotion_that_saves_less_is_simply_not_applied() -> None:
    exclusive_sale = percentage(1, "5", exclusive=True)
    welcome = percentage(2, "10", code="WELCOME10")

    result = price([line("a", "100.00")], [exclusive_sale, welcome], ["WELCOME10"])

    assert result.applied_promotion_ids == (2,)
    assert result.coupon_problems == ()


# Inputs and the allocation helper -----------------------------------------------------------


@pytest.mark.parametrize(
    "cart",
    [
        [line("a", "1.00", 0)],
        [line("a", "-1.00")],
        [line("a", "1.00"), line("a", "2.00")],
    ],
    ids=["zero-quantity", "negative-price", "duplicate-line-id"],
)
def test_a_malformed_cart_is_a_bug_not_a_buyer_error(cart: list[CartLine]) -> None:
    with pytest.raises(ValueError):
        price(cart)


def test_allocate_discount_gives_nothing_to_zero_weights_and_refuses_too_much() -> None:
    assert allocate_discount(D("1.00"), {"a": D("0.00"), "b": D("3.00")}) == {"b": D("1.00")}
    assert allocate_discount(D("0.00"), {"a": D("3.00")}) == {}
    with pytest.raises(ValueError):
        allocate_discount(D("3.01"), {"a": D("1.00"), "b": D("2.00")})
