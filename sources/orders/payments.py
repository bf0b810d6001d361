"""Payments: money received for an order, recorded once per stage, together with the
status move it causes.

A full payment moves PENDING_PAYMENT -> PAID; a presale order's deposit leaves it in
PENDING_PAYMENT (the history still shows the deposit) and its balance moves it to PAID. The
order row is locked first, so of any number of concurrent notices for one stage exactly one
writes; the unique (order, stage) key backs that up in the database. A payment a provider
took names its attempt (a ``ProviderReceipt``): the attempt turns PAID in the same
transaction, so a notification and the buyer's return racing on one attempt apply once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, update

from sources.common.db import Database

from . import models as m
from .orders import lock_order_status, move_order, order_from_row
from .records import AttemptStatus, Order, OrderStatus, Payment, PaymentStage, ProviderReceipt


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
    receipt: ProviderReceipt | None = None,
) -> Order | None:
    """The order after the payment, or None (nothing written) when the order is missing,
    not in ``allowed_from``, already has a payment of this stage, or ``receipt`` names an
    attempt of another order or one no longer PENDING or CLOSED."""
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
        if receipt is not None:
            taken = await conn.execute(
                update(m.PaymentAttempt)
                .where(
                    m.PaymentAttempt.out_trade_no == receipt.out_trade_no,
                    m.PaymentAttempt.order_id == order_id,
                    m.PaymentAttempt.stage == stage.value,
                    m.PaymentAttempt.status.in_(
                        [AttemptStatus.PENDING.value, AttemptStatus.CLOSED.value]
                    ),
                )
                .values(
                    status=AttemptStatus.PAID.value,
                    reference=receipt.reference,
                    paid_at=now,
                    updated_at=now,
                )
            )
            if taken.rowcount != 1:
                return None  # nothing written yet: the transaction ends empty
        await conn.execute(
            insert(m.Payment).values(
                order_id=order_id,
                stage=stage.value,
                amount=amount,
                at=now,
                actor=actor,
                provider=receipt.provider if receipt else "manual",
                reference=receipt.reference if receipt else None,
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
                    provider=row.provider,
                    reference=row.reference,
                )
            )
    return {order_id: found.get(order_id, []) for order_id in order_ids}
