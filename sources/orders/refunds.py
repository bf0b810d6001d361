"""Refunds through a provider, keyed by the request number the provider sees.

Asking for a refund twice (a retried cancellation, two staff, a crash and a rerun) finds
the row the first ask wrote: the unique ``request_no`` makes the insert a no-op, so the
shop and the provider each hold one refund. Results are recorded by conditional UPDATE:
a SUCCEEDED refund never goes back to FAILED, whatever a late answer says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from sources.common.db import Database

from . import models as m
from .dialect import upsert_insert
from .records import NewRefund, PaymentStage, Refund, RefundStatus


def refund_from_row(row: Any) -> Refund:
    return Refund(
        id=row.id,
        order_id=row.order_id,
        attempt_id=row.attempt_id,
        stage=PaymentStage(row.stage),
        provider=row.provider,
        request_no=row.request_no,
        amount=row.amount,
        currency=row.currency,
        status=RefundStatus(row.status),
        reason=row.reason,
        tries=row.tries,
        last_error=row.last_error,
        reference=row.reference,
        created_at=row.created_at,
        updated_at=row.updated_at,
        succeeded_at=row.succeeded_at,
    )


async def request_refunds(
    db: Database, refunds: Sequence[NewRefund], now: datetime
) -> list[Refund]:
    """The refunds asked for, in the order asked, as stored: new ones PENDING, known
    request numbers unchanged."""
    if not refunds:
        return []
    async with db.begin() as conn:
        for new in refunds:
            statement = upsert_insert(conn, m.Refund.__table__).values(
                order_id=new.order_id,
                attempt_id=new.attempt_id,
                stage=new.stage.value,
                provider=new.provider,
                request_no=new.request_no,
                amount=new.amount,
                currency=new.currency,
                status=RefundStatus.PENDING.value,
                reason=new.reason,
                tries=0,
                created_at=now,
                updated_at=now,
            )
            await conn.execute(statement.on_conflict_do_nothing(index_elements=["request_no"]))
        rows = await conn.execute(
            select(m.Refund).where(m.Refund.request_no.in_([r.request_no for r in refunds]))
        )
        stored = {row.request_no: refund_from_row(row) for row in rows}
    return [stored[r.request_no] for r in refunds]


async def refunds_by_order_ids(db: Database, order_ids: Sequence[int]) -> dict[int, list[Refund]]:
    found: dict[int, list[Refund]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Refund)
            .where(m.Refund.order_id.in_(set(order_ids)))
            .order_by(m.Refund.created_at, m.Refund.id)
        )
        for row in rows:
            found[row.order_id].append(refund_from_row(row))
    return {order_id: found.get(order_id, []) for order_id in order_ids}


async def refunds_due(db: Database, *, updated_before: datetime, limit: int = 200) -> list[Refund]:
    """PENDING and FAILED refunds untouched since ``updated_before``: asked, but not (yet)
    answered by the provider with a success; the sweeper asks again."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Refund)
            .where(
                or_(
                    m.Refund.status == RefundStatus.PENDING.value,
                    m.Refund.status == RefundStatus.FAILED.value,
                ),
                m.Refund.updated_at < updated_before,
            )
            .order_by(m.Refund.updated_at, m.Refund.id)
            .limit(limit)
        )
        return [refund_from_row(row) for row in rows]


async def record_refund_result(
    db: Database,
    refund_id: int,
    *,
    succeeded: bool,
    reference: str | None,
    error: str | None,
    now: datetime,
) -> Refund | None:
    """One more try counted and its outcome kept; None when the refund is missing or has
    already succeeded (nothing written)."""
    values: dict[str, Any] = {
        "status": (RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED).value,
        "tries": m.Refund.tries + 1,
        "last_error": None if succeeded else (error or "unknown error")[:2000],
        "updated_at": now,
    }
    if succeeded:
        values["succeeded_at"] = now
        if reference is not None:
            values["reference"] = reference
    async with db.begin() as conn:
        row = (
            await conn.execute(
                update(m.Refund)
                .where(m.Refund.id == refund_id, m.Refund.status != RefundStatus.SUCCEEDED.value)
                .values(**values)
                .returning(*m.Refund.__table__.c)
            )
        ).one_or_none()
    return None if row is None else refund_from_row(row)


async def refunds_succeeded_between(
    db: Database, *, succeeded_from: datetime, succeeded_to: datetime, provider: str
) -> list[Refund]:
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Refund)
            .where(
                m.Refund.provider == provider,
                m.Refund.status == RefundStatus.SUCCEEDED.value,
                m.Refund.succeeded_at >= succeeded_from,
                m.Refund.succeeded_at < succeeded_to,
            )
            .order_by(m.Refund.succeeded_at, m.Refund.id)
        )
        return [refund_from_row(row) for row in rows]
