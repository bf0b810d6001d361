"""How a promotion hint reads to a buyer, and which coupon codes a shop lets hints name:
plain Python, no server."""

from __future__ import annotations

from decimal import Decimal

from gateway.checkout.hint_settings import PromotionHintSettings
from gateway.checkout.hints import message
from sources.pricing.hints import Missing, PromotionHint
from sources.pricing.records import PromotionKind, PromotionScope
from tests.sources.pricing.factories import promotion


def hint(missing: Missing, **kw: object) -> PromotionHint:
    values: dict[str, object] = {
        "promotion_id": 1,
        "missing": missing,
        "amount_to_add": Decimal("0.00"),
        "units_to_add": 0,
        "sku_id": None,
        "product_id": None,
        "coupon_code": None,
        "saving": Decimal("50.00"),
        **kw,
    }
    return PromotionHint(**values)  # type: ignore[arg-type]


def test_a_hint_reads_as_what_to_do_then_what_it_saves() -> None:
    audio = promotion(
        1, kind=PromotionKind.THRESHOLD, scope=PromotionScope.CATEGORIES, categories=[7]
    )
    spend = hint(Missing.SPEND, amount_to_add=Decimal("1120.00"), coupon_code="AUDIO50")
    names = {7: "Audio"}

    assert message(spend, audio, "CNY", category_names=names, product_name=None) == (
        "Add ¥1,120.00 more of Audio and enter coupon AUDIO50 to save ¥50.00"
    )
    two_get_one = promotion(2, kind=PromotionKind.BUY_X_GET_Y, buy=2, get=1)
    units = hint(Missing.UNITS, units_to_add=1, amount_to_add=Decimal("59.00"))
    assert message(units, two_get_one, "USD", category_names={}, product_name="Linen Shirt") == (
        "Add one more Linen Shirt to get one free (save $50.00)"
    )
    code = hint(Missing.COUPON, coupon_code="SAVE50")
    assert message(code, promotion(3), "CHF", category_names={}, product_name=None) == (
        "Enter coupon SAVE50 to save 50.00 CHF"
    )


def test_a_shop_chooses_which_shared_codes_hints_may_name() -> None:
    assert PromotionHintSettings().may_name("VIP20")
    listed = PromotionHintSettings(coupon_codes="save50, WELCOME10")
    assert listed.may_name("SAVE50") and listed.may_name(" welcome10 ")
    assert not listed.may_name("VIP20")
    assert not PromotionHintSettings(coupon_codes="").may_name("SAVE50")
