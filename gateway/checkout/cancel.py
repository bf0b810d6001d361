"""Cancelling an order before payment: the status moves exactly once, and only the call
that moved it gives back the stock and the coupon uses, so nothing is released twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sources.orders.records import Order, OrderStatus

from ..errors import Problem, UserErrorCode
from ..sources import Sources

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    order: Order | None
    problems: list[Problem]


async def cancel_order(
    sources: Sources, order: Order, *, reason: str, actor: str, now: datetime
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
    return CancelOutcome(moved, [])
