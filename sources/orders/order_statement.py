"""PostgreSQL: the whole order placement as one statement, one round trip, no BEGIN and
no COMMIT (a single statement is atomic: all of it is written, or none).

What ``orders.create_order_with_lines`` does in a transaction of six statements (the
cart's claim, the order, its lines, their discounts, its first status, the cart's
completion, the attempt's finish) is here one statement of data-modifying CTEs, the
lines and discounts passed as arrays (``unnest ... WITH ORDINALITY``):

- the checkout attempt is finished first (``order_id IS NULL``: an abandoned, swept or
  finished attempt matches nothing), and every later write is made ``FROM`` the row it
  returned, so a lost attempt writes nothing at all (no rows back; CheckoutAttemptLost);
- the cart is completed (OPEN, the viewer's or anonymous) in one conditional UPDATE that
  also claims it for the customer; a refused cart writes no order, and the attempt, which
  already names the order's id, then fails its foreign key to ``orders`` at the end of the
  statement: the whole statement is undone (an IntegrityError, told apart by reading the
  cart: CartClosed or CartNotFound);
- the order's id is drawn from its sequence (so the number is made in the same statement,
  as ``orders._numbered_order_insert`` does), its lines are inserted in their order (ids
  rise with the ordinality, so sorted ids match the lines, as for the multi-row VALUES of
  the transaction path), the discounts join their line by that order.

Lock order: the attempt's row, then the cart's (the transaction path takes the cart's
first). Two placements can only wait on each other through one attempt and one cart, and
an attempt has one placement at a time (checkout_start's claim); were a stale take-over to
race the two paths anyway, PostgreSQL would break the cycle by failing one statement,
which writes nothing and is undone by its saga like any other failure.

Orders with a purchase limit take the transaction path: their count of units already
bought needs the customer's row lock before it, which one statement cannot order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Numeric, String, Text, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.models import table_of

from . import models as m
from .addresses import address_values
from .errors import CartClosed, CartNotFound, CheckoutAttemptLost
from .records import AttemptState, CartStatus, NewOrder, OrderStatus

_ORDERS = table_of(m.Order)
_CARTS = table_of(m.Cart)
_ADDRESS = tuple(address_values(None))
_ORDER_VALUES = (
    "customer_id", "cart_id", "order_ref", "status", "currency", "subtotal",
    "discount_total", "shipping_total", "total", "deposit_due", "created_at", "updated_at",
    *_ADDRESS,
)  # fmt: skip
_MONEY = Numeric(12, 2, asdecimal=True)
# The lines' arrays: (parameter, SQL column, element type), in the INSERT's column order.
_LINE_ARRAYS = (
    ("l_sku_id", "sku_id", Integer()),
    ("l_product_id", "product_id", Integer()),
    ("l_product_name", "product_name", Text()),
    ("l_sku_name", "sku_name", Text()),
    ("l_quantity", "quantity", Integer()),
    ("l_unit_price", "unit_price", _MONEY),
    ("l_subtotal", "subtotal", _MONEY),
    ("l_total", "total", _MONEY),
    ("l_deposit", "deposit", _MONEY),
    ("l_fulfillment", "fulfillment", Text()),
    ("l_supplier_id", "supplier_id", Integer()),
)
_DISCOUNT_ARRAYS = (
    ("d_line", "n", Integer()),
    ("d_promotion_id", "promotion_id", Integer()),
    ("d_promotion_name", "promotion_name", Text()),
    ("d_amount", "amount", _MONEY),
)


def _place_order_statement() -> Any:
    line_columns = ", ".join(sql for _, sql, _ in _LINE_ARRAYS)
    line_arrays = ", ".join(f":{name}" for name, _, _ in _LINE_ARRAYS)
    discount_columns = ", ".join(sql for _, sql, _ in _DISCOUNT_ARRAYS)
    discount_arrays = ", ".join(f":{name}" for name, _, _ in _DISCOUNT_ARRAYS)
    order_values = ", ".join(f":{name}" for name in _ORDER_VALUES)
    # Named, not *: the result's columns are matched by position to the table's.
    order_columns = ", ".join(c.name for c in _ORDERS.c)
    sql = f"""
WITH drawn AS (
    SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id
), finished AS (
    UPDATE checkout_attempts
    SET order_id = drawn.id, state = :done, updated_at = :updated_at
    FROM drawn
    WHERE checkout_attempts.customer_id = :customer_id
      AND checkout_attempts.idempotency_key = :idempotency_key
      AND checkout_attempts.order_ref = :order_ref
      AND checkout_attempts.order_id IS NULL
    RETURNING drawn.id
), completed AS (
    UPDATE carts
    SET customer_id = :customer_id, status = :completed, order_id = finished.id,
        updated_at = :updated_at
    FROM finished
    WHERE carts.id = :cart_id AND carts.status = :open
      AND (carts.customer_id IS NULL OR carts.customer_id = :customer_id)
    RETURNING finished.id
), placed AS (
    INSERT INTO orders (id, number, {", ".join(_ORDER_VALUES)})
    SELECT completed.id,
        'SO-' || :day || '-' || CASE WHEN completed.id < 1000000
            THEN lpad(CAST(completed.id AS TEXT), 6, '0') ELSE CAST(completed.id AS TEXT) END,
        {order_values}
    FROM completed
    RETURNING {order_columns}
), lines AS (
    INSERT INTO order_lines (order_id, {line_columns})
    SELECT placed.id, {", ".join(f"l.{sql}" for _, sql, _ in _LINE_ARRAYS)}
    FROM placed, unnest({line_arrays}) WITH ORDINALITY AS l({line_columns}, n)
    ORDER BY l.n
    RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM lines
), discounts AS (
    INSERT INTO order_line_discounts (line_id, promotion_id, promotion_name, amount)
    SELECT numbered.id, d.promotion_id, d.promotion_name, d.amount
    FROM numbered JOIN unnest({discount_arrays}) WITH ORDINALITY AS d({discount_columns}, k)
        ON d.n = numbered.n
    ORDER BY d.k
), history AS (
    INSERT INTO order_status_changes (order_id, from_status, to_status, at, actor, reason)
    SELECT placed.id, NULL, :status, :updated_at, :actor, 'order placed' FROM placed
)
SELECT {", ".join(f"placed.{name}" for name in order_columns.split(", "))},
    ARRAY(SELECT id FROM numbered ORDER BY n) AS line_ids FROM placed
"""
    binds = [
        *(bindparam(name, type_=_ORDERS.c[name].type) for name in _ORDER_VALUES),
        bindparam("idempotency_key", type_=String()),
        bindparam("done", type_=String()),
        bindparam("completed", type_=String()),
        bindparam("open", type_=String()),
        bindparam("day", type_=Text()),
        bindparam("actor", type_=String()),
        *(bindparam(name, type_=ARRAY(kind)) for name, _, kind in _LINE_ARRAYS),
        *(bindparam(name, type_=ARRAY(kind)) for name, _, kind in _DISCOUNT_ARRAYS),
    ]
    return text(sql).bindparams(*binds).columns(*_ORDERS.c, column("line_ids", ARRAY(Integer())))


_PLACE_ORDER = _place_order_statement()
_CART_STATE = text("SELECT status, customer_id FROM carts WHERE id = :cart_id").columns(
    column("status", String()), column("customer_id", Integer())
)


def order_values(new: NewOrder, now: datetime) -> dict[str, Any]:
    """The ``orders`` row's own columns for a new order (both placement paths write them)."""
    return {
        "customer_id": new.customer_id,
        "cart_id": new.cart_id,
        "order_ref": new.order_ref,
        "status": OrderStatus.PENDING_PAYMENT.value,
        "currency": new.currency,
        "subtotal": new.subtotal,
        "discount_total": new.discount_total,
        "shipping_total": new.shipping_total,
        "total": new.total,
        "deposit_due": new.deposit_due,
        "created_at": now,
        "updated_at": now,
        **address_values(new.shipping_address),
    }


def _parameters(
    new: NewOrder, *, idempotency_key: str, actor: str, now: datetime, day: str
) -> dict[str, Any]:
    params: dict[str, Any] = {
        **order_values(new, now),
        "idempotency_key": idempotency_key,
        "done": AttemptState.DONE.value,
        "completed": CartStatus.COMPLETED.value,
        "open": CartStatus.OPEN.value,
        "day": day,
        "actor": actor,
    }
    for name, attribute, _ in _LINE_ARRAYS:
        params[name] = [getattr(line, attribute) for line in new.lines]
    discounts = [
        (n, discount) for n, line in enumerate(new.lines, start=1) for discount in line.discounts
    ]
    params["d_line"] = [n for n, _ in discounts]
    params["d_promotion_id"] = [d.promotion_id for _, d in discounts]
    params["d_promotion_name"] = [d.promotion_name for _, d in discounts]
    params["d_amount"] = [d.amount for _, d in discounts]
    return params


async def place_order(
    conn: AsyncConnection,
    new: NewOrder,
    *,
    idempotency_key: str,
    actor: str,
    now: datetime,
    day: str,
) -> tuple[Any, list[int]]:
    """The order row as stored and its lines' ids in the lines' order; on a connection
    outside any transaction (``Database.write_alone``). CartNotFound, CartClosed or
    CheckoutAttemptLost (nothing written) as the transaction path raises them."""
    params = _parameters(new, idempotency_key=idempotency_key, actor=actor, now=now, day=day)
    try:
        row = (await lean.execute(conn, _PLACE_ORDER, params)).one_or_none()
    except IntegrityError:
        await _refuse_cart(conn, new)
        raise
    if row is None:
        await _refuse_cart(conn, new)
        raise CheckoutAttemptLost(new.order_ref)
    return row, list(row.line_ids)


async def _refuse_cart(conn: AsyncConnection, new: NewOrder) -> None:
    """Raises what the transaction path's claim of the cart would have (CartClosed,
    CartNotFound); returns when the cart can be claimed."""
    cart = (await lean.execute(conn, _CART_STATE, {"cart_id": new.cart_id})).one_or_none()
    if cart is not None and cart.status != CartStatus.OPEN.value:
        raise CartClosed(new.cart_id)
    if cart is None or cart.customer_id not in (None, new.customer_id):
        raise CartNotFound(new.cart_id)
