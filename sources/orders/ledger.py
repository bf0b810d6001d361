"""The settlement ledger finance reads: every line of every order placed in a period that
was paid, with its discounts by promotion and what was refunded of it, plus each order's
shipping and its refunded part. Computed from the stored lines and requests, never from
today's prices, so the lines and shipping add up to what was paid minus what was refunded.

What counts as refunded: the refund amounts of APPROVED or COMPLETED RETURN and REFUND_ONLY
requests (an EXCHANGE gives no money back), and everything when a paid order is cancelled
(a cancellation by staff refunds the order in full). Shipping goes back with a request when
its refund is more than its lines' (the whole order returned).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from sources.common.db import Database

from . import models as m
from .records import (
    AfterSalesKind,
    AfterSalesStatus,
    LedgerLine,
    LineDiscount,
    OrderStatus,
    PaymentStage,
    ShippingLedgerLine,
)

ZERO = Decimal("0.00")
_PAID_STATUSES = (
    OrderStatus.PAID.value,
    OrderStatus.PARTIALLY_SHIPPED.value,
    OrderStatus.SHIPPED.value,
    OrderStatus.COMPLETED.value,
)
_REFUNDING = and_(
    m.AfterSalesRequest.status.in_(
        [AfterSalesStatus.APPROVED.value, AfterSalesStatus.COMPLETED.value]
    ),
    m.AfterSalesRequest.kind.in_([AfterSalesKind.RETURN.value, AfterSalesKind.REFUND_ONLY.value]),
)


async def ledger(db: Database, *, created_from: datetime, created_to: datetime) -> list[LedgerLine]:
    """Lines of the orders placed in [created_from, created_to) that were paid (cancelled
    ones included when they were paid first), by order placement then line."""
    settled = _settled_orders(created_from, created_to)
    async with db.connect() as conn:
        lines = (
            await conn.execute(
                select(m.OrderLine, m.Order.status.label("order_status"))
                .join(m.Order, m.Order.id == m.OrderLine.order_id)
                .where(settled)
                .order_by(m.Order.created_at, m.Order.id, m.OrderLine.id)
            )
        ).all()
        discounts: dict[int, list[LineDiscount]] = defaultdict(list)
        refunded: dict[int, Decimal] = {}
        if lines:
            rows = await conn.execute(
                select(m.OrderLineDiscount)
                .join(m.OrderLine, m.OrderLine.id == m.OrderLineDiscount.line_id)
                .join(m.Order, m.Order.id == m.OrderLine.order_id)
                .where(settled)
                .order_by(m.OrderLineDiscount.id)
            )
            for row in rows:
                discounts[row.line_id].append(
                    LineDiscount(row.promotion_id, row.promotion_name, row.amount)
                )
            refunds = await conn.execute(
                select(m.AfterSalesLine.order_line_id, func.sum(m.AfterSalesLine.refund_amount))
                .join(m.AfterSalesRequest, m.AfterSalesRequest.id == m.AfterSalesLine.request_id)
                .join(m.Order, m.Order.id == m.AfterSalesRequest.order_id)
                .where(settled, _REFUNDING)
                .group_by(m.AfterSalesLine.order_line_id)
            )
            refunded = {line_id: Decimal(amount) for line_id, amount in refunds}
    return [
        LedgerLine(
            order_id=line.order_id,
            order_line_id=line.id,
            sku_id=line.sku_id,
            quantity=line.quantity,
            subtotal=line.subtotal,
            discounts=tuple(discounts.get(line.id, ())),
            total=line.total,
            refunded=(
                line.total
                if line.order_status == OrderStatus.CANCELLED.value
                else min(line.total, refunded.get(line.id, ZERO))
            ),
        )
        for line in lines
    ]


async def shipping_ledger(
    db: Database, *, created_from: datetime, created_to: datetime
) -> list[ShippingLedgerLine]:
    """Shipping of the same orders as ``ledger``, one entry per order in the same order."""
    settled = _settled_orders(created_from, created_to)
    refunded: dict[int, Decimal] = defaultdict(lambda: ZERO)
    async with db.connect() as conn:
        orders = (
            await conn.execute(
                select(m.Order.id, m.Order.status, m.Order.shipping_total)
                .where(settled)
                .order_by(m.Order.created_at, m.Order.id)
            )
        ).all()
        line_refunds = (
            select(func.sum(m.AfterSalesLine.refund_amount))
            .where(m.AfterSalesLine.request_id == m.AfterSalesRequest.id)
            .scalar_subquery()
        )
        rows = await conn.execute(
            select(m.AfterSalesRequest.order_id, m.AfterSalesRequest.refund_amount, line_refunds)
            .join(m.Order, m.Order.id == m.AfterSalesRequest.order_id)
            .where(settled, _REFUNDING, m.AfterSalesRequest.refund_amount.is_not(None))
        )
        for order_id, whole, lines in rows:
            refunded[order_id] += max(ZERO, Decimal(whole or ZERO) - Decimal(lines or ZERO))
    return [
        ShippingLedgerLine(
            order_id=order.id,
            shipping=order.shipping_total,
            refunded=(
                order.shipping_total
                if order.status == OrderStatus.CANCELLED.value
                else min(order.shipping_total, refunded[order.id])
            ),
        )
        for order in orders
    ]


def _settled_orders(created_from: datetime, created_to: datetime) -> ColumnElement[bool]:
    """Orders placed in the period that reached PAID: by status, or, for one cancelled
    since, by its full or balance payment."""
    paid_in_full = exists().where(
        m.Payment.order_id == m.Order.id,
        m.Payment.stage.in_([PaymentStage.FULL.value, PaymentStage.BALANCE.value]),
    )
    return and_(
        m.Order.created_at >= created_from,
        m.Order.created_at < created_to,
        or_(m.Order.status.in_(_PAID_STATUSES), paid_in_full),
    )
