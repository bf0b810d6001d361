"""Promotion hints (凑单): why a promotion does not apply to a line, and what a buyer who
nearly qualifies is missing, worked out by the promotion engine itself.

Pure, like the engine: the caller passes the cart's lines, the promotions, the typed codes,
the coupons' usage and the engine's own :class:`~sources.pricing.engine.PricingResult` for
that cart. Nothing here re-decides a rule: the reasons come from the result's ``outcomes``,
the shortfalls from :func:`~sources.pricing.engine.threshold_shortfall` and
:func:`~sources.pricing.engine.units_to_next_free`, and every hint is checked by pricing the
cart as it would be after the buyer did what the hint asks (:func:`price_cart` again).

Why not, per line
=================
A promotion is listed on a line it targets when it gave that line nothing, with the first
reason that holds, in the engine's own order: NOT_STARTED, ENDED or PAUSED (not live);
USAGE_LIMIT_REACHED (a coupon used up, in total or by this customer); COUPON_REQUIRED (a
coupon whose code the cart does not hold); QUANTITY_NOT_MET (buy X get Y: fewer than X + Y
units of this line's SKU, though other SKUs may get theirs); THRESHOLD_NOT_MET (the goods it
covers are below its threshold); EXCLUDED_BY_BETTER (it cannot combine with the promotions
the engine chose, and they save more); NOTHING_LEFT (the promotions applied before it left
this line at zero). A promotion that applied to the cart is not listed on its other lines
(a line's share of a discount can round to zero cents), nor is one the buyer could do
nothing about (a promotion that cannot discount a free line).

What is missing
===============
A promotion *nearly qualifies* when one of these unlocks it:

- SPEND: a THRESHOLD promotion whose covered goods fall short by at most ``max_shortfall``
  of its threshold (0.5: the cart is at least half-way): add that amount of them;
- UNITS: a BUY_X_GET_Y promotion with a SKU that has no free unit yet and lacks at most
  ``max_shortfall`` of the X + Y units a free one takes: add those units of that SKU;
- COUPON: a live coupon not used up, whose code is not in the cart and may be named
  (``may_name``): enter it, after adding the above for a threshold or buy X get Y coupon.

Each candidate is priced as the cart would be after it (the missing spend as one line of the
promotion's first product, or of its first category, or of any goods for an order-wide one,
at exactly the shortfall); it becomes a hint only when the engine then applies the promotion
and it saves the buyer something more. Its ``saving`` is what the promotion is worth in that
cart (the total without it minus the total with it, so an exclusive promotion that would
displace others is worth only what it adds) less what it is worth already (a buy X get Y
that gives other SKUs their free units). Hints are sorted by saving, largest first (then by
promotion id), one per promotion, at most ``limit``.

The promise is for the goods the engine priced: spending the shortfall on another of the
promotion's products can meet other promotions too (an exclusive one on that product may
then save more), and never costs the buyer more than what they added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from sources.common.money import CENT

from .engine import (
    CartLine,
    CouponUsage,
    PricingResult,
    PromotionOutcome,
    coupon_key,
    free_units,
    lines_by_sku,
    price_cart,
    targeted_lines,
    threshold_shortfall,
    units_to_next_free,
)
from .records import Promotion, PromotionKind, PromotionScope

ZERO = Decimal("0.00")
HINT_LINE = "~hint"  # the id of the line a SPEND or UNITS hint adds (sorts after digits)
HINT_SKU = -1  # the SKU of a SPEND hint's line: a new one, never pooled with the cart's


class NotAppliedReason(StrEnum):
    """Why a promotion gave a line nothing (see the module docstring)."""

    NOT_STARTED = "NOT_STARTED"
    ENDED = "ENDED"
    PAUSED = "PAUSED"
    USAGE_LIMIT_REACHED = "USAGE_LIMIT_REACHED"
    COUPON_REQUIRED = "COUPON_REQUIRED"
    QUANTITY_NOT_MET = "QUANTITY_NOT_MET"
    THRESHOLD_NOT_MET = "THRESHOLD_NOT_MET"
    EXCLUDED_BY_BETTER = "EXCLUDED_BY_BETTER"
    NOTHING_LEFT = "NOTHING_LEFT"


class Missing(StrEnum):
    """What a hint asks the buyer to add."""

    SPEND = "SPEND"
    UNITS = "UNITS"
    COUPON = "COUPON"


@dataclass(frozen=True, slots=True)
class PromotionHint:
    promotion_id: int
    missing: Missing
    amount_to_add: Decimal  # the goods to add, at their sale price; zero for COUPON
    units_to_add: int  # UNITS: of ``sku_id``; else 0
    sku_id: int | None  # UNITS: the SKU to add units of
    product_id: int | None  # UNITS: that SKU's product
    coupon_code: str | None  # the code to enter, when the cart does not hold it yet
    saving: Decimal  # > 0


def not_applied(
    lines: Sequence[CartLine],
    *,
    promotions: Sequence[Promotion],
    result: PricingResult,
    at: datetime,
) -> dict[str, list[tuple[int, NotAppliedReason]]]:
    """Per line id: (promotion id, reason) for every promotion that targets the line and
    gave it nothing, in the engine's application order (priority, then id)."""
    shared = {r.line_id: {pid for pid, _ in r.discounts} for r in result.lines}
    ranked = sorted({p.id: p for p in promotions}.values(), key=lambda p: (-p.priority, p.id))
    found: dict[str, list[tuple[int, NotAppliedReason]]] = {line.line_id: [] for line in lines}
    for promotion in ranked:
        outcome = result.outcomes.get(promotion.id)
        if outcome is None:
            continue
        targeted = targeted_lines(promotion, lines)
        by_sku = lines_by_sku(targeted)
        for line in targeted:
            if promotion.id in shared.get(line.line_id, ()):
                continue
            units = sum(other.quantity for other in by_sku[line.sku_id])
            reason = _reason(promotion, outcome, targeted, units, at)
            if reason is not None:
                found[line.line_id].append((promotion.id, reason))
    return found


def _reason(
    promotion: Promotion,
    outcome: PromotionOutcome,
    targeted: Sequence[CartLine],
    units: int,
    at: datetime,
) -> NotAppliedReason | None:
    if outcome is PromotionOutcome.NOT_LIVE:
        return NotAppliedReason(promotion.not_live_because(at) or "ENDED")
    if outcome is PromotionOutcome.USAGE_LIMIT_REACHED:
        return NotAppliedReason.USAGE_LIMIT_REACHED
    if outcome is PromotionOutcome.COUPON_NOT_ENTERED:
        return NotAppliedReason.COUPON_REQUIRED
    is_bxgy = promotion.kind is PromotionKind.BUY_X_GET_Y
    if is_bxgy and units_to_next_free(promotion, units) and not free_units(promotion, units):
        return NotAppliedReason.QUANTITY_NOT_MET
    if promotion.kind is PromotionKind.THRESHOLD and threshold_shortfall(promotion, targeted):
        return NotAppliedReason.THRESHOLD_NOT_MET
    if outcome is PromotionOutcome.NOT_COMBINABLE:
        return NotAppliedReason.EXCLUDED_BY_BETTER
    if outcome is PromotionOutcome.NOTHING_LEFT:
        return NotAppliedReason.NOTHING_LEFT
    return None  # applied elsewhere, or nothing the buyer can act on


def promotion_hints(
    lines: Sequence[CartLine],
    *,
    promotions: Sequence[Promotion],
    coupon_codes: Sequence[str],
    usage: Mapping[int, CouponUsage],
    at: datetime,
    result: PricingResult,
    max_shortfall: Decimal,
    limit: int,
    may_name: Callable[[str], bool] = lambda code: True,
) -> list[PromotionHint]:
    """What the buyer is missing for each promotion they nearly qualify for, best saving
    first (see the module docstring)."""
    if limit <= 0:
        return []
    pricing = _Pricing(lines, promotions, coupon_codes, usage, at, result)
    hints: list[PromotionHint] = []
    for promotion in sorted({p.id: p for p in promotions}.values(), key=lambda p: p.id):
        outcome = result.outcomes.get(promotion.id)
        needs_code = outcome is PromotionOutcome.COUPON_NOT_ENTERED
        if needs_code and not may_name(promotion.coupon_code or ""):
            continue
        if outcome not in _HINTABLE or (
            outcome is PromotionOutcome.APPLIED and promotion.kind is not PromotionKind.BUY_X_GET_Y
        ):
            continue
        tried = [
            hint
            for extra in _additions(promotion, lines, max_shortfall, needs_code)
            if (hint := pricing.hint(promotion, extra, needs_code)) is not None
        ]
        if tried:
            hints.append(max(tried, key=lambda h: (h.saving, -h.units_to_add)))
    hints.sort(key=lambda h: (-h.saving, h.promotion_id))
    return hints[:limit]


_HINTABLE = frozenset(
    {
        PromotionOutcome.COUPON_NOT_ENTERED,
        PromotionOutcome.SAVES_NOTHING,
        PromotionOutcome.APPLIED,  # BUY_X_GET_Y only: another SKU may lack its units
    }
)


def _additions(
    promotion: Promotion, lines: Sequence[CartLine], max_shortfall: Decimal, needs_code: bool
) -> list[CartLine | None]:
    """The lines that would unlock the promotion (None: nothing to add, only a code)."""
    targeted = targeted_lines(promotion, lines)
    if promotion.kind is PromotionKind.THRESHOLD and promotion.threshold is not None:
        shortfall = threshold_shortfall(promotion, targeted)
        if not shortfall:
            return [None] if needs_code else []
        if shortfall > promotion.threshold * max_shortfall:
            return []
        return [_spend_line(promotion, _up_to_cent(shortfall))]
    if promotion.kind is PromotionKind.BUY_X_GET_Y:
        additions: list[CartLine | None] = [None] if needs_code else []
        set_size = (promotion.buy_quantity or 0) + (promotion.get_quantity or 0)
        for sku_lines in lines_by_sku(targeted).values():
            units = sum(line.quantity for line in sku_lines)
            short = units_to_next_free(promotion, units)
            if short and not free_units(promotion, units) and short <= set_size * max_shortfall:
                first = min(sku_lines, key=lambda line: line.line_id)
                additions.append(replace(first, line_id=HINT_LINE, quantity=short))
        return additions
    return [None] if needs_code else []


def _spend_line(promotion: Promotion, amount: Decimal) -> CartLine:
    """One line of goods the promotion covers, worth exactly ``amount``."""
    product_id = HINT_SKU
    path: tuple[int, ...] = ()
    if promotion.scope is PromotionScope.PRODUCTS and promotion.product_ids:
        product_id = min(promotion.product_ids)
    if promotion.scope is PromotionScope.CATEGORIES and promotion.category_ids:
        path = (min(promotion.category_ids),)
    return CartLine(HINT_LINE, HINT_SKU, product_id, path, amount, 1)


def _up_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


class _Pricing:
    """The engine, run on the cart as it would be after a hint."""

    def __init__(
        self,
        lines: Sequence[CartLine],
        promotions: Sequence[Promotion],
        coupon_codes: Sequence[str],
        usage: Mapping[int, CouponUsage],
        at: datetime,
        result: PricingResult,
    ) -> None:
        self.lines, self.promotions, self.codes = list(lines), list(promotions), list(coupon_codes)
        self.usage, self.at, self.result = usage, at, result
        self.worth_now: dict[int, Decimal] = {}

    def hint(
        self, promotion: Promotion, extra: CartLine | None, needs_code: bool
    ) -> PromotionHint | None:
        lines = [*self.lines, extra] if extra is not None else self.lines
        code = promotion.coupon_code if needs_code else None
        codes = [*self.codes, code] if code is not None else self.codes
        after = price_cart(
            lines, promotions=self.promotions, coupon_codes=codes, usage=self.usage, at=self.at
        )
        if after.outcomes.get(promotion.id) is not PromotionOutcome.APPLIED:
            return None
        saving = self._worth(promotion, lines, codes, after) - self._worth_now(promotion)
        if saving <= 0:
            return None  # e.g. the added units bring no free one
        is_units = extra is not None and extra.sku_id != HINT_SKU
        return PromotionHint(
            promotion_id=promotion.id,
            missing=Missing.UNITS if is_units else Missing.SPEND if extra else Missing.COUPON,
            amount_to_add=extra.unit_price * extra.quantity if extra else ZERO,
            units_to_add=extra.quantity if is_units and extra else 0,
            sku_id=extra.sku_id if is_units and extra else None,
            product_id=extra.product_id if is_units and extra else None,
            coupon_code=code,
            saving=saving,
        )

    def _worth(
        self,
        promotion: Promotion,
        lines: Sequence[CartLine],
        codes: Sequence[str],
        with_it: PricingResult,
    ) -> Decimal:
        """What the promotion saves in a cart: its total without it minus its total with it
        (an exclusive one that displaces others is worth only what it adds)."""
        if with_it.outcomes.get(promotion.id) is not PromotionOutcome.APPLIED:
            return ZERO
        others = [p for p in self.promotions if p.id != promotion.id]
        code = promotion.coupon_code
        kept = [c for c in codes if code is None or coupon_key(c) != coupon_key(code)]
        without = price_cart(
            lines, promotions=others, coupon_codes=kept, usage=self.usage, at=self.at
        )
        return without.total - with_it.total

    def _worth_now(self, promotion: Promotion) -> Decimal:
        """Its worth in the cart as it is (a buy X get Y may already apply to other SKUs)."""
        if promotion.id not in self.worth_now:
            self.worth_now[promotion.id] = self._worth(
                promotion, self.lines, self.codes, self.result
            )
        return self.worth_now[promotion.id]
