"""A cart's promotion hints (凑单) and its lines' promotions not applied, from the engine's
own verdict on the cart (sources/pricing/hints.py), worded for the buyer.

The wording is English with the currency's sign ("Add ¥120.00 more of Audio to save
¥50.00"); a storefront that speaks another language composes its own from the hint's
fields (missing, amountToAdd, unitsToAdd, couponCode, saving).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sources.pricing.hints import Missing, NotAppliedReason, PromotionHint
from sources.pricing.hints import not_applied as engine_not_applied
from sources.pricing.hints import promotion_hints as engine_hints
from sources.pricing.records import Promotion, PromotionScope

from .hint_settings import PromotionHintSettings
from .pricing import CartPricing
from .snapshot import CartSnapshot

SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def hints(
    snapshot: CartSnapshot, pricing: CartPricing, settings: PromotionHintSettings
) -> list[PromotionHint]:
    if pricing.engine_result is None:
        return []
    return engine_hints(
        pricing.engine_lines,
        promotions=snapshot.promotions,
        coupon_codes=snapshot.cart.coupon_codes,
        usage=snapshot.coupon_usage,
        at=snapshot.now,
        result=pricing.engine_result,
        max_shortfall=settings.max_shortfall,
        limit=settings.limit,
        may_name=settings.may_name,
    )


def not_applied(
    snapshot: CartSnapshot, pricing: CartPricing
) -> dict[int, list[tuple[int, NotAppliedReason]]]:
    """Per cart line id; a line the engine could not price (validation says why) has none."""
    if pricing.engine_result is None:
        return {}
    found = engine_not_applied(
        pricing.engine_lines,
        promotions=snapshot.promotions,
        result=pricing.engine_result,
        at=snapshot.now,
    )
    return {int(line_id): reasons for line_id, reasons in found.items()}


def money(amount: Decimal, currency: str) -> str:
    sign = SIGNS.get(currency)
    return f"{sign}{amount:,.2f}" if sign else f"{amount:,.2f} {currency}"


def message(
    hint: PromotionHint,
    promotion: Promotion,
    currency: str,
    *,
    category_names: Mapping[int, str],
    product_name: str | None,
) -> str:
    """The hint in the buyer's words: what to do, then what it saves."""
    steps: list[str] = []
    if hint.missing is Missing.SPEND:
        of = _of(promotion, category_names)
        steps.append(f"add {money(hint.amount_to_add, currency)} more{of}")
    elif hint.missing is Missing.UNITS:
        what = f" {product_name}" if product_name else ""
        count = "one" if hint.units_to_add == 1 else str(hint.units_to_add)
        steps.append(f"add {count} more{what}")
    if hint.coupon_code is not None:
        steps.append(f"enter coupon {hint.coupon_code}")
    gain = f"save {money(hint.saving, currency)}"
    if hint.missing is Missing.UNITS:
        free = promotion.get_quantity or 1
        gain = f"get {'one' if free == 1 else free} free (save {money(hint.saving, currency)})"
    text = " and ".join(steps) + f" to {gain}"
    return text[0].upper() + text[1:]


def _of(promotion: Promotion, category_names: Mapping[int, str]) -> str:
    if promotion.scope is PromotionScope.CATEGORIES:
        names = sorted(category_names[c] for c in promotion.category_ids if c in category_names)
        return f" of {' or '.join(names)}" if names else ""
    if promotion.scope is PromotionScope.PRODUCTS:
        return " of the selected products"
    return ""
