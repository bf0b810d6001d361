"""What a cart costs now: the promotion engine's discounts, shipping and the deposit due.

Shipping: a rate per delivery region, free when the discounted goods reach the free-shipping
threshold, and none for a cart of services only. Presale lines: ``deposit_due`` is the sum
of their deposits (the balance is due when the presale ends); null without presale lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sources.catalog.records import ProductKind
from sources.common.fast_init import fast_inits
from sources.common.money import quantize
from sources.pricing.engine import CartLine as EngineLine
from sources.pricing.engine import CouponProblem, PricingResult, price_cart
from sources.pricing.records import Promotion

from .snapshot import CartSnapshot

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_id: int
    sku_id: int
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    discounts: tuple[tuple[int, Decimal], ...]
    total: Decimal


@dataclass(frozen=True, slots=True)
class CartPricing:
    currency: str
    lines: dict[int, PricedLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    total: Decimal
    deposit_due: Decimal | None
    coupon_problems: tuple[tuple[str, CouponProblem], ...]
    promotions: dict[int, Promotion]
    needs_shipping: bool
    # What the engine was given and said, for the promotion hints (gateway/checkout/hints.py).
    engine_lines: tuple[EngineLine, ...] = ()
    engine_result: PricingResult | None = None


def needs_shipping(snapshot: CartSnapshot) -> bool:
    """Physical goods (bundles include them) travel; services alone do not."""
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        if product is not None and product.kind is not ProductKind.SERVICE:
            return True
    return False


def price(snapshot: CartSnapshot, *, free_shipping_over: Decimal) -> CartPricing:
    engine_lines: list[EngineLine] = []
    unit_prices: dict[int, Decimal] = {}
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        price_ = snapshot.prices.get(line.sku_id)
        if product is None or price_ is None or line.quantity <= 0:
            continue  # unpriceable; validation says why
        unit_prices[line.id] = price_.sale_amount
        engine_lines.append(
            EngineLine(
                line_id=str(line.id),
                sku_id=line.sku_id,
                product_id=product.id,
                category_path=snapshot.category_path(product),
                unit_price=price_.sale_amount,
                quantity=line.quantity,
            )
        )
    result = price_cart(
        engine_lines,
        promotions=snapshot.promotions,
        coupon_codes=snapshot.cart.coupon_codes,
        usage=snapshot.coupon_usage,
        at=snapshot.now,
    )
    by_id = {e.line_id: e for e in engine_lines}
    priced = {
        int(r.line_id): PricedLine(
            line_id=int(r.line_id),
            sku_id=by_id[r.line_id].sku_id,
            quantity=by_id[r.line_id].quantity,
            unit_price=unit_prices[int(r.line_id)],
            subtotal=r.subtotal,
            discounts=r.discounts,
            total=r.total,
        )
        for r in result.lines
    }
    for line in snapshot.cart.lines:  # unpriceable lines show at zero
        priced.setdefault(
            line.id, PricedLine(line.id, line.sku_id, line.quantity, ZERO, ZERO, (), ZERO)
        )

    shipping = ZERO
    physical = needs_shipping(snapshot)
    region = snapshot.region
    if physical and region is not None and region.is_deliverable and region.shipping_rate:
        if result.total < free_shipping_over:
            shipping = quantize(region.shipping_rate)

    deposits = [
        quantize(p.presale.deposit * line.quantity)
        for line in snapshot.cart.lines
        if (p := snapshot.product_of(line.sku_id)) is not None and p.presale is not None
    ]
    return CartPricing(
        currency=snapshot.currency,
        lines=priced,
        subtotal=result.subtotal,
        discount_total=result.discount_total,
        shipping_total=shipping,
        total=quantize(result.total + shipping),
        deposit_due=quantize(sum(deposits, ZERO)) if deposits else None,
        coupon_problems=result.coupon_problems,
        promotions={p.id: p for p in snapshot.promotions},
        needs_shipping=physical,
        engine_lines=tuple(engine_lines),
        engine_result=result,
    )


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
