"""Payments: money received for an order, recorded once per stage, together with the
status move it causes.

A full payment moves PENDING_PAYMENT -> PAID; a presale order's deposit leaves it in
PENDING_PAYMENT (the history still shows the deposit) and its balance moves it to PAID. The
order row is locked first, so of any number of concurrent notices for one stage exactly one
writes; the unique (order, stage) key backs that up in the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select

from sources.common.db import Database

from . import models as m
from .orders import lock_order_status, move_order, order_from_row
from .records import Order, OrderStatus, Payment, PaymentStage


async def record_payment(
    db: Database,
    order_id: int,
    *,
    stage: PaymentStage,
    amount: Decimal,
    to: OrderStatus,
    allowed_from: Collection[OrderStatus],
    actor: str,
    now: datetime,
) -> Order | None:
    """The order after the payment, or None (nothing written) when the order is missing,
    not in ``allowed_from``, or already has a payment of this stage."""
    if amount < 0:
        raise ValueError(f"a payment cannot be negative, got {amount}")
    allowed = {status.value for status in allowed_from}
    async with db.begin() as conn:
        current = await lock_order_status(conn, order_id)
        if current is None or current not in allowed:
            return None
        paid = (
            await conn.execute(
                select(m.Payment.id).where(
                    m.Payment.order_id == order_id, m.Payment.stage == stage.value
                )
            )
        ).first()
        if paid is not None:
            return None
        await conn.execute(
            insert(m.Payment).values(
                order_id=order_id, stage=stage.value, amount=amount, at=now, actor=actor
            )
        )
        row = await move_order(
            conn,
            order_id,
            current=current,
            to=to,
            actor=actor,
            reason=f"payment {stage.value.lower()}",
            now=now,
        )
        if row is None:  # unreachable while the lock holds; never keep a payment without it
            raise RuntimeError(f"order {order_id} changed under its lock")
    return order_from_row(row)


async def payments_by_order_ids(db: Database, order_ids: Sequence[int]) -> dict[int, list[Payment]]:
    """Every order asked for gets a list, oldest payment first."""
    found: dict[int, list[Payment]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Payment)
            .where(m.Payment.order_id.in_(set(order_ids)))
            .order_by(m.Payment.at, m.Payment.id)
        )
        for row in rows:
            found[row.order_id].append(
                Payment(
                    id=row.id,
                    order_id=row.order_id,
                    stage=PaymentStage(row.stage),
                    amount=row.amount,
                    at=row.at,
                    actor=row.actor,
                )
            )
    return {order_id: found.get(order_id, []) for order_id in order_ids}
