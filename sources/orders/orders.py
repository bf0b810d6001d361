"""Placing an order and changing its status, each in one transaction.

``create_order`` writes the order, its lines and discounts, its first status, completes
the cart and finishes the checkout attempt together: a failure at any step leaves none of
it. One cart gives one order: the cart's conditional OPEN -> COMPLETED (and a unique
``orders.cart_id``) refuse a second. ``transition_order`` changes a status exactly once
however many callers race: the row is locked, then updated only from an allowed status.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, case, cast, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.db import Database
from sources.common.models import table_of

from . import models as m
from . import order_statement
from .addresses import address_from_row, address_values
from .carts import claim_and_complete_cart, claim_open_cart, complete_cart
from .checkout_attempts import finish_checkout_attempt
from .errors import PurchaseLimitReached
from .records import NewOrder, Order, OrderLine, OrderStatus, PlacedOrder


async def _check_purchase_limits(conn: AsyncConnection, new: NewOrder) -> None:
    """Validation checked the limits before the saga started; two checkouts of one customer
    (two tabs, two keys) could both have passed. Under the customer's row lock (SQLite's
    writers are serialised already) the units bought so far are counted again."""
    limited = {line.sku_id: line.purchase_limit for line in new.lines if line.purchase_limit}
    if not limited:
        return
    await conn.execute(
        select(m.Customer.id).where(m.Customer.id == new.customer_id).with_for_update()
    )
    rows = await conn.execute(
        select(m.OrderLine.sku_id, func.sum(m.OrderLine.quantity))
        .join(m.Order, m.Order.id == m.OrderLine.order_id)
        .where(
            m.Order.customer_id == new.customer_id,
            m.Order.status != OrderStatus.CANCELLED.value,
            m.OrderLine.sku_id.in_(limited),
        )
        .group_by(m.OrderLine.sku_id)
    )
    bought = {sku_id: int(units) for sku_id, units in rows}
    wanted: dict[int, int] = {}
    for line in new.lines:
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    over = [
        sku_id
        for sku_id, limit in limited.items()
        if bought.get(sku_id, 0) + wanted[sku_id] > limit
    ]
    if over:
        raise PurchaseLimitReached(sorted(over))


def order_number(order_id: int, placed_at: datetime) -> str:
    return f"SO-{_day(placed_at)}-{order_id:06d}"


def _day(placed_at: datetime) -> str:
    return f"{placed_at.astimezone(UTC):%Y%m%d}"


# The order's writes, built once against the tables (Core, not the ORM classes): a
# statement kept between calls keeps its SQLAlchemy cache key and skips the ORM's DML
# plugin, so a checkout pays neither building its statements nor their keys.
_ORDERS = table_of(m.Order)
_ORDER_LINES = table_of(m.OrderLine)
_INSERT_ORDER = insert(_ORDERS).returning(*_ORDERS.c)
_ORDER_VALUES = (
    "customer_id", "cart_id", "order_ref", "status", "currency", "subtotal",
    "discount_total", "shipping_total", "total", "deposit_due", "created_at", "updated_at",
    *address_values(None),
)  # fmt: skip


def _numbered_order_insert() -> Any:
    """PostgreSQL: the order with its number in one statement. The id is drawn from the
    table's own sequence in a CTE, and the number made of it as ``order_number`` makes it
    (``SO-<day>-<id, at least 6 digits>``), so neither a placeholder number nor its
    ``UPDATE`` is needed. SQLite draws the id with the cart's completion
    (carts.claim_and_complete_cart) and inserts the order with both."""
    drawn = select(func.nextval(func.pg_get_serial_sequence("orders", "id")).label("id")).cte(
        "drawn"
    )
    digits = cast(drawn.c.id, Text)
    number = (
        literal("SO-", Text)
        + bindparam("p_day", type_=Text)
        + literal("-", Text)
        + case((drawn.c.id < 1_000_000, func.lpad(digits, 6, "0")), else_=digits)
    )
    values = [bindparam(name, type_=_ORDERS.c[name].type) for name in _ORDER_VALUES]
    return (
        insert(_ORDERS)
        .from_select(["id", "number", *_ORDER_VALUES], select(drawn.c.id, number, *values))
        .returning(*_ORDERS.c)
    )


_NUMBERED_ORDER = _numbered_order_insert()
_LINE_COLUMNS = (
    "order_id", "sku_id", "product_id", "product_name", "sku_name", "quantity",
    "unit_price", "subtotal", "total", "deposit", "fulfillment", "supplier_id",
)  # fmt: skip


@functools.lru_cache(maxsize=64)
def _insert_order_lines(rows: int) -> Any:
    """One INSERT of ``rows`` lines on both backends, built once per number of lines (values
    bound as ``<column>_<i>``, run by lean.py), returning the new ids. They are matched to
    the lines by sorting them: a multi-row VALUES is inserted row after row in its order,
    so each row's id, from the sequence (PostgreSQL) or the next rowid (SQLite), is larger
    than the one before, whatever order RETURNING gives them back in. SQLAlchemy's
    parameter-ordered RETURNING cost a statement per row on SQLite and its sentinel
    bookkeeping on PostgreSQL."""
    return (
        insert(_ORDER_LINES)
        .values(
            [
                {
                    name: bindparam(f"{name}_{i}", type_=_ORDER_LINES.c[name].type)
                    for name in _LINE_COLUMNS
                }
                for i in range(rows)
            ]
        )
        .returning(_ORDER_LINES.c.id)
    )


def _order_line_values(order_id: int, new: NewOrder) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, line in enumerate(new.lines):
        values[f"order_id_{i}"] = order_id
        values[f"sku_id_{i}"] = line.sku_id
        values[f"product_id_{i}"] = line.product_id
        values[f"product_name_{i}"] = line.product_name
        values[f"sku_name_{i}"] = line.sku_name
        values[f"quantity_{i}"] = line.quantity
        values[f"unit_price_{i}"] = line.unit_price
        values[f"subtotal_{i}"] = line.subtotal
        values[f"total_{i}"] = line.total
        values[f"deposit_{i}"] = line.deposit
        values[f"fulfillment_{i}"] = line.fulfillment
        values[f"supplier_id_{i}"] = line.supplier_id
    return values


_INSERT_DISCOUNTS = insert(table_of(m.OrderLineDiscount))
_INSERT_STATUS_CHANGE = insert(table_of(m.OrderStatusChange))


async def create_order(
    db: Database, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
) -> Order:
    placed = await create_order_with_lines(
        db, new, idempotency_key=idempotency_key, actor=actor, now=now
    )
    return placed.order


async def create_order_with_lines(
    db: Database, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
) -> PlacedOrder:
    if not new.lines:
        raise ValueError("an order needs at least one line")
    if not db.is_sqlite and not any(line.purchase_limit for line in new.lines):
        # One statement, one round trip (order_statement.py); a limit needs the lock first.
        async with db.write_alone() as conn:
            row, line_ids = await order_statement.place_order(
                conn, new, idempotency_key=idempotency_key, actor=actor, now=now, day=_day(now)
            )
        return PlacedOrder(order_from_row(row), _order_lines(row.id, line_ids, new))
    async with db.begin(on_loop=True) as conn:  # SQLite: a few small statements (db.py)
        # The cart first: it fails fast on a completed cart, and every writer of a cart
        # takes its lock before anything else, so two checkouts cannot deadlock. SQLite
        # completes it at once and draws the order's id with it (its writers are serialised).
        drawn = None
        if db.is_sqlite:
            drawn = await claim_and_complete_cart(
                conn, new.cart_id, customer_id=new.customer_id, now=now
            )
        else:
            await claim_open_cart(conn, new.cart_id, customer_id=new.customer_id, now=now)
        await _check_purchase_limits(conn, new)
        values = order_statement.order_values(new, now)
        if drawn is None:
            row = (await lean.execute(conn, _NUMBERED_ORDER, {**values, "p_day": _day(now)})).one()
        else:  # the id drawn with the cart's completion, so the number too
            number = order_number(drawn, now)
            row = (
                await lean.execute(conn, _INSERT_ORDER, {**values, "id": drawn, "number": number})
            ).one()
        order_id = row.id
        inserted = await lean.execute(
            conn, _insert_order_lines(len(new.lines)), _order_line_values(order_id, new)
        )
        line_ids = sorted(inserted.scalars().all())
        discounts = [
            {
                "line_id": line_id,
                "promotion_id": discount.promotion_id,
                "promotion_name": discount.promotion_name,
                "amount": discount.amount,
            }
            for line_id, line in zip(line_ids, new.lines, strict=True)
            for discount in line.discounts
        ]
        if discounts:
            await lean.execute_many(conn, _INSERT_DISCOUNTS, discounts)
        await lean.execute(
            conn,
            _INSERT_STATUS_CHANGE,
            {
                "order_id": order_id,
                "from_status": None,
                "to_status": OrderStatus.PENDING_PAYMENT.value,
                "at": now,
                "actor": actor,
                "reason": "order placed",
            },
        )
        if drawn is None:
            await complete_cart(conn, new.cart_id, order_id=order_id, now=now)
        await finish_checkout_attempt(
            conn,
            customer_id=new.customer_id,
            idempotency_key=idempotency_key,
            order_ref=new.order_ref,
            order_id=order_id,
            now=now,
        )
    return PlacedOrder(order_from_row(row), _order_lines(order_id, line_ids, new))


def _order_lines(order_id: int, line_ids: list[int], new: NewOrder) -> list[OrderLine]:
    return [
        OrderLine(
            id=line_id,
            order_id=order_id,
            sku_id=line.sku_id,
            product_id=line.product_id,
            product_name=line.product_name,
            sku_name=line.sku_name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            subtotal=line.subtotal,
            discounts=line.discounts,
            total=line.total,
            deposit=line.deposit,
            fulfillment=line.fulfillment,
            supplier_id=line.supplier_id,
        )
        for line_id, line in zip(line_ids, new.lines, strict=True)
    ]


async def transition_order(
    db: Database,
    order_id: int,
    *,
    to: OrderStatus,
    allowed_from: Collection[OrderStatus],
    actor: str,
    reason: str,
    now: datetime,
) -> Order | None:
    """Moves the order to ``to`` and records why; None (and no change) when the order does
    not exist or is not in one of ``allowed_from``."""
    allowed = {status.value for status in allowed_from}
    async with db.begin() as conn:
        current = await lock_order_status(conn, order_id)
        if current is None or current not in allowed:
            return None
        row = await move_order(
            conn, order_id, current=current, to=to, actor=actor, reason=reason, now=now
        )
    return None if row is None else order_from_row(row)


async def lock_order_status(conn: AsyncConnection, order_id: int) -> str | None:
    """The order's status, its row locked until the transaction ends; None when there is no
    such order. FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already excludes other
    writers): a racing writer of the order waits here, then sees what this one wrote."""
    status: str | None = (
        await conn.execute(select(m.Order.status).where(m.Order.id == order_id).with_for_update())
    ).scalar_one_or_none()
    return status


async def move_order(
    conn: AsyncConnection,
    order_id: int,
    *,
    current: str,
    to: OrderStatus,
    actor: str,
    reason: str,
    now: datetime,
) -> Any | None:
    """One conditional UPDATE from ``current`` to ``to`` and its history row; the updated
    order row, or None (nothing written) when the order is no longer in ``current``."""
    row = (
        await conn.execute(
            update(m.Order)
            .where(m.Order.id == order_id, m.Order.status == current)
            .values(status=to.value, updated_at=now)
            .returning(*m.Order.__table__.c)
        )
    ).one_or_none()
    if row is None:
        return None
    await conn.execute(
        insert(m.OrderStatusChange).values(
            order_id=order_id,
            from_status=current,
            to_status=to.value,
            at=now,
            actor=actor,
            reason=reason,
        )
    )
    return row


def order_from_row(row: Any) -> Order:
    c = row._mapping  # by name, not as attributes (order_queries.py's _order_line)
    return Order(
        id=c["id"],
        number=c["number"],
        customer_id=c["customer_id"],
        cart_id=c["cart_id"],
        order_ref=c["order_ref"],
        status=OrderStatus(c["status"]),
        currency=c["currency"],
        subtotal=c["subtotal"],
        discount_total=c["discount_total"],
        shipping_total=c["shipping_total"],
        total=c["total"],
        deposit_due=c["deposit_due"],
        shipping_address=address_from_row(row),
        created_at=c["created_at"],
        updated_at=c["updated_at"],
    )
