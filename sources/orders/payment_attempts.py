"""Payment attempts: one try at paying one stage of an order through a provider.

An attempt is found by the number the provider knows it by (``out_trade_no``, unique), and
its status moves only by conditional UPDATEs, so racing callers (ten copies of one
notification, a notification and the buyer's return) change it once. Turning an attempt
PAID happens with the payment it records (``payments.record_payment``), never alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select, update

from sources.common.db import Database

from . import models as m
from .order_queries import orders_by_ids
from .records import (
    AttemptStatus,
    NewPaymentAttempt,
    Order,
    OrderStatus,
    PaymentActionKind,
    PaymentAttempt,
    PaymentStage,
)

_DEPOSIT = PaymentStage.DEPOSIT.value
_BALANCE = PaymentStage.BALANCE.value


def attempt_from_row(row: Any) -> PaymentAttempt:
    return PaymentAttempt(
        id=row.id,
        order_id=row.order_id,
        stage=PaymentStage(row.stage),
        provider=row.provider,
        out_trade_no=row.out_trade_no,
        amount=row.amount,
        currency=row.currency,
        status=AttemptStatus(row.status),
        reference=row.reference,
        action_kind=PaymentActionKind(row.action_kind),
        action=row.action,
        note=row.note,
        created_at=row.created_at,
        expires_at=row.expires_at,
        paid_at=row.paid_at,
    )


async def create_payment_attempt(
    db: Database, new: NewPaymentAttempt, now: datetime
) -> PaymentAttempt:
    async with db.begin() as conn:
        row = (
            await conn.execute(
                insert(m.PaymentAttempt)
                .values(
                    order_id=new.order_id,
                    stage=new.stage.value,
                    provider=new.provider,
                    out_trade_no=new.out_trade_no,
                    amount=new.amount,
                    currency=new.currency,
                    status=AttemptStatus.PENDING.value,
                    action_kind=new.action_kind.value,
                    action=new.action,
                    note="",
                    created_at=now,
                    expires_at=new.expires_at,
                    updated_at=now,
                )
                .returning(*m.PaymentAttempt.__table__.c)
            )
        ).one()
    return attempt_from_row(row)


async def payment_attempts_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[PaymentAttempt]]:
    """Every order asked for gets a list, oldest attempt first."""
    found: dict[int, list[PaymentAttempt]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.PaymentAttempt)
            .where(m.PaymentAttempt.order_id.in_(set(order_ids)))
            .order_by(m.PaymentAttempt.created_at, m.PaymentAttempt.id)
        )
        for row in rows:
            found[row.order_id].append(attempt_from_row(row))
    return {order_id: found.get(order_id, []) for order_id in order_ids}


async def payment_attempts_by_trade_nos(
    db: Database, trade_nos: Sequence[str]
) -> dict[str, PaymentAttempt]:
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.PaymentAttempt).where(m.PaymentAttempt.out_trade_no.in_(set(trade_nos)))
        )
        return {row.out_trade_no: attempt_from_row(row) for row in rows}


async def mark_payment_attempt(
    db: Database,
    out_trade_no: str,
    *,
    to: AttemptStatus,
    allowed_from: Collection[AttemptStatus],
    note: str,
    reference: str | None,
    now: datetime,
) -> PaymentAttempt | None:
    """One conditional move; None (nothing written) when the attempt is missing or not in
    ``allowed_from``. FLAGGED and LATE keep when the provider's money came (``paid_at``)."""
    values: dict[str, Any] = {"status": to.value, "note": note, "updated_at": now}
    if reference is not None:
        values["reference"] = reference
    if to in (AttemptStatus.FLAGGED, AttemptStatus.LATE):
        values["paid_at"] = now
    async with db.begin() as conn:
        row = (
            await conn.execute(
                update(m.PaymentAttempt)
                .where(
                    m.PaymentAttempt.out_trade_no == out_trade_no,
                    m.PaymentAttempt.status.in_([s.value for s in allowed_from]),
                )
                .values(**values)
                .returning(*m.PaymentAttempt.__table__.c)
            )
        ).one_or_none()
    return None if row is None else attempt_from_row(row)


async def close_payment_attempts(db: Database, order_id: int, now: datetime) -> int:
    """The order's PENDING attempts become CLOSED (the order expired or was cancelled)."""
    async with db.begin() as conn:
        result = await conn.execute(
            update(m.PaymentAttempt)
            .where(
                m.PaymentAttempt.order_id == order_id,
                m.PaymentAttempt.status == AttemptStatus.PENDING.value,
            )
            .values(status=AttemptStatus.CLOSED.value, updated_at=now)
        )
    return int(result.rowcount or 0)


async def attempts_paid_between(
    db: Database, *, paid_from: datetime, paid_to: datetime, provider: str
) -> list[PaymentAttempt]:
    """Attempts the provider took money for in [paid_from, paid_to): PAID, and the FLAGGED
    and LATE ones (money came, the shop did not keep it as a payment)."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.PaymentAttempt)
            .where(
                m.PaymentAttempt.provider == provider,
                m.PaymentAttempt.paid_at >= paid_from,
                m.PaymentAttempt.paid_at < paid_to,
            )
            .order_by(m.PaymentAttempt.paid_at, m.PaymentAttempt.id)
        )
        return [attempt_from_row(row) for row in rows]


async def unpaid_orders_due(
    db: Database, *, created_before: datetime, limit: int = 500
) -> list[Order]:
    """PENDING_PAYMENT orders placed before ``created_before`` with no payment at all (a
    presale whose deposit is paid waits for its balance deadline, not this one), oldest
    first. Read through the (status, created_at) index."""
    async with db.connect() as conn:
        ids = (
            await conn.execute(
                select(m.Order.id)
                .where(
                    m.Order.status == OrderStatus.PENDING_PAYMENT.value,
                    m.Order.created_at < created_before,
                    ~exists().where(m.Payment.order_id == m.Order.id),
                )
                .order_by(m.Order.created_at, m.Order.id)
                .limit(limit)
            )
        ).scalars()
        order_ids = list(ids)
    found = await orders_by_ids(db, order_ids)
    return [found[i] for i in order_ids if i in found]


async def orders_awaiting_balance(db: Database, *, limit: int = 500) -> list[Order]:
    """PENDING_PAYMENT orders whose deposit is paid and balance is not, oldest first."""
    async with db.connect() as conn:
        ids = (
            await conn.execute(
                select(m.Order.id)
                .where(
                    m.Order.status == OrderStatus.PENDING_PAYMENT.value,
                    exists().where(m.Payment.order_id == m.Order.id, m.Payment.stage == _DEPOSIT),
                    ~exists().where(m.Payment.order_id == m.Order.id, m.Payment.stage == _BALANCE),
                )
                .order_by(m.Order.created_at, m.Order.id)
                .limit(limit)
            )
        ).scalars()
        order_ids = list(ids)
    found = await orders_by_ids(db, order_ids)
    return [found[i] for i in order_ids if i in found]
