"""A cart's promotion hints (凑单) and its lines' promotions not applied, from the engine's
own verdict on the cart (sources/pricing/hints.py), worded for the buyer.

The wording is English with the currency's sign ("Add ¥120.00 more of Audio to save
¥50.00"); a storefront that speaks another language composes its own from the hint's
fields (missing, amountToAdd, unitsToAdd, couponCode, saving).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sources.pricing.engine import CouponUsage, PricingResult, price_cart
from sources.pricing.hints import Missing, NotAppliedReason, PromotionHint
from sources.pricing.hints import not_applied as engine_not_applied
from sources.pricing.hints import promotion_hints as engine_hints
from sources.pricing.records import Promotion, PromotionScope

from ..sources import Sources
from .evaluate import CartEvaluation
from .hint_settings import PromotionHintSettings
from .pricing import CartPricing
from .snapshot import CartSnapshot

SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


@dataclass(frozen=True, slots=True)
class HintView:
    """The cart priced again by the engine with every promotion a hint can name: the
    shared coupons and the promotions near their window, which a checkout never reads."""

    snapshot: CartSnapshot
    pricing: CartPricing
    promotions: dict[int, Promotion]
    usage: dict[int, CouponUsage]
    result: PricingResult | None


async def load_hint_view(
    sources: Sources, evaluation: CartEvaluation, settings: PromotionHintSettings
) -> HintView:
    """Two reads per cart, whatever its lines: the promotions (one call) and their coupons'
    uses (one call, when there are coupons); the cart's own reads are reused."""
    snapshot, pricing = evaluation.snapshot, evaluation.pricing
    promotions = await sources.pricing.promotions_for_checkout(
        snapshot.cart.coupon_codes, snapshot.now, hint_days=settings.horizon_days
    )
    coupon_ids = [p.id for p in promotions if p.coupon_code is not None]
    owner = snapshot.customer.id if snapshot.customer else snapshot.cart.customer_id
    usage = await sources.pricing.coupon_usage(coupon_ids, owner) if coupon_ids else {}
    result = None
    if pricing.engine_result is not None:
        result = price_cart(
            pricing.engine_lines,
            promotions=promotions,
            coupon_codes=snapshot.cart.coupon_codes,
            usage=usage,
            at=snapshot.now,
        )
    return HintView(snapshot, pricing, {p.id: p for p in promotions}, usage, result)


def hints(view: HintView, settings: PromotionHintSettings) -> list[PromotionHint]:
    if view.result is None:
        return []
    return engine_hints(
        view.pricing.engine_lines,
        promotions=list(view.promotions.values()),
        coupon_codes=view.snapshot.cart.coupon_codes,
        usage=view.usage,
        at=view.snapshot.now,
        result=view.result,
        max_shortfall=settings.max_shortfall,
        limit=settings.limit,
        may_name=settings.may_name,
    )


def not_applied(view: HintView) -> dict[int, list[tuple[int, NotAppliedReason]]]:
    """Per cart line id; a line the engine could not price (validation says why) has none."""
    if view.result is None:
        return {}
    found = engine_not_applied(
        view.pricing.engine_lines,
        promotions=list(view.promotions.values()),
        result=view.result,
        at=view.snapshot.now,
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
