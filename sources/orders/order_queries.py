"""Reading orders in batches: by id, their lines and history, a page per customer, the
back office's listing, and what a customer has bought (for purchase limits). Listings are
newest first, keyset-paged on (created_at, id)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from . import models as m
from .orders import order_from_row
from .records import LineDiscount, Order, OrderLine, OrderPage, OrderStatus, StatusChange

_SORT = "ORDERS_NEWEST"
_NEWEST_FIRST = (m.Order.created_at.desc(), m.Order.id.desc())


async def orders_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Order]:
    async with db.connect() as conn:
        rows = await conn.execute(select(m.Order).where(m.Order.id.in_(set(ids))))
        return {row.id: order_from_row(row) for row in rows}


async def order_lines_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[OrderLine]]:
    """Every order asked for gets a list (empty for an unknown order), lines in id order."""
    ids = set(order_ids)
    discounts: dict[int, list[LineDiscount]] = defaultdict(list)
    async with db.connect() as conn:
        lines = (
            await conn.execute(
                select(m.OrderLine).where(m.OrderLine.order_id.in_(ids)).order_by(m.OrderLine.id)
            )
        ).all()
        if lines:
            rows = await conn.execute(
                select(m.OrderLineDiscount)
                .where(m.OrderLineDiscount.line_id.in_([line.id for line in lines]))
                .order_by(m.OrderLineDiscount.id)
            )
            for row in rows:
                discounts[row.line_id].append(
                    LineDiscount(row.promotion_id, row.promotion_name, row.amount)
                )
    found: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        found[line.order_id].append(_order_line(line, tuple(discounts.get(line.id, ()))))
    return {order_id: found.get(order_id, []) for order_id in order_ids}


async def status_history_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[StatusChange]]:
    """Oldest change first; the first one is the order's placement (from None)."""
    found: dict[int, list[StatusChange]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.OrderStatusChange)
            .where(m.OrderStatusChange.order_id.in_(set(order_ids)))
            .order_by(m.OrderStatusChange.id)
        )
        for row in rows:
            found[row.order_id].append(
                StatusChange(
                    order_id=row.order_id,
                    from_status=OrderStatus(row.from_status) if row.from_status else None,
                    to_status=OrderStatus(row.to_status),
                    at=row.at,
                    actor=row.actor,
                    reason=row.reason,
                )
            )
    return {order_id: found.get(order_id, []) for order_id in order_ids}


async def orders_for_customers(
    db: Database, customer_ids: Sequence[int], *, first: int, after: str | None = None
) -> dict[int, OrderPage]:
    """A page of each customer's orders, for all customers in one query (a window per
    customer) plus one for the totals."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    conditions: list[ColumnElement[bool]] = [m.Order.customer_id.in_(ids)]
    page_conditions = conditions + _after(after)
    ranked = (
        select(
            m.Order,
            func.row_number()
            .over(partition_by=m.Order.customer_id, order_by=_NEWEST_FIRST)
            .label("rank"),
        )
        .where(*page_conditions)
        .subquery()
    )
    grouped: dict[int, list[Order]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(ranked)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        for row in rows:
            grouped[row.customer_id].append(order_from_row(row))
        totals = {
            customer_id: int(count)
            for customer_id, count in await conn.execute(
                select(m.Order.customer_id, func.count())
                .where(*conditions)
                .group_by(m.Order.customer_id)
            )
        }
    return {
        customer_id: _page(grouped.get(customer_id, []), first, totals.get(customer_id, 0))
        for customer_id in customer_ids
    }


async def list_orders(
    db: Database,
    *,
    first: int,
    after: str | None = None,
    status: OrderStatus | None = None,
    customer_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> OrderPage:
    """The back office's listing, newest first; ``created_from`` and ``created_to`` bound
    ``created_at`` as a half-open range [from, to)."""
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(m.Order.status == status.value)
    if customer_id is not None:
        conditions.append(m.Order.customer_id == customer_id)
    if created_from is not None:
        conditions.append(m.Order.created_at >= created_from)
    if created_to is not None:
        conditions.append(m.Order.created_at < created_to)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Order)
            .where(*conditions, *_after(after))
            .order_by(*_NEWEST_FIRST)
            .limit(first + 1)
        )
        orders = [order_from_row(row) for row in rows]
        total = (
            await conn.execute(select(func.count()).select_from(m.Order).where(*conditions))
        ).scalar_one()
    return _page(orders, first, int(total))


async def purchased_quantities(
    db: Database, customer_id: int, sku_ids: Sequence[int]
) -> dict[int, int]:
    """Units of each SKU in the customer's orders that are not cancelled; every SKU asked
    for gets a number."""
    async with db.connect() as conn:
        return await purchased_on(conn, customer_id, sku_ids)


async def purchased_on(
    conn: AsyncConnection, customer_id: int, sku_ids: Sequence[int]
) -> dict[int, int]:
    """:func:`purchased_quantities` on a connection the caller holds (a combined read)."""
    rows = await conn.execute(
        select(m.OrderLine.sku_id, func.sum(m.OrderLine.quantity))
        .join(m.Order, m.Order.id == m.OrderLine.order_id)
        .where(
            m.Order.customer_id == customer_id,
            m.Order.status != OrderStatus.CANCELLED.value,
            m.OrderLine.sku_id.in_(set(sku_ids)),
        )
        .group_by(m.OrderLine.sku_id)
    )
    bought = {sku_id: int(units) for sku_id, units in rows}
    return {sku_id: bought.get(sku_id, 0) for sku_id in sku_ids}


def _after(cursor: str | None) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    key, last_id = decode_cursor(cursor, _SORT)
    if key is None:
        raise InvalidCursor("the cursor is malformed")
    try:
        created_at = datetime.fromisoformat(key)
    except ValueError as exc:
        raise InvalidCursor("the cursor is malformed") from exc
    if created_at.tzinfo is None:
        raise InvalidCursor("the cursor is malformed")
    return [
        or_(
            m.Order.created_at < created_at,
            and_(m.Order.created_at == created_at, m.Order.id < last_id),
        )
    ]


def _page(rows: list[Order], first: int, total: int) -> OrderPage:
    orders = rows[:first]
    return OrderPage(
        orders=orders,
        cursors=[encode_cursor(_SORT, o.created_at.isoformat(), o.id) for o in orders],
        has_next_page=len(rows) > first,
        total_count=total,
    )


def _order_line(row: Any, discounts: tuple[LineDiscount, ...]) -> OrderLine:
    # Columns by name: a SQLAlchemy Row's attributes cost a formatted and dropped
    # AttributeError each (catalog/store.py's _product); a page of orders reads hundreds.
    c = row._mapping
    return OrderLine(
        id=c["id"],
        order_id=c["order_id"],
        sku_id=c["sku_id"],
        product_id=c["product_id"],
        product_name=c["product_name"],
        sku_name=c["sku_name"],
        quantity=c["quantity"],
        unit_price=c["unit_price"],
        subtotal=c["subtotal"],
        discounts=discounts,
        total=c["total"],
        deposit=c["deposit"],
        fulfillment=c["fulfillment"],
        supplier_id=c["supplier_id"],
    )
