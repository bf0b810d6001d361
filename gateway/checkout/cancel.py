"""Cancelling an order before payment: the status moves exactly once, and only the call
that moved it gives back the stock and the coupon uses, so nothing is released twice. A
presale whose deposit was paid gets it back through its provider when the cashier is given
(keyed by the order, as a paid order's cancellation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sources.orders.records import Order, OrderStatus

from ..errors import Problem, UserErrorCode
from ..sources import Sources

if TYPE_CHECKING:
    from ..payments.cashier import Cashier

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    order: Order | None
    problems: list[Problem]


async def cancel_order(
    sources: Sources,
    order: Order,
    *,
    reason: str,
    actor: str,
    now: datetime,
    cashier: Cashier | None = None,
) -> CancelOutcome:
    if not reason.strip() or len(reason) > MAX_REASON:
        return CancelOutcome(
            None,
            [
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    f"a reason of at most {MAX_REASON} characters is required",
                    ("reason",),
                )
            ],
        )
    # Cancelling a paid order (with its refund) belongs to the after-sales flow.
    moved = await sources.orders.transition_order(
        order.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor=actor,
        reason=reason.strip(),
        now=now,
    )
    if moved is None:
        return CancelOutcome(
            None,
            [
                Problem(
                    UserErrorCode.INVALID_STATUS_TRANSITION,
                    f"an order that is {order.status.value} cannot be cancelled here",
                    ("orderId",),
                )
            ],
        )
    await sources.inventory.release_reservation(order.order_ref, now)
    await sources.pricing.release_coupon_uses(order.order_ref, now)
    # The buyer's open payment pages stop showing a code; money paid through one anyway
    # comes back (gateway/payments/paying.py: LATE).
    await sources.orders.close_payment_attempts(order.id, now)
    if cashier is not None:
        from ..payments.refunding import refund_order

        payments = (await sources.orders.payments_by_order_ids([order.id]))[order.id]
        deposit = sum((p.amount for p in payments), Decimal("0.00"))
        if deposit > 0:
            await refund_order(
                sources,
                cashier,
                moved,
                amount=deposit,
                key=f"cancel-{order.id}",
                reason=f"order cancelled before its balance: {reason.strip()}",
                now=now,
            )
    return CancelOutcome(moved, [])
