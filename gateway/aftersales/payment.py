"""orderMarkPaid: money received, recorded once per stage with the status move it causes.

An order is paid in full at once, or (presale) in two steps: the deposit, which leaves the
order PENDING_PAYMENT, then the balance, which is due only once every presale in the order
has ended and moves the order to PAID. When an order becomes PAID its stock hold turns into a
sale (on-hand and reserved go down together) and its parcels are planned.

Staff marking an order paid and a provider's confirmed payment (gateway/payments) take this
same path; the provider's payment names its attempt and stage, and is refused when the
stage due is another one (the buyer paid an attempt made before the order moved on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sources.common.money import quantize
from sources.orders.records import Order, OrderStatus, Payment, PaymentStage, ProviderReceipt

from ..backoffice.ship_by import ShipByRules
from ..errors import Problem, UserErrorCode
from ..payments.presale_deadline import is_overdue, overdue
from ..sources import Sources
from .shipments import fulfil_paid_order


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    order: Order | None
    problems: list[Problem]


@dataclass(frozen=True, slots=True)
class PaymentStep:
    stage: PaymentStage
    amount: Decimal
    to: OrderStatus


def next_payment(order: Order, payments: list[Payment]) -> PaymentStep | None:
    """What paying this order now records; None when nothing is due."""
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return None
    stages = {p.stage for p in payments}
    if order.deposit_due is None:
        if stages:
            return None
        return PaymentStep(PaymentStage.FULL, order.total, OrderStatus.PAID)
    if PaymentStage.DEPOSIT not in stages:
        return PaymentStep(PaymentStage.DEPOSIT, order.deposit_due, OrderStatus.PENDING_PAYMENT)
    if PaymentStage.BALANCE in stages:
        return None
    balance = quantize(max(order.total - order.deposit_due, Decimal(0)))
    return PaymentStep(PaymentStage.BALANCE, balance, OrderStatus.PAID)


def _refused(message: str) -> PaymentOutcome:
    return PaymentOutcome(
        None, [Problem(UserErrorCode.INVALID_STATUS_TRANSITION, message, ("orderId",))]
    )


async def presale_ends_at(sources: Sources, order: Order) -> datetime | None:
    """When the last presale of the order's lines ends (read from the catalog, not a cache:
    this decides when money is taken)."""
    lines = (await sources.orders.order_lines_by_order_ids([order.id]))[order.id]
    product_ids = sorted({line.product_id for line in lines if line.deposit is not None})
    products = await sources.catalog.products_by_ids(product_ids) if product_ids else {}
    ends = [p.presale.ends_at for p in products.values() if p.presale is not None]
    return max(ends) if ends else None


async def mark_paid(
    sources: Sources,
    order_id: int | None,
    *,
    actor: str,
    now: datetime,
    promises: ShipByRules | None = None,
    receipt: ProviderReceipt | None = None,
    stage: PaymentStage | None = None,
    balance_ttl: timedelta | None = None,
) -> PaymentOutcome:
    """``balance_ttl``: given (staff marking money taken by hand), a presale's balance past
    its deadline is refused (PRESALE_BALANCE_OVERDUE); a provider's receipt is not given
    it, since its trade was opened in time and could not outlive the deadline."""
    orders = sources.orders
    order = (await orders.orders_by_ids([order_id])).get(order_id) if order_id else None
    if order is None:
        return PaymentOutcome(
            None, [Problem(UserErrorCode.ORDER_NOT_FOUND, "no such order", ("orderId",))]
        )
    payments = (await orders.payments_by_order_ids([order.id]))[order.id]
    step = next_payment(order, payments)
    if step is None:
        if order.status is OrderStatus.PAID:
            # A payment whose follow-up was cut short (a crash between the steps) finishes
            # here: both steps are idempotent, so this is a no-op when nothing was lost.
            await fulfil_paid_order(sources, order, now, promises)
        return _refused(f"an order that is {order.status.value} cannot be paid")
    if stage is not None and step.stage is not stage:
        return _refused(f"the {step.stage.value.lower()} payment is due, not {stage.value}")
    if step.stage is PaymentStage.BALANCE:
        ends_at = await presale_ends_at(sources, order)
        if ends_at is not None and now < ends_at:
            return _refused(f"the balance is due when the presale ends, at {ends_at.isoformat()}")
        late = balance_ttl is not None and is_overdue(ends_at, balance_ttl, now)
        if ends_at is not None and balance_ttl is not None and late:
            return PaymentOutcome(None, [overdue(ends_at, balance_ttl)])
    paid = await orders.record_payment(
        order.id,
        stage=step.stage,
        amount=step.amount,
        to=step.to,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor=actor,
        now=now,
        receipt=receipt,
    )
    if paid is None:  # another call recorded this stage, or cancelled the order, meanwhile
        return _refused("this order was paid or cancelled meanwhile")
    if paid.status is OrderStatus.PAID:
        await fulfil_paid_order(sources, paid, now, promises)
    return PaymentOutcome(paid, [])
