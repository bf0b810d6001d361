"""Coupon uses: the rows that count against a coupon's ``usage_limit`` (all customers) and
``per_customer_limit``.

What callers can rely on:

- **Never over the limit, under any concurrency.** Recording checks the counts and inserts
  in one write transaction that first locks the coupons' promotion rows, in id order (so two
  orders with the same coupons cannot deadlock): ``SELECT ... FOR UPDATE`` on PostgreSQL,
  where a second writer waits for the first to commit and its next statement then sees the
  first's use. On SQLite ``Database.begin()`` is ``BEGIN IMMEDIATE``, which already
  serializes writers (SQLAlchemy renders no ``FOR UPDATE`` there).
- **All or nothing.** When any coupon's total or per-customer limit would be exceeded,
  nothing is recorded and the refused promotion ids come back; the checkout reports
  ``COUPON_USAGE_LIMIT_REACHED`` for them and undoes the saga's earlier steps.
- **Idempotent by order.** Recording again for an ``order_ref`` that already has uses
  (released or not) is a no-op returning ``[]``: a retried saga step never counts twice,
  and a released order does not quietly take its coupons back.
- **Released exactly once.** One conditional UPDATE (``released_at IS NULL``): a second
  release, even a concurrent one, releases nothing. Released uses stop counting.

Only coupon promotions are recorded: ids of automatic promotions (or unknown ids) among
``promotion_ids`` are ignored, so a caller can pass a pricing result's
``applied_promotion_ids`` as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database

from . import models as m
from .engine import CouponUsage


async def coupon_usage(
    db: Database, promotion_ids: Sequence[int], customer_id: int | None
) -> dict[int, CouponUsage]:
    ids = sorted(set(promotion_ids))
    usage = dict.fromkeys(ids, CouponUsage(total_uses=0, customer_uses=0))
    if not ids:
        return usage
    async with db.connect() as conn:
        return await usage_on(conn, ids, customer_id)


async def usage_on(
    conn: AsyncConnection, promotion_ids: Sequence[int], customer_id: int | None
) -> dict[int, CouponUsage]:
    """:func:`coupon_usage` on a connection the caller holds (a combined read)."""
    ids = sorted(set(promotion_ids))
    usage = dict.fromkeys(ids, CouponUsage(total_uses=0, customer_uses=0))
    if ids:
        usage.update(await _active_uses(conn, ids, customer_id))
    return usage


async def record_coupon_uses(
    db: Database,
    *,
    order_ref: str,
    customer_id: int,
    promotion_ids: Sequence[int],
    at: datetime,
) -> list[int]:
    wanted = list(dict.fromkeys(promotion_ids))  # unique, in the caller's order
    if not wanted:
        return []
    async with db.begin() as conn:
        limits = {
            row.id: (row.usage_limit, row.per_customer_limit)
            for row in await conn.execute(
                select(m.Promotion.id, m.Promotion.usage_limit, m.Promotion.per_customer_limit)
                .where(m.Promotion.id.in_(wanted), m.Promotion.coupon_code.is_not(None))
                .order_by(m.Promotion.id)
                .with_for_update()
            )
        }
        coupons = [pid for pid in wanted if pid in limits]
        if not coupons or await _has_uses(conn, order_ref):
            return []
        usage = await _active_uses(conn, coupons, customer_id)
        refused = [
            pid for pid in coupons if _is_reached(limits[pid], usage.get(pid, CouponUsage(0, 0)))
        ]
        if refused:
            return refused
        await conn.execute(
            insert(m.CouponUse),
            [
                {
                    "promotion_id": pid,
                    "customer_id": customer_id,
                    "order_ref": order_ref,
                    "used_at": at,
                    "released_at": None,
                }
                for pid in coupons
            ],
        )
    return []


async def release_coupon_uses(db: Database, order_ref: str, at: datetime) -> int:
    async with db.begin() as conn:
        result = await conn.execute(
            update(m.CouponUse)
            .where(m.CouponUse.order_ref == order_ref, m.CouponUse.released_at.is_(None))
            .values(released_at=at)
        )
    return int(result.rowcount)


def _is_reached(limits: tuple[int | None, int | None], usage: CouponUsage) -> bool:
    usage_limit, per_customer_limit = limits
    return (usage_limit is not None and usage.total_uses >= usage_limit) or (
        per_customer_limit is not None and usage.customer_uses >= per_customer_limit
    )


async def _has_uses(conn: AsyncConnection, order_ref: str) -> bool:
    found = await conn.execute(
        select(m.CouponUse.id).where(m.CouponUse.order_ref == order_ref).limit(1)
    )
    return found.first() is not None


async def _active_uses(
    conn: AsyncConnection, promotion_ids: Sequence[int], customer_id: int | None
) -> dict[int, CouponUsage]:
    """Unreleased uses per promotion: in total, and by ``customer_id`` (0 when None)."""
    customer_uses = (
        func.coalesce(func.sum(case((m.CouponUse.customer_id == customer_id, 1), else_=0)), 0)
        if customer_id is not None
        else literal_column("0")
    )
    rows = await conn.execute(
        select(m.CouponUse.promotion_id, func.count(), customer_uses)
        .where(m.CouponUse.promotion_id.in_(promotion_ids), m.CouponUse.released_at.is_(None))
        .group_by(m.CouponUse.promotion_id)
    )
    return {
        pid: CouponUsage(total_uses=int(total), customer_uses=int(own)) for pid, total, own in rows
    }
