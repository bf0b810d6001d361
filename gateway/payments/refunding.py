"""Giving money back through the provider it came from.

A refund of an order is split over the payments that brought the money in, the latest
first (a presale's balance before its deposit), each capped at what is left of it, so
partial refunds across a deposit and a balance add up exactly and never exceed either.
Every part is a refund row keyed by a request number derived from what caused it
(``cancel-<order>``, ``as-<request>``, ``late-<attempt>``) and the stage it gives back: the
same cause asked again is the same row and, at the provider, the same refund (the request
number is the provider's idempotency key). A part the provider could not take stays
FAILED with its error, visible to staff, and the sweeper asks again until it succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sources.common.money import quantize
from sources.orders.records import (
    AttemptStatus,
    NewRefund,
    Order,
    Payment,
    PaymentAttempt,
    PaymentStage,
    Refund,
    RefundStatus,
)

from ..sources import Sources
from .cashier import Cashier
from .provider import ProviderRefused, ProviderUnavailable

log = logging.getLogger("gateway.payments")
ZERO = Decimal("0.00")
RETRY_AFTER = timedelta(seconds=60)
_LATEST_FIRST = {PaymentStage.BALANCE: 0, PaymentStage.FULL: 1, PaymentStage.DEPOSIT: 2}


@dataclass(frozen=True, slots=True)
class PaidPart:
    """Money that came in for one stage of an order, and the attempt that brought it (None
    for a manual payment)."""

    stage: PaymentStage
    amount: Decimal
    provider: str
    attempt: PaymentAttempt | None


def paid_parts(payments: Sequence[Payment], attempts: Sequence[PaymentAttempt]) -> list[PaidPart]:
    paid_attempts = {a.stage: a for a in attempts if a.status is AttemptStatus.PAID}
    return [
        PaidPart(p.stage, p.amount, p.provider, paid_attempts.get(p.stage))
        for p in sorted(payments, key=lambda p: _LATEST_FIRST[p.stage])
    ]


def split_refund(
    amount: Decimal, parts: Sequence[PaidPart], refunded: Mapping[PaymentStage, Decimal]
) -> list[tuple[PaidPart, Decimal]]:
    """``amount`` over the parts, latest first, each at most what is left of it."""
    left = quantize(amount)
    split: list[tuple[PaidPart, Decimal]] = []
    for part in parts:
        if left <= 0:
            break
        room = part.amount - refunded.get(part.stage, ZERO)
        take = min(left, room)
        if take > 0:
            split.append((part, take))
            left -= take
    return split


def refunded_by_stage(
    refunds: Sequence[Refund], *, except_key: str = ""
) -> dict[PaymentStage, Decimal]:
    """What earlier refunds (any status but a cause's own rows) took from each payment. A
    late payment's refund gives back money that never became a payment: not counted."""
    taken: dict[PaymentStage, Decimal] = {}
    for r in refunds:
        if r.request_no.startswith("late-"):
            continue
        if except_key and r.request_no.startswith(except_key + "-"):
            continue
        taken[r.stage] = taken.get(r.stage, ZERO) + r.amount
    return taken


async def refund_order(
    sources: Sources,
    cashier: Cashier,
    order: Order,
    *,
    amount: Decimal,
    key: str,
    reason: str,
    now: datetime,
) -> list[Refund]:
    """Refund ``amount`` of ``order`` through its payments' providers, once per ``key``.
    Asked again with the same key, the rows the first ask wrote come back (and any that
    failed are tried again); the amount is then not split afresh."""
    orders = sources.orders
    existing = (await orders.refunds_by_order_ids([order.id]))[order.id]
    mine = [r for r in existing if r.request_no.startswith(key + "-")]
    if not mine and amount > 0:
        payments = (await orders.payments_by_order_ids([order.id]))[order.id]
        attempts = (await orders.payment_attempts_by_order_ids([order.id]))[order.id]
        parts = paid_parts(payments, attempts)
        split = split_refund(amount, parts, refunded_by_stage(existing, except_key=key))
        mine = await orders.request_refunds(
            [
                NewRefund(
                    order_id=order.id,
                    attempt_id=part.attempt.id if part.attempt else None,
                    stage=part.stage,
                    provider=part.attempt.provider if part.attempt else part.provider,
                    request_no=f"{key}-{part.stage.value[0]}",
                    amount=share,
                    currency=order.currency,
                    reason=reason[:500],
                )
                for part, share in split
            ],
            now,
        )
    return [await send_refund(sources, cashier, r, now) for r in mine]


async def refund_late_payment(
    sources: Sources, cashier: Cashier, attempt: PaymentAttempt, *, reason: str, now: datetime
) -> Refund:
    """Money that came for an order that no longer takes it goes straight back, whole."""
    (refund,) = await sources.orders.request_refunds(
        [
            NewRefund(
                order_id=attempt.order_id,
                attempt_id=attempt.id,
                stage=attempt.stage,
                provider=attempt.provider,
                request_no=f"late-{attempt.out_trade_no}"[:64],
                amount=attempt.amount,
                currency=attempt.currency,
                reason=reason[:500],
            )
        ],
        now,
    )
    return await send_refund(sources, cashier, refund, now)


async def send_refund(sources: Sources, cashier: Cashier, refund: Refund, now: datetime) -> Refund:
    """Ask the provider (again) for a refund not yet SUCCEEDED and keep its answer."""
    if refund.status is RefundStatus.SUCCEEDED:
        return refund
    provider = cashier.provider(refund.provider)
    attempt = None
    if refund.attempt_id is not None:
        attempts = (await sources.orders.payment_attempts_by_order_ids([refund.order_id]))[
            refund.order_id
        ]
        attempt = next((a for a in attempts if a.id == refund.attempt_id), None)
    error: str | None = None
    reference: str | None = None
    if provider is None:
        error = f"provider {refund.provider} is not configured"
    else:
        try:
            receipt = await provider.refund(
                out_trade_no=attempt.out_trade_no if attempt else "",
                request_no=refund.request_no,
                amount=refund.amount,
                paid=attempt.amount if attempt else refund.amount,
                currency=refund.currency,
                reason=refund.reason,
            )
            reference = receipt.reference
        except (ProviderUnavailable, ProviderRefused) as exc:
            error = str(exc)
    if error is not None:
        log.warning(
            "refund %s of order %s failed (try %s): %s",
            refund.request_no,
            refund.order_id,
            refund.tries + 1,
            error,
        )
    recorded = await sources.orders.record_refund_result(
        refund.id, succeeded=error is None, reference=reference, error=error, now=now
    )
    if recorded is None:  # another process recorded its success meanwhile
        current = (await sources.orders.refunds_by_order_ids([refund.order_id]))[refund.order_id]
        return next(r for r in current if r.id == refund.id)
    return recorded


async def retry_refunds(sources: Sources, cashier: Cashier, now: datetime) -> int:
    """For the sweeper: every refund still PENDING or FAILED a minute after its last try
    is asked again; returns how many succeeded now."""
    done = 0
    for refund in await sources.orders.refunds_due(updated_before=now - RETRY_AFTER):
        result = await send_refund(sources, cashier, refund, now)
        done += result.status is RefundStatus.SUCCEEDED
    return done
