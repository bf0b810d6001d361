"""Carts: created, filled and addressed by the buyer, completed once by checkout.

Every write starts with one conditional UPDATE of the cart row (``status = OPEN``): it
refuses a missing or completed cart and, on PostgreSQL, takes the row's lock, so writes to
one cart apply one after another (SQLite's BEGIN IMMEDIATE serialises all writers anyway).
A checkout completing the cart meanwhile therefore either happens before the write, which
then fails with CartClosed, or waits for it.
"""

from __future__ import annotations

import functools
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.db import Database
from sources.common.models import table_of

from . import buyer_joins, buyers, cart_statements
from . import models as m
from .addresses import address_from_row, address_values
from .dialect import upsert_insert
from .errors import CartClosed, CartLineNotFound, CartNotFound
from .records import Address, Cart, CartLine, CartStatus, CartWithBuyer

# The checkout's cart writes, built once against the tables (Core, not the ORM classes):
# a statement kept between calls keeps its SQLAlchemy cache key and skips the ORM's DML
# plugin. Bound parameters of an UPDATE are named p_* (a column's own name is SQLAlchemy's).
_CARTS = table_of(m.Cart)
_CART_LINES = table_of(m.CartLine)
_INSERT_CART = insert(_CARTS).returning(*_CARTS.c)


@functools.cache
def _insert_cart_lines(rows: int) -> Any:
    """One INSERT for ``rows`` lines on both backends, built once per number of lines (its
    values bound as ``cart_id``, ``sku_id_<i>``, ``quantity_<i>``, run by lean.py); the
    lines come back in any order and are sorted by id, which a parameter-ordered RETURNING
    would cost on SQLite (a statement per row)."""
    return (
        insert(_CART_LINES)
        .values(
            [
                {
                    "cart_id": bindparam("cart_id", type_=_CART_LINES.c.cart_id.type),
                    "sku_id": bindparam(f"sku_id_{i}", type_=_CART_LINES.c.sku_id.type),
                    "quantity": bindparam(f"quantity_{i}", type_=_CART_LINES.c.quantity.type),
                }
                for i in range(rows)
            ]
        )
        .returning(_CART_LINES.c.id, _CART_LINES.c.sku_id, _CART_LINES.c.quantity)
    )


_OPEN = CartStatus.OPEN.value
_VIEWERS = or_(_CARTS.c.customer_id.is_(None), _CARTS.c.customer_id == bindparam("p_viewer"))
_ADDRESS_OWNED_CART = (
    update(_CARTS)
    .where(_CARTS.c.id == bindparam("p_cart_id"), _CARTS.c.status == _OPEN, _VIEWERS)
    .values(
        {
            **{name: bindparam(f"p_{name}") for name in address_values(None)},
            "updated_at": bindparam("p_now"),
        }
    )
    .returning(_CARTS.c.id)
)
_CLAIM_CART = (
    update(_CARTS)
    .where(_CARTS.c.id == bindparam("p_cart_id"), _CARTS.c.status == _OPEN, _VIEWERS)
    .values(customer_id=bindparam("p_viewer"), updated_at=bindparam("p_now"))
    .returning(_CARTS.c.id)
)
_COMPLETE_CART = (
    update(_CARTS)
    .where(_CARTS.c.id == bindparam("p_cart_id"), _CARTS.c.status == _OPEN)
    .values(
        status=CartStatus.COMPLETED.value,
        order_id=bindparam("p_order_id"),
        updated_at=bindparam("p_now"),
    )
    .returning(_CARTS.c.id)
)
# SQLite, under the write lock (BEGIN IMMEDIATE): the claim and the completion in one UPDATE,
# the order's id drawn as the rowid SQLite would give the next order (one past the largest;
# orders has no AUTOINCREMENT), so the order is then inserted with its id and number at once.
_ORDERS = table_of(m.Order)
_CLAIM_AND_COMPLETE_CART = (
    update(_CARTS)
    .where(_CARTS.c.id == bindparam("p_cart_id"), _CARTS.c.status == _OPEN, _VIEWERS)
    .values(
        customer_id=bindparam("p_viewer"),
        status=CartStatus.COMPLETED.value,
        order_id=select(func.coalesce(func.max(_ORDERS.c.id), 0) + 1).scalar_subquery(),
        updated_at=bindparam("p_now"),
    )
    .returning(_CARTS.c.order_id)
)
_CART_STATUS = select(_CARTS.c.status, _CARTS.c.customer_id).where(
    _CARTS.c.id == bindparam("p_cart_id")
)


async def create_cart(
    db: Database,
    *,
    customer_id: int | None,
    now: datetime,
    lines: Sequence[tuple[int, int]] = (),
    coupon_codes: Sequence[str] = (),
    address: Address | None = None,
) -> Cart:
    """A new cart, with its first lines, coupons and address in the same transaction: a
    cart nobody else can know yet needs no lock, and what was written comes back from
    RETURNING, not a read. On SQLite a short write (two small INSERTs): its statements run
    on the event loop once BEGIN IMMEDIATE holds the lock (``Database.begin(on_loop=True)``)."""
    async with db.begin(on_loop=True) as conn:
        return await _insert_cart(conn, customer_id, now, lines, coupon_codes, address)


async def create_cart_with_buyer(
    db: Database,
    *,
    customer_id: int | None,
    now: datetime,
    lines: Sequence[tuple[int, int]] = (),
    coupon_codes: Sequence[str] = (),
    address: Address | None = None,
) -> CartWithBuyer:
    """:func:`create_cart`, and its buyer and region (on PostgreSQL in the same statement:
    cart_statements.py). On SQLite the buyer is read after the write transaction, on a
    read connection: the writer's lock covers the two INSERTs only (the customer and
    region rows are not the cart's: reading them a moment later gives the same records)."""
    if not db.is_sqlite:
        merged = _merged(lines)
        values = _cart_values(customer_id, now, coupon_codes, address)
        async with db.write_alone() as conn:
            rows = await cart_statements.create_cart_rows(conn, values, merged)
        cart = carts_from_rows(rows)[values["id"]]
        return CartWithBuyer(cart, customer_id, buyer_joins.buyer_from_row(rows[0]))
    async with db.begin(on_loop=True) as conn:  # a short write, as create_cart's
        cart = await _insert_cart(conn, customer_id, now, lines, coupon_codes, address)
    async with db.connect() as conn:
        buyer = await buyers.buyer_on(conn, customer_id, address.region if address else None)
    return CartWithBuyer(cart, customer_id, buyer)


async def _insert_cart(
    conn: AsyncConnection,
    customer_id: int | None,
    now: datetime,
    lines: Sequence[tuple[int, int]],
    coupon_codes: Sequence[str],
    address: Address | None,
) -> Cart:
    merged = _merged(lines)
    values = _cart_values(customer_id, now, coupon_codes, address)
    cart_id = values["id"]
    row = (await lean.execute(conn, _INSERT_CART, values)).one()
    if not merged:
        return _cart(row, [])
    line_values: dict[str, Any] = {"cart_id": cart_id}
    for i, (sku_id, quantity) in enumerate(merged.items()):
        line_values[f"sku_id_{i}"], line_values[f"quantity_{i}"] = sku_id, quantity
    written = await lean.execute(conn, _insert_cart_lines(len(merged)), line_values)
    added = [CartLine(r.id, r.sku_id, r.quantity) for r in written]
    return _cart(row, sorted(added, key=lambda line: line.id))


def _cart_values(
    customer_id: int | None,
    now: datetime,
    coupon_codes: Sequence[str],
    address: Address | None,
) -> dict[str, Any]:
    """A new cart's columns, its id a fresh unguessable token."""
    return {
        "id": secrets.token_urlsafe(16),
        "customer_id": customer_id,
        "status": _OPEN,
        "coupon_codes": _coupons_json(coupon_codes),
        "created_at": now,
        "updated_at": now,
        **address_values(address),
    }


# Built once (its SQLAlchemy cache key with it): the cart is read in every cart request.
_CARTS_WITH_LINES = (
    select(
        *m.Cart.__table__.columns,
        m.CartLine.id.label("line_id"),
        m.CartLine.sku_id.label("line_sku_id"),
        m.CartLine.quantity.label("line_quantity"),
        m.CartLine.reserved_until.label("line_reserved_until"),
    )
    .outerjoin(m.CartLine, m.CartLine.cart_id == m.Cart.id)
    .where(m.Cart.id.in_(bindparam("ids", expanding=True)))
    .order_by(m.Cart.id, m.CartLine.id)
)


# set_owned_cart_address's read: one cart with its lines and its buyer (buyer_joins.join_buyer).
_CART_WITH_BUYER = (
    select(*_CARTS_WITH_LINES.selected_columns, *buyer_joins.BUYER_COLUMNS)
    .select_from(
        buyer_joins.join_buyer(
            _CARTS.outerjoin(_CART_LINES, _CART_LINES.c.cart_id == _CARTS.c.id), _CARTS
        )
    )
    .where(_CARTS.c.id == bindparam("p_cart_id"))
    .order_by(_CART_LINES.c.id)
)


async def load_carts(conn: AsyncConnection, ids: Collection[str]) -> dict[str, Cart]:
    """Carts with their lines in line-id order (the order the buyer added them), in one
    statement: a cart is read several times per checkout, and each statement costs more
    CPU in SQLAlchemy and the driver than the database spends on it."""
    return carts_from_rows(await lean.execute(conn, _CARTS_WITH_LINES, {"ids": list(ids)}))


def cart_with_lines_columns() -> list[Any]:
    """The columns of :data:`_CARTS_WITH_LINES`, for a read that joins more onto a cart."""
    return list(_CARTS_WITH_LINES.selected_columns)


def carts_from_rows(rows: Iterable[Any]) -> dict[str, Cart]:
    """Carts from rows of the cart-with-lines columns (any other columns are ignored)."""
    carts: dict[str, Any] = {}
    lines: dict[str, list[CartLine]] = defaultdict(list)
    for row in rows:
        carts.setdefault(row.id, row)
        if row.line_id is not None:
            lines[row.id].append(
                CartLine(row.line_id, row.line_sku_id, row.line_quantity, row.line_reserved_until)
            )
    return {cart_id: _cart(row, lines.get(cart_id, [])) for cart_id, row in carts.items()}


async def add_cart_lines(
    db: Database, cart_id: str, items: Sequence[tuple[int, int]], now: datetime
) -> Cart:
    """Adds to the SKU's line when the cart has one: an upsert on (cart, SKU), so two
    concurrent adds of one SKU both count."""
    merged = _merged(items)
    async with _open_cart(db, cart_id, now) as conn:
        if merged:
            upsert = upsert_insert(conn, m.CartLine).values(
                [
                    {"cart_id": cart_id, "sku_id": sku_id, "quantity": quantity}
                    for sku_id, quantity in merged.items()
                ]
            )
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[m.CartLine.cart_id, m.CartLine.sku_id],
                    set_={"quantity": m.CartLine.quantity + upsert.excluded.quantity},
                )
            )
        return await _reload(conn, cart_id)


def _merged(items: Sequence[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for sku_id, quantity in items:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity} for SKU {sku_id}")
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    return merged


async def set_cart_line_quantities(
    db: Database, cart_id: str, updates: Mapping[int, int], now: datetime
) -> Cart:
    """Sets each line's quantity (0 removes the line); all or nothing."""
    for line_id, quantity in updates.items():
        if quantity < 0:
            raise ValueError(f"quantity must not be negative, got {quantity} for line {line_id}")
    async with _open_cart(db, cart_id, now) as conn:
        await _require_lines(conn, cart_id, updates.keys())
        removed = [line_id for line_id, quantity in updates.items() if quantity == 0]
        kept = {line_id: quantity for line_id, quantity in updates.items() if quantity > 0}
        if removed:
            await conn.execute(delete(m.CartLine).where(m.CartLine.id.in_(removed)))
        if kept:
            await conn.execute(
                update(m.CartLine)
                .where(m.CartLine.id.in_(kept))
                .values(quantity=case(kept, value=m.CartLine.id))
            )
        return await _reload(conn, cart_id)


async def remove_cart_lines(
    db: Database, cart_id: str, line_ids: Collection[int], now: datetime
) -> Cart:
    async with _open_cart(db, cart_id, now) as conn:
        await _require_lines(conn, cart_id, line_ids)
        if line_ids:
            await conn.execute(delete(m.CartLine).where(m.CartLine.id.in_(set(line_ids))))
        return await _reload(conn, cart_id)


async def set_cart_line_holds(
    db: Database, cart_id: str, until: Mapping[int, datetime | None], now: datetime
) -> Cart:
    """Records until when the inventory holds each line's stock (None: no hold). Lines
    removed meanwhile are skipped: their hold was released with them."""
    async with _open_cart(db, cart_id, now) as conn:
        for line_id, reserved_until in until.items():
            await conn.execute(
                update(m.CartLine)
                .where(m.CartLine.id == line_id, m.CartLine.cart_id == cart_id)
                .values(reserved_until=reserved_until)
            )
        return await _reload(conn, cart_id)


async def set_cart_coupons(db: Database, cart_id: str, codes: Sequence[str], now: datetime) -> Cart:
    async with db.begin() as conn:
        await _update_open_cart(
            conn, cart_id, {"coupon_codes": _coupons_json(codes), "updated_at": now}
        )
        return await _reload(conn, cart_id)


def _coupons_json(codes: Sequence[str]) -> str:
    """The codes as the buyer typed them, first spelling kept, without repeats that differ
    only in case (the pricing source matches codes case-insensitively)."""
    kept: dict[str, str] = {}
    for code in codes:
        kept.setdefault(code.casefold(), code)
    return orjson.dumps(list(kept.values())).decode()


async def set_cart_address(
    db: Database, cart_id: str, address: Address | None, now: datetime
) -> Cart:
    """Sets (or, with None, clears) the cart's shipping address."""
    async with db.begin() as conn:
        await _update_open_cart(conn, cart_id, {**address_values(address), "updated_at": now})
        return await _reload(conn, cart_id)


async def set_owned_cart_address(
    db: Database, cart_id: str, customer_id: int | None, address: Address, now: datetime
) -> CartWithBuyer:
    """``set_cart_address`` for a viewer (``customer_id``; None: anonymous), without a read
    before it: the write itself checks that the cart is open and the viewer's (a
    customer's cart is theirs alone, an anonymous one anybody's with its id). CartNotFound
    for a missing cart or another customer's, CartClosed for a completed one of the
    viewer's.

    Two statements, the write alone first: the conditional UPDATE is its own transaction
    (``Database.write_alone``: on SQLite the write lock is held for that one statement),
    then one read brings the cart with its lines, the viewer as a customer and the region
    of the cart's address (``buyer_joins.join_buyer``). The read sees the cart as the UPDATE
    left it or as a later write did (another tab's line, a newer address: its region
    then comes with it), as any read after a commit does.

    On PostgreSQL the two are one statement (cart_statements.py): one round trip, the lines
    those of the statement's snapshot."""
    if not db.is_sqlite:
        return await _set_owned_address_at_once(db, cart_id, customer_id, address, now)
    params = {f"p_{name}": value for name, value in address_values(address).items()}
    async with db.write_alone() as conn:
        touched = (
            await lean.execute(
                conn,
                _ADDRESS_OWNED_CART,
                {**params, "p_cart_id": cart_id, "p_viewer": customer_id, "p_now": now},
            )
        ).scalar_one_or_none()
    async with db.connect() as conn:  # the writer's turn is not held for the read
        rows = list(
            await lean.execute(
                conn, _CART_WITH_BUYER, {"p_cart_id": cart_id, "p_customer_id": customer_id}
            )
        )
    cart = carts_from_rows(rows).get(cart_id)
    if touched is None:  # refused: told apart by the cart as it stands
        if cart is None or cart.customer_id not in (None, customer_id):
            raise CartNotFound(cart_id)
        raise CartClosed(cart_id)
    if cart is None:  # carts are not deleted; kept for the type
        raise CartNotFound(cart_id)
    return CartWithBuyer(cart, customer_id, buyer_joins.buyer_from_row(rows[0]))


async def _set_owned_address_at_once(
    db: Database, cart_id: str, customer_id: int | None, address: Address, now: datetime
) -> CartWithBuyer:
    async with db.write_alone() as conn:
        rows = await cart_statements.address_owned_cart_rows(
            conn, cart_id, customer_id, address_values(address), now, _OPEN
        )
    if not rows:  # refused, nothing written: told apart by the cart as it stands
        async with db.connect() as conn:
            found = (await lean.execute(conn, _CART_STATUS, {"p_cart_id": cart_id})).one_or_none()
        if found is None or found.customer_id not in (None, customer_id):
            raise CartNotFound(cart_id)
        raise CartClosed(cart_id)
    written = carts_from_rows(rows)[cart_id]
    return CartWithBuyer(written, customer_id, buyer_joins.buyer_from_row(rows[0]))


async def attach_cart(db: Database, cart_id: str, customer_id: int, now: datetime) -> Cart:
    """Makes an anonymous cart the customer's. Another customer's cart reads as not found."""
    async with _open_cart(db, cart_id, now) as conn:
        await _attach(conn, cart_id, customer_id)
        return await _reload(conn, cart_id)


async def claim_open_cart(
    conn: AsyncConnection, cart_id: str, *, customer_id: int, now: datetime
) -> None:
    """Checkout's first step, in the order's transaction: an OPEN cart becomes the
    customer's, its row locked, in one statement (the lock every cart writer takes first,
    so two checkouts cannot deadlock). CartClosed for a completed cart, CartNotFound for a
    missing one or another customer's."""
    claimed = (
        await lean.execute(
            conn, _CLAIM_CART, {"p_cart_id": cart_id, "p_viewer": customer_id, "p_now": now}
        )
    ).scalar_one_or_none()
    if claimed is None:
        row = (await lean.execute(conn, _CART_STATUS, {"p_cart_id": cart_id})).one_or_none()
        if row is not None and row.status != _OPEN:
            raise CartClosed(cart_id)
        raise CartNotFound(cart_id)


async def claim_and_complete_cart(
    conn: AsyncConnection, cart_id: str, *, customer_id: int, now: datetime
) -> int:
    """SQLite's checkout step, first in the order's transaction: ``claim_open_cart`` and
    ``complete_cart`` in one statement, which also draws the order's id (the next rowid of
    orders, fixed while this transaction holds the write lock); the id. CartClosed or
    CartNotFound as ``claim_open_cart`` raises them."""
    order_id = (
        await lean.execute(
            conn,
            _CLAIM_AND_COMPLETE_CART,
            {"p_cart_id": cart_id, "p_viewer": customer_id, "p_now": now},
        )
    ).scalar_one_or_none()
    if order_id is None:
        row = (await lean.execute(conn, _CART_STATUS, {"p_cart_id": cart_id})).one_or_none()
        if row is not None and row.status != _OPEN:
            raise CartClosed(cart_id)
        raise CartNotFound(cart_id)
    return int(order_id)


async def complete_cart(
    conn: AsyncConnection, cart_id: str, *, order_id: int, now: datetime
) -> None:
    """Checkout's step, in the order's transaction, after ``claim_open_cart``: the cart
    becomes COMPLETED exactly once; a second order for it fails here with CartClosed."""
    completed = (
        await lean.execute(
            conn, _COMPLETE_CART, {"p_cart_id": cart_id, "p_order_id": order_id, "p_now": now}
        )
    ).scalar_one_or_none()
    if completed is None:
        raise CartClosed(cart_id)


async def lock_open_cart(conn: AsyncConnection, cart_id: str, now: datetime) -> None:
    """Touches an OPEN cart (taking its row lock); CartNotFound or CartClosed otherwise."""
    await _update_open_cart(conn, cart_id, {"updated_at": now})


async def _update_open_cart(conn: AsyncConnection, cart_id: str, values: dict[str, Any]) -> None:
    """Writes ``values`` to an OPEN cart: the write is the lock (one statement, not a
    touch and then the change); CartNotFound or CartClosed otherwise."""
    touched = (
        await conn.execute(
            update(m.Cart)
            .where(m.Cart.id == cart_id, m.Cart.status == CartStatus.OPEN.value)
            .values(**values)
            .returning(m.Cart.id)
        )
    ).scalar_one_or_none()
    if touched is None:
        status = (
            await conn.execute(select(m.Cart.status).where(m.Cart.id == cart_id))
        ).scalar_one_or_none()
        raise CartNotFound(cart_id) if status is None else CartClosed(cart_id)


@asynccontextmanager
async def _open_cart(db: Database, cart_id: str, now: datetime) -> AsyncIterator[AsyncConnection]:
    async with db.begin() as conn:
        await lock_open_cart(conn, cart_id, now)
        yield conn


async def _attach(conn: AsyncConnection, cart_id: str, customer_id: int) -> None:
    attached = (
        await conn.execute(
            update(m.Cart)
            .where(
                m.Cart.id == cart_id,
                or_(m.Cart.customer_id.is_(None), m.Cart.customer_id == customer_id),
            )
            .values(customer_id=customer_id)
            .returning(m.Cart.id)
        )
    ).scalar_one_or_none()
    if attached is None:
        raise CartNotFound(cart_id)


async def _require_lines(conn: AsyncConnection, cart_id: str, line_ids: Collection[int]) -> None:
    wanted = set(line_ids)
    if not wanted:
        return
    found = set(
        (
            await conn.execute(
                select(m.CartLine.id).where(
                    m.CartLine.cart_id == cart_id, m.CartLine.id.in_(wanted)
                )
            )
        ).scalars()
    )
    if wanted - found:
        raise CartLineNotFound(cart_id, wanted - found)


async def _reload(conn: AsyncConnection, cart_id: str) -> Cart:
    return (await load_carts(conn, [cart_id]))[cart_id]


def _cart(row: Any, lines: list[CartLine]) -> Cart:
    return Cart(
        id=row.id,
        customer_id=row.customer_id,
        status=CartStatus(row.status),
        lines=tuple(lines),
        coupon_codes=tuple(orjson.loads(row.coupon_codes)),
        shipping_address=address_from_row(row),
        order_id=row.order_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
