"""Staff cancelling a paid order: the whole order is refunded (the orders source's ledger
counts a cancelled paid order as refunded in full), the sold units go back on the shelf and
the coupon uses are given back.

The status moves once (PAID -> CANCELLED, a conditional move), so of two staff cancelling at
once one wins. Open after-sales requests are closed as superseded (REJECTED, with the reason,
never deleted); an order with an approved or completed return or exchange is refused, since
those units are already on their way back. The follow-ups (restock, coupon release) are
idempotent, so cancelling again after a crash finishes them. Given the cashier, the money
goes back through the providers it came from (gateway/payments/refunding.py), keyed by the
order, so a repeated cancel never refunds twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sources.inventory.records import ReservationStatus
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesStatus,
    Order,
    OrderStatus,
    PaymentStage,
)

from ..errors import Problem, UserErrorCode
from ..payments.cashier import Cashier
from ..payments.refunding import refund_order
from ..sources import Sources
from .refunds import REFUNDING_KINDS, ZERO

MAX_REASON = 500
_SETTLED = frozenset({AfterSalesStatus.APPROVED, AfterSalesStatus.COMPLETED})
_UNDECIDED = frozenset({AfterSalesStatus.OPEN, AfterSalesStatus.AWAITING_SECOND_APPROVAL})


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    order: Order | None
    problems: list[Problem]
    refund: Decimal | None = None


def _refused(
    message: str, code: UserErrorCode = UserErrorCode.INVALID_STATUS_TRANSITION
) -> CancelOutcome:
    field = "reason" if code is UserErrorCode.INVALID_INPUT else "orderId"
    return CancelOutcome(None, [Problem(code, message, (field,))])


def was_paid(stages: set[PaymentStage]) -> bool:
    return bool(stages & {PaymentStage.FULL, PaymentStage.BALANCE})


async def cancel_paid_order(
    sources: Sources,
    order: Order,
    *,
    reason: str,
    actor: str,
    now: datetime,
    cashier: Cashier | None = None,
) -> CancelOutcome:
    if not reason.strip() or len(reason) > MAX_REASON:
        return _refused(
            f"a reason of at most {MAX_REASON} characters is required", UserErrorCode.INVALID_INPUT
        )
    orders = sources.orders
    payments = (await orders.payments_by_order_ids([order.id]))[order.id]
    paid = sum((p.amount for p in payments), ZERO)
    if order.status is OrderStatus.CANCELLED and not was_paid({p.stage for p in payments}):
        return _refused("this order is already cancelled")
    if order.status not in (OrderStatus.CANCELLED, OrderStatus.PAID):
        return _refused(f"an order that is {order.status.value} cannot be cancelled")
    requests = (await orders.after_sales_by_order_ids([order.id]))[order.id]
    refunded = sum(
        (
            r.refund_amount or ZERO
            for r in requests
            if r.status in _SETTLED and r.kind in REFUNDING_KINDS
        ),
        ZERO,
    )
    refund = max(paid - refunded, ZERO)
    if order.status is OrderStatus.CANCELLED:  # paid: a cancellation cut short finishes here
        await _give_back(sources, order, actor=actor, now=now)
        await _refund(sources, cashier, order, refund, reason, now)
        return _refused("this order is already cancelled")

    if any(
        r.status in _SETTLED and r.kind in (AfterSalesKind.RETURN, AfterSalesKind.EXCHANGE)
        for r in requests
    ):
        return _refused("this order has an approved return or exchange: settle that first")
    moved = await orders.transition_order(
        order.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PAID],
        actor=actor,
        reason=f"{reason.strip()} (paid order cancelled: {refund} refunded)",
        now=now,
    )
    if moved is None:
        return _refused("this order was shipped or cancelled meanwhile")
    for request in requests:
        if request.status in _UNDECIDED:
            await orders.transition_after_sales(
                request.id,
                to=AfterSalesStatus.REJECTED,
                allowed_from=_UNDECIDED,
                actor=actor,
                note="superseded: the order was cancelled and refunded in full",
                now=now,
            )
    await _give_back(sources, moved, actor=actor, now=now)
    await _refund(sources, cashier, moved, refund, reason, now)
    return CancelOutcome(moved, [], refund)


async def _refund(
    sources: Sources,
    cashier: Cashier | None,
    order: Order,
    amount: Decimal,
    reason: str,
    now: datetime,
) -> None:
    if cashier is not None and amount > 0:
        await refund_order(
            sources,
            cashier,
            order,
            amount=amount,
            key=f"cancel-{order.id}",
            reason=f"order cancelled: {reason.strip()}",
            now=now,
        )


async def _give_back(sources: Sources, order: Order, *, actor: str, now: datetime) -> None:
    """The sold units back to the warehouses they were sold from (once per order, keyed by
    it), and the coupon uses back to their budgets. Drop-shipped units stay the supplier's."""
    inventory = sources.inventory
    reservation = (await inventory.reservations_by_order_refs([order.order_ref])).get(
        order.order_ref
    )
    if reservation is not None and reservation.status is not ReservationStatus.SOLD:
        # Paid but never turned into a sale (a payment cut short): the hold is still there.
        await inventory.release_reservation(order.order_ref, now)
    elif reservation is not None:
        units: dict[tuple[int, str], int] = {}
        for a in reservation.allocations:
            if a.warehouse_code is not None:
                key = (a.sku_id, a.warehouse_code)
                units[key] = units.get(key, 0) + a.quantity
        if units:
            await inventory.restock(
                return_ref=f"cancel:{order.order_ref}",
                items=[(sku, code, qty) for (sku, code), qty in sorted(units.items())],
                actor=actor,
                now=now,
            )
    await sources.pricing.release_coupon_uses(order.order_ref, now)
