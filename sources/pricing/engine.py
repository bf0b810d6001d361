"""The promotion engine: what a cart costs after promotions, with every discount allocated
to the lines it came from, to the cent, so refunding one line later is exact.

Pure functions over records, no I/O: the checkout loads the cart's lines, the promotions
(``PricingStore.promotions_for_checkout``) and the coupons' usage
(``PricingStore.coupon_usage``) and calls :func:`price_cart`.

Rules
=====

Which promotions are candidates
-------------------------------
- **Automatic** promotions (no coupon code) count when live at ``at``: active and inside
  their window (``starts_at`` inclusive, ``ends_at`` exclusive). One that discounts nothing in
  this cart is simply not applied.
- **Coupons**: each typed code is matched to a promotion's code ignoring case and surrounding
  spaces; a code typed twice counts once (the first spelling is the one reported). A coupon
  promotion whose code was not typed never applies. A typed code is checked in this order,
  and the first failure is its one problem:

  1. no promotion has that code: ``COUPON_NOT_FOUND``;
  2. not live at ``at`` (not started, ended, or paused): ``COUPON_EXPIRED``;
  3. its uses (``usage``; released uses do not count) reached ``usage_limit`` or this
     customer's reached ``per_customer_limit``: ``COUPON_USAGE_LIMIT_REACHED``;
  4. alone on this cart it would discount nothing (it targets no line, its threshold is not
     met, too few units for buy X get Y): ``COUPON_NOT_APPLICABLE``.

What each kind takes off
------------------------
A promotion acts on the lines it targets (scope ORDER: every line; PRODUCTS: lines of its
products; CATEGORIES: lines whose product's category or any ancestor is listed), and on what
is left of those lines after the promotions applied before it (their *remaining* amounts):

- PERCENTAGE: ``percent`` % of the targeted lines' remaining amount, rounded half up to the
  cent.
- FIXED_AMOUNT: ``amount`` off the targeted lines, capped at their remaining amount (once per
  order, not per unit).
- THRESHOLD: when the targeted lines' subtotal (``unit_price * quantity``, before any
  discount) is at least ``threshold``: ``amount`` off (capped as above) if the promotion has
  one, else ``percent`` % off. The threshold is judged on the undiscounted subtotal so that
  another promotion never takes a threshold offer away from the buyer.
- BUY_X_GET_Y: per targeted SKU (all lines of one SKU together): for every
  ``buy_quantity + get_quantity`` units, ``get_quantity`` units are free. Units of one SKU
  all cost the same, so "the cheapest units" are any of them: the free units are valued at
  the SKU's average remaining unit amount. Units of different SKUs are never pooled.

A promotion missing the fields its kind needs discounts nothing (never money given away by a
misconfiguration); a percentage above 100 counts as 100.

Stacking and exclusivity
------------------------
- Non-exclusive candidates stack: they apply one after another, higher ``priority`` first
  (then lower id), each on the remaining amounts the previous ones left, so no line goes
  below zero.
- An exclusive candidate combines with nothing. The engine compares the stack of all
  non-exclusive candidates with each exclusive candidate alone and keeps the one that saves
  the buyer the most. On a tie the stack wins (it keeps an exclusive coupon unused for
  another order); between exclusive ones, the higher priority, then an automatic one before
  a coupon, then the coupon typed first.
- A typed coupon that is valid but left out of the chosen combination (it lost to, or
  conflicts with, an exclusive promotion; or it is the second of two exclusive coupons) is
  ``COUPON_NOT_COMBINABLE``. A valid coupon in the chosen stack that ends up discounting
  nothing (earlier promotions left its lines at zero) is ``COUPON_NOT_APPLICABLE``, so the
  checkout never records a use of a coupon that saved nothing.

The chosen combination never costs the buyer more than any single candidate alone: each
kind's discount shrinks by at most what the promotions before it already took off.

What became of each promotion
-----------------------------
``PricingResult.outcomes`` says, for every promotion given, what the engine made of it, in
the order of the rules above: NOT_LIVE (paused or outside its window), a coupon's
COUPON_NOT_ENTERED or USAGE_LIMIT_REACHED, SAVES_NOTHING (alone it would discount nothing
here), NOT_COMBINABLE (left out of the chosen combination), NOTHING_LEFT (chosen, but the
promotions before it left its lines at zero) or APPLIED. ``hints.py`` turns these, with
:func:`threshold_shortfall` and :func:`units_to_next_free` (the very functions the rules
use), into what a buyer is missing; it never re-decides a rule.

Allocation
----------
Each promotion's discount is split across the lines it applies to in proportion to their
remaining amounts, by the largest-remainder method in whole cents (:func:`allocate_discount`):
the shares sum exactly to the discount, no share exceeds its line's remaining amount, and
leftover cents go to the largest remainders, ties to the smaller ``line_id``. Every rounding
decision looks at line ids and amounts only, never at the order of the input, so permuting
the lines permutes the result and changes nothing else.

Amounts are ``Decimal`` quantized to 0.01, never float, in the cart's currency (promotion
amounts are taken to be in it too: the caller passes the promotions of that currency).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sources.common.fast_init import fast_inits
from sources.common.money import CENT, quantize

from .records import Price, Promotion, PromotionKind

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of the cart, as the engine needs it."""

    line_id: str
    sku_id: int
    product_id: int
    category_path: tuple[int, ...]  # the product's category and its ancestors' ids
    unit_price: Decimal  # the sale price now
    quantity: int  # > 0


@dataclass(frozen=True, slots=True)
class CouponUsage:
    """Uses of one coupon that count against its limits (released ones do not)."""

    total_uses: int  # all customers
    customer_uses: int  # this customer (0 when anonymous)


@dataclass(frozen=True, slots=True)
class CheckoutPricing:
    """What the engine needs to price one cart, read in one call: the SKUs' prices, the
    promotions ``promotions_for_checkout`` returns and the usage of the coupons among them
    (by the buyer; every coupon promotion returned is a key)."""

    prices: dict[int, Price]
    promotions: list[Promotion]
    coupon_usage: dict[int, CouponUsage]


class PromotionOutcome(StrEnum):
    """What the engine made of one promotion on one cart, for every promotion it was given;
    ``hints.py`` words it for the buyer and works out what is missing."""

    APPLIED = "APPLIED"  # it saved something
    NOT_LIVE = "NOT_LIVE"  # paused, or outside its window
    COUPON_NOT_ENTERED = "COUPON_NOT_ENTERED"  # a coupon whose code the cart does not hold
    USAGE_LIMIT_REACHED = "USAGE_LIMIT_REACHED"  # its uses, or this customer's, are used up
    SAVES_NOTHING = "SAVES_NOTHING"  # alone on this cart it would discount nothing
    NOT_COMBINABLE = "NOT_COMBINABLE"  # left out of the combination that saves the most
    NOTHING_LEFT = "NOTHING_LEFT"  # chosen, but the promotions before it left nothing


class CouponProblem(StrEnum):
    """Why a typed coupon does not apply; the values are the contract's UserErrorCodes."""

    NOT_FOUND = "COUPON_NOT_FOUND"
    EXPIRED = "COUPON_EXPIRED"
    NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"
    USAGE_LIMIT_REACHED = "COUPON_USAGE_LIMIT_REACHED"
    NOT_COMBINABLE = "COUPON_NOT_COMBINABLE"


@dataclass(frozen=True, slots=True)
class LineResult:
    line_id: str
    subtotal: Decimal  # unit_price * quantity
    discounts: tuple[tuple[int, Decimal], ...]  # (promotion id, amount > 0), in applied order
    total: Decimal  # subtotal - sum(discounts) >= 0


@dataclass(frozen=True, slots=True)
class PricingResult:
    lines: tuple[LineResult, ...]  # same order as the input lines
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    applied_promotion_ids: tuple[int, ...]  # in applied order, each saved something
    coupon_problems: tuple[tuple[str, CouponProblem], ...]  # (code as typed, problem)
    # (promotion id, its whole discount), parallel to applied_promotion_ids: the lines'
    # shares of a promotion sum to exactly this.
    promotion_discounts: tuple[tuple[int, Decimal], ...] = ()
    # Every promotion given, by id: what became of it (APPLIED for applied_promotion_ids).
    outcomes: Mapping[int, PromotionOutcome] = field(default_factory=dict)


def coupon_key(code: str) -> str:
    """How typed and stored coupon codes compare: case and surrounding spaces ignored."""
    return code.strip().lower()


def price_cart(
    lines: Sequence[CartLine],
    *,
    promotions: Sequence[Promotion],
    coupon_codes: Sequence[str],
    usage: Mapping[int, CouponUsage],
    at: datetime,
) -> PricingResult:
    """Price a cart: the best combination of its promotions for the buyer, each discount
    allocated to the lines to the cent, and a problem for every typed coupon that does not
    apply. See the module docstring for the rules."""
    cart = _canonical(lines)
    ranked = sorted({p.id: p for p in promotions}.values(), key=_application_order)
    by_code: dict[str, Promotion] = {}  # codes differing only in case: the first ranked
    for promotion in ranked:
        if promotion.coupon_code is not None:
            by_code.setdefault(coupon_key(promotion.coupon_code), promotion)

    outcomes: dict[int, PromotionOutcome] = {}
    for promotion in ranked:
        if not promotion.is_live(at):
            outcomes[promotion.id] = PromotionOutcome.NOT_LIVE
        elif promotion.coupon_code is not None:
            outcomes[promotion.id] = (
                PromotionOutcome.USAGE_LIMIT_REACHED
                if _is_used_up(promotion, usage.get(promotion.id))
                else PromotionOutcome.COUPON_NOT_ENTERED
            )
    automatic = [p for p in ranked if p.coupon_code is None and p.is_live(at)]
    candidates = [p for p in automatic if _saves_something(p, cart)]
    outcomes.update((p.id, PromotionOutcome.SAVES_NOTHING) for p in automatic)
    problems: dict[str, CouponProblem] = {}
    typed: dict[int, tuple[int, str]] = {}  # promotion id -> (position typed, code as typed)
    for position, (key, code) in enumerate(_typed_codes(coupon_codes).items()):
        coupon = by_code.get(key)
        problem = _coupon_problem(coupon, cart, usage, at)
        if problem is not None:
            problems[code] = problem
            if coupon is not None and problem is CouponProblem.NOT_APPLICABLE:
                outcomes[coupon.id] = PromotionOutcome.SAVES_NOTHING
        elif coupon is not None:
            typed[coupon.id] = (position, code)
            candidates.append(coupon)

    stack = sorted((p for p in candidates if not p.is_exclusive), key=_application_order)
    exclusive = sorted(
        (p for p in candidates if p.is_exclusive),
        key=lambda p: (-p.priority, typed.get(p.id, (-1, ""))[0], p.id),
    )
    chosen: list[Promotion] = stack
    remaining, applied = _apply(cart, stack)
    best = _saved(applied)
    for promotion in exclusive:
        alone_remaining, alone_applied = _apply(cart, [promotion])
        if _saved(alone_applied) > best:
            chosen, remaining, applied = [promotion], alone_remaining, alone_applied
            best = _saved(alone_applied)

    chosen_ids = {p.id for p in chosen}
    for promotion_id, (_position, code) in typed.items():
        if promotion_id not in chosen_ids:
            problems[code] = CouponProblem.NOT_COMBINABLE
        elif promotion_id not in applied:
            problems[code] = CouponProblem.NOT_APPLICABLE
    for promotion in candidates:
        outcomes[promotion.id] = (
            PromotionOutcome.APPLIED
            if promotion.id in applied
            else PromotionOutcome.NOTHING_LEFT
            if promotion.id in chosen_ids
            else PromotionOutcome.NOT_COMBINABLE
        )
    return _result(lines, remaining, applied, problems, coupon_codes, outcomes)


def allocate_discount(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``amount`` across the keys of ``weights`` in proportion to the weights, in whole
    cents, by the largest-remainder method.

    Guarantees: the shares sum exactly to ``amount``; no share exceeds its weight (when
    ``amount`` is at most the weights' sum, else ValueError); leftover cents go to the
    largest remainders, ties to the smaller key, so the split never depends on the order of
    ``weights``. Only positive shares are returned.
    """
    cents = _cents(amount)
    weight_cents = {key: _cents(weight) for key, weight in weights.items() if weight > 0}
    whole = sum(weight_cents.values())
    if cents <= 0 or whole == 0:
        return {}
    if cents > whole:
        raise ValueError(f"cannot allocate {amount} over weights summing to less")
    shares = {key: cents * weight // whole for key, weight in weight_cents.items()}
    leftover = cents - sum(shares.values())
    by_remainder = sorted(weight_cents, key=lambda key: (-(cents * weight_cents[key] % whole), key))
    for key in by_remainder[:leftover]:
        shares[key] += 1
    return {key: Decimal(share) * CENT for key, share in shares.items() if share > 0}


# Applying promotions ---------------------------------------------------------------------

Shares = dict[str, Decimal]  # line id -> amount off


def _apply(
    cart: Sequence[CartLine], stack: Sequence[Promotion]
) -> tuple[dict[str, Decimal], dict[int, Shares]]:
    """Apply ``stack`` in order on the remaining amounts; returns what is left of each line
    and the shares of each promotion that saved something, in application order."""
    remaining = {line.line_id: _subtotal(line) for line in cart}
    applied: dict[int, Shares] = {}
    for promotion in stack:
        shares = _discount_shares(promotion, cart, remaining)
        if shares:
            applied[promotion.id] = shares
            for line_id, share in shares.items():
                remaining[line_id] -= share
    return remaining, applied


def _discount_shares(
    promotion: Promotion, cart: Sequence[CartLine], remaining: Mapping[str, Decimal]
) -> Shares:
    targeted = targeted_lines(promotion, cart)
    if promotion.kind is PromotionKind.BUY_X_GET_Y:
        return _buy_x_get_y(promotion, targeted, remaining)
    weights = {line.line_id: remaining[line.line_id] for line in targeted}
    base = sum(weights.values(), ZERO)
    amount = _amount_off(promotion, targeted, base)
    return allocate_discount(min(amount, base), weights)


def _amount_off(promotion: Promotion, targeted: Sequence[CartLine], base: Decimal) -> Decimal:
    if promotion.kind is PromotionKind.PERCENTAGE:
        return _percent_of(base, promotion.percent)
    if promotion.kind is PromotionKind.FIXED_AMOUNT:
        return _positive(promotion.amount)
    # THRESHOLD: judged on the undiscounted subtotal (see the module docstring).
    if promotion.threshold is None or threshold_shortfall(promotion, targeted) > 0:
        return ZERO
    if promotion.amount is not None:
        return _positive(promotion.amount)
    return _percent_of(base, promotion.percent)


def _buy_x_get_y(
    promotion: Promotion, targeted: Sequence[CartLine], remaining: Mapping[str, Decimal]
) -> Shares:
    shares: Shares = {}
    for sku_lines in lines_by_sku(targeted).values():
        units = sum(line.quantity for line in sku_lines)
        free = free_units(promotion, units)
        if free:
            weights = {line.line_id: remaining[line.line_id] for line in sku_lines}
            value = quantize(sum(weights.values(), ZERO) * free / units)
            shares.update(allocate_discount(value, weights))
    return shares


def targeted_lines(promotion: Promotion, cart: Sequence[CartLine]) -> list[CartLine]:
    """The lines a promotion acts on (its scope)."""
    return [line for line in cart if promotion.targets(line.product_id, line.category_path)]


def threshold_shortfall(promotion: Promotion, targeted: Sequence[CartLine]) -> Decimal:
    """How much more of the goods it covers a THRESHOLD promotion needs (zero once met),
    judged on their undiscounted subtotal; zero without a threshold."""
    if promotion.threshold is None:
        return ZERO
    spent = sum((_subtotal(line) for line in targeted), ZERO)
    return max(promotion.threshold - spent, ZERO)


def free_units(promotion: Promotion, units: int) -> int:
    """BUY_X_GET_Y: the free units among ``units`` of one SKU (zero when misconfigured)."""
    buy, get = promotion.buy_quantity or 0, promotion.get_quantity or 0
    if buy < 1 or get < 1:
        return 0
    return units // (buy + get) * get


def units_to_next_free(promotion: Promotion, units: int) -> int:
    """BUY_X_GET_Y: how many more units of one SKU bring its next free units (0 when the
    promotion is misconfigured)."""
    buy, get = promotion.buy_quantity or 0, promotion.get_quantity or 0
    if buy < 1 or get < 1:
        return 0
    return buy + get - units % (buy + get)


def lines_by_sku(lines: Sequence[CartLine]) -> dict[int, list[CartLine]]:
    """Units of different SKUs are never pooled (BUY_X_GET_Y counts per SKU)."""
    by_sku: dict[int, list[CartLine]] = defaultdict(list)
    for line in lines:
        by_sku[line.sku_id].append(line)
    return by_sku


def _percent_of(base: Decimal, percent: Decimal | None) -> Decimal:
    if percent is None or percent <= 0:
        return ZERO
    return quantize(base * min(percent, HUNDRED) / HUNDRED)


def _positive(amount: Decimal | None) -> Decimal:
    return quantize(amount) if amount is not None and amount > 0 else ZERO


# Small helpers ---------------------------------------------------------------------------


def _coupon_problem(
    coupon: Promotion | None,
    cart: Sequence[CartLine],
    usage: Mapping[int, CouponUsage],
    at: datetime,
) -> CouponProblem | None:
    """The first reason a typed coupon cannot be a candidate, in the documented order."""
    if coupon is None:
        return CouponProblem.NOT_FOUND
    if not coupon.is_live(at):
        return CouponProblem.EXPIRED
    if _is_used_up(coupon, usage.get(coupon.id)):
        return CouponProblem.USAGE_LIMIT_REACHED
    if not _saves_something(coupon, cart):
        return CouponProblem.NOT_APPLICABLE
    return None


def _saves_something(promotion: Promotion, cart: Sequence[CartLine]) -> bool:
    return bool(_apply(cart, [promotion])[1])


def _canonical(lines: Sequence[CartLine]) -> list[CartLine]:
    """The lines sorted by id, so nothing downstream can depend on the input order. Bad
    lines are a caller's bug (the checkout validates quantities first), so they raise."""
    ids = [line.line_id for line in lines]
    if len(set(ids)) != len(ids):
        raise ValueError("cart line ids must be unique")
    for line in lines:
        if line.quantity <= 0 or line.unit_price < 0:
            raise ValueError(f"line {line.line_id}: quantity must be > 0 and price >= 0")
    return sorted(lines, key=lambda line: line.line_id)


def _application_order(promotion: Promotion) -> tuple[int, int]:
    return (-promotion.priority, promotion.id)


def _typed_codes(coupon_codes: Sequence[str]) -> dict[str, str]:
    """Typed codes by their matching key, first spelling kept, in the order typed."""
    typed: dict[str, str] = {}
    for code in coupon_codes:
        typed.setdefault(coupon_key(code), code)
    return typed


def _is_used_up(promotion: Promotion, usage: CouponUsage | None) -> bool:
    usage = usage or CouponUsage(total_uses=0, customer_uses=0)
    limit, per_customer = promotion.usage_limit, promotion.per_customer_limit
    return (limit is not None and usage.total_uses >= limit) or (
        per_customer is not None and usage.customer_uses >= per_customer
    )


def _subtotal(line: CartLine) -> Decimal:
    return quantize(line.unit_price * line.quantity)


def _saved(applied: Mapping[int, Shares]) -> Decimal:
    return sum((sum(shares.values(), ZERO) for shares in applied.values()), ZERO)


def _cents(amount: Decimal) -> int:
    return int(quantize(amount).scaleb(2))


def _result(
    lines: Sequence[CartLine],
    remaining: Mapping[str, Decimal],
    applied: Mapping[int, Shares],
    problems: Mapping[str, CouponProblem],
    coupon_codes: Sequence[str],
    outcomes: Mapping[int, PromotionOutcome],
) -> PricingResult:
    results = tuple(
        LineResult(
            line_id=line.line_id,
            subtotal=_subtotal(line),
            discounts=tuple(
                (promotion_id, shares[line.line_id])
                for promotion_id, shares in applied.items()
                if line.line_id in shares
            ),
            total=remaining[line.line_id],
        )
        for line in lines
    )
    subtotal = sum((line.subtotal for line in results), ZERO)
    discount_total = _saved(applied)
    reported = _typed_codes(coupon_codes).values()
    return PricingResult(
        lines=results,
        subtotal=subtotal,
        discount_total=discount_total,
        total=subtotal - discount_total,
        applied_promotion_ids=tuple(applied),
        coupon_problems=tuple((code, problems[code]) for code in reported if code in problems),
        promotion_discounts=tuple(
            (promotion_id, sum(shares.values(), ZERO)) for promotion_id, shares in applied.items()
        ),
        outcomes=outcomes,
    )


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
