"""Promotion hints (凑单) and why a line gets nothing, from the engine's own verdict: a few
cases a buyer recognises, then properties over random carts (hypothesis): doing what a hint
asks applies its promotion and never costs the buyer more than what they added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sources.pricing.engine import (
    CartLine,
    CouponUsage,
    PricingResult,
    PromotionOutcome,
    price_cart,
    targeted_lines,
)
from sources.pricing.hints import (
    Missing,
    NotAppliedReason,
    PromotionHint,
    not_applied,
    promotion_hints,
)
from sources.pricing.records import Promotion, PromotionKind, PromotionScope

from .factories import AT, fixed, line, percentage, promotion
from .test_engine_properties import carts, cents, promotions

HALF = Decimal("0.5")
PROPERTY = settings(max_examples=100, deadline=None)


def priced(
    lines: Sequence[CartLine],
    promos: Sequence[Promotion],
    codes: Sequence[str] = (),
    usage: dict[int, CouponUsage] | None = None,
) -> PricingResult:
    return price_cart(lines, promotions=promos, coupon_codes=codes, usage=usage or {}, at=AT)


def hints_for(
    lines: Sequence[CartLine],
    promos: Sequence[Promotion],
    codes: Sequence[str] = (),
    usage: dict[int, CouponUsage] | None = None,
    *,
    max_shortfall: Decimal = HALF,
    limit: int = 5,
    may_name: object = None,
) -> list[PromotionHint]:
    result = priced(lines, promos, codes, usage)
    return promotion_hints(
        lines,
        promotions=promos,
        coupon_codes=codes,
        usage=usage or {},
        at=AT,
        result=result,
        max_shortfall=max_shortfall,
        limit=limit,
        **({"may_name": may_name} if may_name is not None else {}),  # type: ignore[arg-type]
    )


def reasons(
    lines: Sequence[CartLine],
    promos: Sequence[Promotion],
    codes: Sequence[str] = (),
    usage: dict[int, CouponUsage] | None = None,
) -> dict[str, list[tuple[int, NotAppliedReason]]]:
    result = priced(lines, promos, codes, usage)
    return not_applied(lines, promotions=promos, result=result, at=AT)


def threshold(id: int, spend: str, save: str, **kw: object) -> Promotion:
    return promotion(id, kind=PromotionKind.THRESHOLD, threshold=spend, amount=save, **kw)  # type: ignore[arg-type]


def buy_get(id: int, buy: int, get: int, **kw: object) -> Promotion:
    return promotion(id, kind=PromotionKind.BUY_X_GET_Y, buy=buy, get=get, **kw)  # type: ignore[arg-type]


# -- cases -------------------------------------------------------------------------------


def test_a_cart_short_of_a_threshold_is_told_how_much_more_to_spend() -> None:
    cart = [line("1", "300.00"), line("2", "80.00")]
    spend_500 = threshold(1, "500", "50")

    [hint] = hints_for(cart, [spend_500])

    assert (hint.missing, hint.amount_to_add, hint.saving) == (
        Missing.SPEND,
        Decimal("120.00"),
        Decimal("50.00"),
    )
    assert hint.coupon_code is None
    assert reasons(cart, [spend_500]) == {
        "1": [(1, NotAppliedReason.THRESHOLD_NOT_MET)],
        "2": [(1, NotAppliedReason.THRESHOLD_NOT_MET)],
    }
    # Further than the configured fraction away: not "nearly".
    assert hints_for(cart, [spend_500], max_shortfall=Decimal("0.2")) == []


def test_a_threshold_of_one_category_counts_only_that_category() -> None:
    cart = [line("1", "300.00", categories=(7, 3)), line("2", "400.00", categories=(9,))]
    audio = threshold(1, "420", "50", scope=PromotionScope.CATEGORIES, categories=[3])

    [hint] = hints_for(cart, [audio])

    assert hint.amount_to_add == Decimal("120.00")
    assert reasons(cart, [audio]) == {"1": [(1, NotAppliedReason.THRESHOLD_NOT_MET)], "2": []}


def test_one_more_unit_gets_one_free() -> None:
    cart = [line("1", "59.00", 2, sku=5), line("2", "10.00", 1, sku=6)]
    two_get_one = buy_get(1, 2, 1)

    [hint] = hints_for(cart, [two_get_one])

    assert (hint.missing, hint.units_to_add, hint.sku_id) == (Missing.UNITS, 1, 5)
    assert (hint.amount_to_add, hint.saving) == (Decimal("59.00"), Decimal("59.00"))
    # SKU 6 lacks two of three units: more than half of a set, not nearly there.
    assert reasons(cart, [two_get_one])["2"] == [(1, NotAppliedReason.QUANTITY_NOT_MET)]


def test_a_sku_short_of_its_set_is_told_while_another_sku_gets_its_free_unit() -> None:
    cart = [line("1", "20.00", 3, sku=5), line("2", "30.00", 2, sku=6)]
    two_get_one = buy_get(1, 2, 1)

    assert reasons(cart, [two_get_one]) == {
        "1": [],
        "2": [(1, NotAppliedReason.QUANTITY_NOT_MET)],
    }
    [hint] = hints_for(cart, [two_get_one])
    assert (hint.sku_id, hint.units_to_add, hint.saving) == (6, 1, Decimal("30.00"))


def test_a_coupon_not_entered_is_hinted_by_its_code_unless_the_shop_keeps_it_quiet() -> None:
    cart = [line("1", "200.00")]
    welcome = percentage(1, "10", code="WELCOME10")

    [hint] = hints_for(cart, [welcome])

    assert (hint.missing, hint.coupon_code, hint.saving) == (
        Missing.COUPON,
        "WELCOME10",
        Decimal("20.00"),
    )
    assert hint.amount_to_add == 0
    assert reasons(cart, [welcome]) == {"1": [(1, NotAppliedReason.COUPON_REQUIRED)]}
    assert hints_for(cart, [welcome], may_name=lambda code: code != "WELCOME10") == []


def test_a_threshold_coupon_asks_for_the_spend_and_the_code() -> None:
    cart = [line("1", "400.00")]
    save_50 = threshold(1, "500", "50", code="SAVE50")

    [hint] = hints_for(cart, [save_50])

    assert (hint.missing, hint.amount_to_add, hint.coupon_code) == (
        Missing.SPEND,
        Decimal("100.00"),
        "SAVE50",
    )
    # Typed already: the spend alone is missing, and the line says so.
    [typed] = hints_for(cart, [save_50], ["save50"])
    assert (typed.missing, typed.coupon_code) == (Missing.SPEND, None)
    assert reasons(cart, [save_50], ["save50"]) == {"1": [(1, NotAppliedReason.THRESHOLD_NOT_MET)]}


def test_a_used_up_coupon_is_never_hinted() -> None:
    cart = [line("1", "200.00")]
    once = percentage(1, "10", code="ONCE", per_customer_limit=1)
    used = {1: CouponUsage(total_uses=1, customer_uses=1)}

    assert hints_for(cart, [once], usage=used) == []
    assert reasons(cart, [once], usage=used) == {"1": [(1, NotAppliedReason.USAGE_LIMIT_REACHED)]}


def test_windows_and_the_pause_switch_are_told_apart() -> None:
    cart = [line("1", "100.00")]
    soon = percentage(1, "10", starts_at=AT + timedelta(days=3))
    over = percentage(2, "10", ends_at=AT)
    paused = percentage(3, "10", code="PAUSED", is_active=False)

    assert reasons(cart, [soon, over, paused], ["paused"])["1"] == [
        (1, NotAppliedReason.NOT_STARTED),
        (2, NotAppliedReason.ENDED),
        (3, NotAppliedReason.PAUSED),
    ]
    assert hints_for(cart, [soon, over, paused], ["paused"]) == []


def test_an_exclusive_promotion_that_saves_more_excludes_the_others() -> None:
    cart = [line("1", "100.00")]
    small = percentage(1, "5")
    exclusive = percentage(2, "20", exclusive=True)

    assert reasons(cart, [small, exclusive]) == {"1": [(1, NotAppliedReason.EXCLUDED_BY_BETTER)]}


def test_a_promotion_left_nothing_to_discount_says_so() -> None:
    cart = [line("1", "100.00")]
    everything = percentage(1, "100", priority=5)
    ten_off = fixed(2, "10")

    assert reasons(cart, [everything, ten_off]) == {"1": [(2, NotAppliedReason.NOTHING_LEFT)]}


def test_hints_are_one_per_promotion_largest_saving_first_and_few() -> None:
    cart = [line("1", "300.00")]
    promos = [
        threshold(1, "400", "20"),
        threshold(2, "350", "40"),
        percentage(3, "10", code="TEN"),
        fixed(4, "5", code="FIVE"),
    ]

    found = hints_for(cart, promos, limit=3)

    assert [(h.promotion_id, h.saving) for h in found] == [
        (2, Decimal("40.00")),
        (3, Decimal("30.00")),
        (1, Decimal("20.00")),
    ]


def test_an_exclusive_promotion_is_worth_only_what_it_adds() -> None:
    """Unlocking it replaces the stack: the hint's saving is the difference it makes."""
    cart = [line("1", "450.00")]
    stack = percentage(1, "8")
    exclusive = threshold(2, "500", "50", exclusive=True)

    [hint] = hints_for(cart, [stack, exclusive])

    # At 500.00 the stack saves 40.00 and the exclusive one 50.00: it adds 10.00.
    assert (hint.promotion_id, hint.saving) == (2, Decimal("10.00"))


# -- properties --------------------------------------------------------------------------

Scenario = tuple[list[CartLine], list[Promotion], list[str], dict[int, CouponUsage]]


@st.composite
def near_misses(draw: st.DrawFn) -> Scenario:
    """Random carts and promotions, thresholds placed a little above what they cover."""
    lines = draw(carts())
    promos = []
    for pid in range(1, draw(st.integers(1, 5)) + 1):
        p = draw(promotions(pid))
        if p.kind is PromotionKind.THRESHOLD:
            covered = sum(
                (x.unit_price * x.quantity for x in targeted_lines(p, lines)), Decimal("0.00")
            )
            p = replace(p, threshold=covered + draw(cents(1, 60_000)))
        promos.append(p)
    codes = [p.coupon_code for p in promos if p.coupon_code and draw(st.booleans())]
    usage = {p.id: CouponUsage(draw(st.integers(0, 5)), draw(st.integers(0, 1))) for p in promos}
    return lines, promos, codes, usage


def after_hint(
    hint: PromotionHint, lines: Sequence[CartLine], promo: Promotion, codes: Sequence[str]
) -> tuple[list[CartLine], list[str]]:
    """The cart after the buyer did what the hint says: the spend on the promotion's first
    product or category (any goods for an order-wide one), the units of the SKU it names,
    the code it names."""
    added: list[CartLine] = []
    if hint.missing is Missing.SPEND:
        product = min(promo.product_ids) if promo.scope is PromotionScope.PRODUCTS else 99
        path = (min(promo.category_ids),) if promo.scope is PromotionScope.CATEGORIES else ()
        added.append(CartLine("zz", 999, product, path, hint.amount_to_add, 1))
    if hint.missing is Missing.UNITS:
        same = next(x for x in lines if x.sku_id == hint.sku_id)
        added.append(replace(same, line_id="zz", quantity=hint.units_to_add))
        assert hint.amount_to_add == same.unit_price * hint.units_to_add
    typed = [*codes, hint.coupon_code] if hint.coupon_code else list(codes)
    return [*lines, *added], typed


@PROPERTY
@given(near_misses())
def test_doing_what_a_hint_asks_applies_its_promotion_and_never_costs_more(
    scenario: Scenario,
) -> None:
    lines, promos, codes, usage = scenario
    before = priced(lines, promos, codes, usage)
    found = hints_for(lines, promos, codes, usage, limit=10)

    assert [h.saving for h in found] == sorted((h.saving for h in found), reverse=True)
    assert len({h.promotion_id for h in found}) == len(found)
    by_id = {p.id: p for p in promos}
    for hint in found:
        assert hint.saving > 0
        assert hint.promotion_id not in before.applied_promotion_ids or (
            by_id[hint.promotion_id].kind is PromotionKind.BUY_X_GET_Y
        )
        cart, typed = after_hint(hint, lines, by_id[hint.promotion_id], codes)
        after = priced(cart, promos, typed, usage)
        assert hint.promotion_id in after.applied_promotion_ids
        assert after.total <= before.total + hint.amount_to_add
        if hint.missing is Missing.COUPON:  # the total drops by exactly what it said
            assert after.total == before.total - hint.saving


@PROPERTY
@given(near_misses())
def test_every_promotion_has_a_verdict_and_a_line_lists_only_those_that_gave_it_nothing(
    scenario: Scenario,
) -> None:
    lines, promos, codes, usage = scenario
    result = priced(lines, promos, codes, usage)
    found = reasons(lines, promos, codes, usage)

    # Every promotion has a verdict, and APPLIED is exactly the ones that saved something.
    assert set(result.outcomes) == {p.id for p in promos}
    applied = {pid for pid, o in result.outcomes.items() if o is PromotionOutcome.APPLIED}
    assert applied == set(result.applied_promotion_ids)
    by_id = {p.id: p for p in promos}
    for result_line in result.lines:
        listed = [pid for pid, _ in found[result_line.line_id]]
        got = {pid for pid, _ in result_line.discounts}
        assert not got & set(listed)
        assert len(listed) == len(set(listed))
        source = next(x for x in lines if x.line_id == result_line.line_id)
        assert all(by_id[pid].targets(source.product_id, source.category_path) for pid in listed)
