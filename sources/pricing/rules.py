"""Whether a promotion makes sense before it is saved, judged by the engine's own rules
(sources/pricing/engine.py): one the engine could never apply (a window already over, no
targets, a kind missing the term it needs) or whose terms contradict each other (a
percentage and an amount on one threshold offer, a per-customer limit above the total)
is refused, each problem on its term, with a reason staff can act on.

Pure: the caller passes the promotion as it would be saved and the moment of saving.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from .records import Promotion, PromotionKind, PromotionProblem, PromotionScope

NEVER = "NEVER_APPLIES"
CONTRADICTORY = "CONTRADICTORY"
INVALID = "INVALID"
MAX_AMOUNT = Decimal("99999999.99")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")

# The terms each kind reads (engine._amount_off, engine._buy_x_get_y); any other is noise
# a reader would take for a rule.
_TERMS: dict[PromotionKind, frozenset[str]] = {
    PromotionKind.PERCENTAGE: frozenset({"percent"}),
    PromotionKind.FIXED_AMOUNT: frozenset({"amount"}),
    PromotionKind.THRESHOLD: frozenset({"threshold", "amount", "percent"}),
    PromotionKind.BUY_X_GET_Y: frozenset({"buy_quantity", "get_quantity"}),
}


def promotion_problems(p: Promotion, *, now: datetime) -> list[PromotionProblem]:
    problems = _term_problems(p) + _window_problems(p, now) + _target_problems(p)
    problems += _limit_problems(p)
    if not p.name.strip() or len(p.name) > 200:
        problems.append(PromotionProblem(INVALID, "name", "a name of 1 to 200 characters"))
    if p.coupon_code is not None and not CODE.match(p.coupon_code):
        problems.append(
            PromotionProblem(INVALID, "couponCode", "3 to 64 letters, digits, '_' or '-'")
        )
    return problems


def _term_problems(p: Promotion) -> list[PromotionProblem]:
    given = {
        name
        for name, value in (
            ("percent", p.percent),
            ("amount", p.amount),
            ("threshold", p.threshold),
            ("buy_quantity", p.buy_quantity),
            ("get_quantity", p.get_quantity),
        )
        if value is not None
    }
    problems = [
        PromotionProblem(
            CONTRADICTORY, _field(name), f"a {p.kind.value} promotion has no {_field(name)}"
        )
        for name in sorted(given - _TERMS[p.kind])
    ]
    if p.percent is not None and not Decimal(0) < p.percent <= 100:
        problems.append(PromotionProblem(NEVER, "percent", "percent must be above 0, at most 100"))
    for name, value in (("amount", p.amount), ("threshold", p.threshold)):
        if value is not None and not Decimal(0) < value <= MAX_AMOUNT:
            problems.append(PromotionProblem(NEVER, name, f"{name} must be a positive amount"))
    if p.kind is PromotionKind.PERCENTAGE and p.percent is None:
        problems.append(PromotionProblem(NEVER, "percent", "a PERCENTAGE promotion needs percent"))
    if p.kind is PromotionKind.FIXED_AMOUNT and p.amount is None:
        problems.append(PromotionProblem(NEVER, "amount", "a FIXED_AMOUNT promotion needs amount"))
    if p.kind is PromotionKind.THRESHOLD:
        if p.threshold is None:
            problems.append(PromotionProblem(NEVER, "threshold", "a THRESHOLD needs threshold"))
        if (p.amount is None) == (p.percent is None):
            problems.append(
                PromotionProblem(
                    CONTRADICTORY if p.amount is not None else NEVER,
                    "amount",
                    "a THRESHOLD takes off either an amount or a percent: give exactly one",
                )
            )
        elif p.amount is not None and p.threshold is not None and p.amount > p.threshold:
            problems.append(
                PromotionProblem(
                    CONTRADICTORY, "amount", "it would take off more than the spend it asks for"
                )
            )
    if p.kind is PromotionKind.BUY_X_GET_Y:
        for name, quantity in (
            ("buyQuantity", p.buy_quantity),
            ("getQuantity", p.get_quantity),
        ):
            if quantity is None or not 1 <= quantity <= 1000:
                problems.append(PromotionProblem(NEVER, name, f"{name} must be 1 to 1000"))
    return problems


def _window_problems(p: Promotion, now: datetime) -> list[PromotionProblem]:
    if p.ends_at is None:
        return []
    if p.starts_at is not None and p.ends_at <= p.starts_at:
        return [PromotionProblem(CONTRADICTORY, "endsAt", "it ends before it starts")]
    if p.ends_at <= now:
        return [PromotionProblem(NEVER, "endsAt", "its window is already over")]
    return []


def _target_problems(p: Promotion) -> list[PromotionProblem]:
    if p.scope is PromotionScope.ORDER:
        if p.product_ids or p.category_ids:
            return [PromotionProblem(CONTRADICTORY, "scope", "an ORDER promotion lists no targets")]
        return []
    wanted, other = (
        ("productIds", p.category_ids)
        if p.scope is PromotionScope.PRODUCTS
        else ("categoryIds", p.product_ids)
    )
    targets = p.product_ids if p.scope is PromotionScope.PRODUCTS else p.category_ids
    problems = []
    if not targets:
        problems.append(
            PromotionProblem(NEVER, wanted, f"a {p.scope.value} promotion needs targets")
        )
    if other:
        problems.append(
            PromotionProblem(
                CONTRADICTORY, "scope", f"a {p.scope.value} promotion lists only {wanted}"
            )
        )
    return problems


def _limit_problems(p: Promotion) -> list[PromotionProblem]:
    problems = []
    for name, value in (("usageLimit", p.usage_limit), ("perCustomerLimit", p.per_customer_limit)):
        if value is not None and not 1 <= value <= 10_000_000:
            problems.append(PromotionProblem(NEVER, name, f"{name} must be at least 1"))
    if (p.usage_limit is not None or p.per_customer_limit is not None) and p.coupon_code is None:
        problems.append(
            PromotionProblem(
                CONTRADICTORY, "usageLimit", "usage limits count coupon uses: give a couponCode"
            )
        )
    if (
        p.usage_limit is not None
        and p.per_customer_limit is not None
        and p.per_customer_limit > p.usage_limit
    ):
        problems.append(
            PromotionProblem(CONTRADICTORY, "perCustomerLimit", "more per customer than in total")
        )
    return problems


def _field(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
