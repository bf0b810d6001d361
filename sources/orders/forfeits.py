"""Forfeited presale deposits: what the shop kept of presale orders cancelled because
their balance was not paid by the presale's deadline (定金不退, as the presale's terms on
the product page say). Finance reports them as their own line, beside the sales.

An order's deposit counts as forfeited when the order is CANCELLED, its deposit was paid,
no full or balance payment ever came, and only for the part of the deposit no refund row
gives back (a staff cancel refunds the deposit; the sweeper's does not)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from sources.common.db import Database

from . import models as m
from .records import ForfeitedDeposit, OrderStatus, PaymentStage

_DEPOSIT = PaymentStage.DEPOSIT.value


async def forfeited_deposits(
    db: Database, *, created_from: datetime, created_to: datetime
) -> list[ForfeitedDeposit]:
    """Orders placed in the period whose deposit the shop kept, by order id."""
    refunded = (
        select(func.coalesce(func.sum(m.Refund.amount), 0))
        .where(m.Refund.order_id == m.Order.id, m.Refund.stage == _DEPOSIT)
        .scalar_subquery()
    )
    rest = aliased(m.Payment)  # the outer query joins the deposit's row: not that one
    paid_in_full = exists().where(
        rest.order_id == m.Order.id,
        rest.stage.in_([PaymentStage.FULL.value, PaymentStage.BALANCE.value]),
    )
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Order.id, m.Order.currency, m.Payment.amount, refunded)
            .join(m.Payment, and_(m.Payment.order_id == m.Order.id, m.Payment.stage == _DEPOSIT))
            .where(
                m.Order.status == OrderStatus.CANCELLED.value,
                m.Order.created_at >= created_from,
                m.Order.created_at < created_to,
                ~paid_in_full,
            )
            .order_by(m.Order.id)
        )
        kept = [
            (order_id, currency, Decimal(paid) - Decimal(back or 0))
            for order_id, currency, paid, back in rows
        ]
    return [
        ForfeitedDeposit(order_id, amount, currency)
        for order_id, currency, amount in kept
        if amount > 0
    ]
