"""Checkout attempts: one per (customer, idempotency key), so a retried or doubled
checkout places one order.

The claim is the primary key: of any number of concurrent calls with one key, exactly one
inserts the row (INSERT ... ON CONFLICT DO NOTHING; on PostgreSQL the others wait for that
insert to commit, then see its row). A crashed attempt (no order, not touched for
``stale_after``) is taken over by one conditional UPDATE of ``updated_at``, so again only one
taker wins, and it keeps the attempt's ``order_ref``: the reservation and coupon uses the
crashed call may have recorded under that ref belong to the new owner.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.db import Database
from sources.common.models import table_of

from . import buyer_joins
from . import models as m
from .carts import cart_with_lines_columns, carts_from_rows
from .errors import CheckoutAttemptLost
from .records import (
    AttemptState,
    Cart,
    CheckoutAttempt,
    CheckoutStart,
)


def new_order_ref() -> str:
    return "chk_" + secrets.token_urlsafe(16)


def cart_fingerprint(cart: Cart) -> str:
    """What an idempotency key is bound to: the cart, its lines, coupons and address. The
    same key with another fingerprint is refused (KEY_REUSED)."""
    body = {
        "cart": cart.id,
        "lines": sorted((line.sku_id, line.quantity) for line in cart.lines),
        "coupons": sorted(c.upper() for c in cart.coupon_codes),
        "address": asdict(cart.shipping_address) if cart.shipping_address else None,
    }
    return hashlib.sha256(orjson.dumps(body, default=str)).hexdigest()


async def checkout_attempt(
    db: Database,
    *,
    customer_id: int,
    idempotency_key: str,
    fingerprint: str,
    now: datetime,
    stale_after: timedelta,
) -> CheckoutAttempt:
    async with db.begin() as conn:
        return await _claim(conn, customer_id, idempotency_key, fingerprint, now, stale_after)


async def checkout_start(
    db: Database,
    *,
    cart_id: str,
    customer_id: int,
    idempotency_key: str,
    now: datetime,
    stale_after: timedelta,
) -> CheckoutStart:
    """The cart (the customer's or anonymous; anything else is not found and claims
    nothing), the attempt for its fingerprint and, when claimed, the buyer and region: the
    reads a checkout makes of this source before its snapshot, with the claim.

    One read first (the cart, the key's attempt as it stands, the customer and the cart's
    region: one statement, no transaction), then, for a key nobody holds, the claim alone:
    one INSERT that is its own transaction (``Database.write_alone``; on SQLite the write
    lock is held for that statement, not for the reads around it). A key already there
    that placed its order, or was used for another cart, is answered from the read; one
    still running (or crashed), or taken between the read and the INSERT, goes through
    the claim's transaction as before (its wait, its take-over of a stale attempt)."""
    async with db.connect() as conn:
        rows = await _read_cart_and_attempt(conn, cart_id, customer_id, idempotency_key)
    cart = carts_from_rows(rows).get(cart_id)
    if cart is None or cart.customer_id not in (None, customer_id):
        return CheckoutStart(None)
    row = rows[0]
    fingerprint = cart_fingerprint(cart)
    if row.attempt_order_ref is None:
        order_ref = new_order_ref()
        attempt = CheckoutAttempt(AttemptState.CLAIMED, order_ref)
        claimed = CheckoutStart(cart, attempt, buyer_joins.buyer_from_row(row))
        # A connection of its own, taken after the writer's turn: a caller waiting for the
        # turn must hold no pooled connection (the turn's holder may be waiting for one).
        # ``claimed`` is the answer when the INSERT claims the key: a remote service
        # stores it with its request key in the INSERT itself (Database.write_alone).
        async with db.write_alone(answer=claimed) as conn:
            inserted = await _insert(
                conn, customer_id, idempotency_key, fingerprint, now, order_ref=order_ref
            )
        if inserted is not None:
            return claimed
    else:
        seen = _attempt_seen(row, fingerprint)
        if seen.state is not AttemptState.IN_PROGRESS:
            return CheckoutStart(cart, seen)
    async with db.begin() as conn:
        attempt = await _claim(conn, customer_id, idempotency_key, fingerprint, now, stale_after)
    return CheckoutStart(
        cart,
        attempt,
        buyer_joins.buyer_from_row(row) if attempt.state is AttemptState.CLAIMED else None,
    )


async def checkout_lookup(
    db: Database, *, cart_id: str, customer_id: int, idempotency_key: str
) -> CheckoutStart:
    """``checkout_start`` without the claim and without a transaction: the cart (None when
    missing or another customer's) and the attempt for (customer, key) as it stands, None
    when there is none; its state is DONE, KEY_REUSED (another cart's fingerprint) or
    IN_PROGRESS (no order yet, stale or not: only a claim may take it over). One statement
    on a read connection (``checkout_start``'s read), so a caller that can answer from it
    (a sold-out cart, a completed one) writes nothing and, on SQLite, does not queue for
    the writer. An attempt claimed by a call whose INSERT has not committed yet is not
    seen: that call's answer then simply comes after this one's."""
    async with db.connect() as conn:
        rows = await _read_cart_and_attempt(conn, cart_id, customer_id, idempotency_key)
    cart = carts_from_rows(rows).get(cart_id)
    if cart is None or cart.customer_id not in (None, customer_id):
        return CheckoutStart(None)
    row = rows[0]
    if row.attempt_order_ref is None:
        return CheckoutStart(cart)
    return CheckoutStart(cart, _attempt_seen(row, cart_fingerprint(cart)))


async def _read_cart_and_attempt(
    conn: AsyncConnection, cart_id: str, customer_id: int, idempotency_key: str
) -> list[Any]:
    return list(
        await lean.execute(
            conn,
            _CART_FOR_CHECKOUT,
            {"p_cart_id": cart_id, "p_customer_id": customer_id, "p_key": idempotency_key},
        )
    )


def _attempt_seen(row: Any, fingerprint: str) -> CheckoutAttempt:
    """The attempt a read found, as a claim would have found it taken."""
    if row.attempt_fingerprint != fingerprint:
        return CheckoutAttempt(AttemptState.KEY_REUSED, row.attempt_order_ref)
    if row.attempt_order_id is not None:
        return CheckoutAttempt(AttemptState.DONE, row.attempt_order_ref, row.attempt_order_id)
    return CheckoutAttempt(AttemptState.IN_PROGRESS, row.attempt_order_ref)


async def _claim(
    conn: AsyncConnection,
    customer_id: int,
    idempotency_key: str,
    fingerprint: str,
    now: datetime,
    stale_after: timedelta,
) -> CheckoutAttempt:
    attempt = m.CheckoutAttempt
    key = (attempt.customer_id == customer_id, attempt.idempotency_key == idempotency_key)
    # Twice at most: the row seen taken may be abandoned (deleted) before we read it.
    for _ in range(2):
        order_ref = await _insert(conn, customer_id, idempotency_key, fingerprint, now)
        if order_ref is not None:
            return CheckoutAttempt(AttemptState.CLAIMED, order_ref)
        row = (await conn.execute(select(attempt).where(*key))).one_or_none()
        if row is None:
            continue
        if row.fingerprint != fingerprint:
            return CheckoutAttempt(AttemptState.KEY_REUSED, row.order_ref)
        if row.order_id is not None:
            return CheckoutAttempt(AttemptState.DONE, row.order_ref, row.order_id)
        if row.updated_at >= now - stale_after:
            return CheckoutAttempt(AttemptState.IN_PROGRESS, row.order_ref)
        taken = (
            await conn.execute(
                update(attempt)
                .where(
                    *key,
                    attempt.order_id.is_(None),
                    attempt.updated_at < now - stale_after,
                )
                .values(updated_at=now)
                .returning(attempt.order_ref)
            )
        ).scalar_one_or_none()
        if taken is not None:
            return CheckoutAttempt(AttemptState.CLAIMED, taken)
        # Another caller took it over or finished it first.
        row = (await conn.execute(select(attempt).where(*key))).one_or_none()
        if row is None:
            continue
        if row.order_id is not None:
            return CheckoutAttempt(AttemptState.DONE, row.order_ref, row.order_id)
        return CheckoutAttempt(AttemptState.IN_PROGRESS, row.order_ref)
    raise RuntimeError(f"checkout attempt {idempotency_key!r} vanished twice while claiming it")


async def abandon_checkout_attempt(db: Database, customer_id: int, idempotency_key: str) -> bool:
    """Forgets an attempt that placed no order (its checkout failed validation), so the
    buyer can retry with the same key after fixing the cart. False when there was none
    to forget (unknown key, or an order exists: that attempt is never forgotten). One
    DELETE, its own transaction."""
    async with db.write_alone() as conn:  # lean: a remote call's key rides in it
        result = await lean.execute(
            conn, _ABANDON, {"p_customer_id": customer_id, "p_key": idempotency_key}
        )
        return bool(result.rowcount)


async def stale_checkout_attempts(
    db: Database, older_than: datetime, *, limit: int = 1000
) -> list[str]:
    """The order_refs of attempts without an order not touched since ``older_than``, oldest
    first: crashed checkouts whose reservations and coupon uses the sweeper releases."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.CheckoutAttempt.order_ref)
            .where(
                m.CheckoutAttempt.order_id.is_(None),
                m.CheckoutAttempt.updated_at < older_than,
            )
            .order_by(m.CheckoutAttempt.updated_at)
            .limit(limit)
        )
        return list(rows.scalars())


async def forget_checkout_attempt(
    db: Database, order_ref: str, *, older_than: datetime | None = None
) -> bool:
    """Deletes an attempt without an order (and, given ``older_than``, only while it is still
    stale). True when this call deleted it: the sweeper forgets first and releases the
    attempt's reservation only then, so a checkout that took the attempt over or finished
    it meanwhile keeps what it holds (a late ``create_order`` fails instead)."""
    params: dict[str, Any] = {"p_order_ref": order_ref}
    statement = _FORGET
    if older_than is not None:
        statement, params["p_older"] = _FORGET_STALE, older_than
    async with db.write_alone() as conn:  # one DELETE, its own transaction (lean: see above)
        result = await lean.execute(conn, statement, params)
        return bool(result.rowcount)


_ATTEMPTS = table_of(m.CheckoutAttempt)
_ABANDON = delete(_ATTEMPTS).where(
    _ATTEMPTS.c.customer_id == bindparam("p_customer_id"),
    _ATTEMPTS.c.idempotency_key == bindparam("p_key"),
    _ATTEMPTS.c.order_id.is_(None),
)
_FORGET = delete(_ATTEMPTS).where(
    _ATTEMPTS.c.order_ref == bindparam("p_order_ref"), _ATTEMPTS.c.order_id.is_(None)
)
_FORGET_STALE = _FORGET.where(_ATTEMPTS.c.updated_at < bindparam("p_older"))


_CARTS, _CART_LINES = table_of(m.Cart), table_of(m.CartLine)
# checkout_start's (and checkout_lookup's) one read: the cart with its lines and, joined
# onto every row, the attempt of (customer, key), the customer and the region of the
# cart's address, each one row or none (unique keys), independently of the others.
_CART_FOR_CHECKOUT = (
    select(
        *cart_with_lines_columns(),
        _ATTEMPTS.c.fingerprint.label("attempt_fingerprint"),
        _ATTEMPTS.c.order_ref.label("attempt_order_ref"),
        _ATTEMPTS.c.order_id.label("attempt_order_id"),
        *buyer_joins.BUYER_COLUMNS,
    )
    .select_from(
        buyer_joins.join_buyer(
            _CARTS.outerjoin(_CART_LINES, _CART_LINES.c.cart_id == _CARTS.c.id).outerjoin(
                _ATTEMPTS,
                and_(
                    _ATTEMPTS.c.customer_id == bindparam("p_customer_id"),
                    _ATTEMPTS.c.idempotency_key == bindparam("p_key"),
                ),
            ),
            _CARTS,
        )
    )
    .where(_CARTS.c.id == bindparam("p_cart_id"))
    .order_by(_CART_LINES.c.id)
)

# create_order's last step, built once (Core): the attempt names its order.
_FINISH = (
    update(_ATTEMPTS)
    .where(
        _ATTEMPTS.c.customer_id == bindparam("p_customer_id"),
        _ATTEMPTS.c.idempotency_key == bindparam("p_key"),
        _ATTEMPTS.c.order_ref == bindparam("p_order_ref"),
        _ATTEMPTS.c.order_id.is_(None),
    )
    .values(
        order_id=bindparam("p_order_id"),
        state=AttemptState.DONE.value,
        updated_at=bindparam("p_now"),
    )
    .returning(_ATTEMPTS.c.order_ref)
)


async def finish_checkout_attempt(
    conn: AsyncConnection,
    *,
    customer_id: int,
    idempotency_key: str,
    order_ref: str,
    order_id: int,
    now: datetime,
) -> None:
    """The last step of ``create_order``, in its transaction: the attempt now names its
    order. CheckoutAttemptLost (rolling the order back) when it was abandoned, swept or
    already finished."""
    finished = (
        await lean.execute(
            conn,
            _FINISH,
            {
                "p_customer_id": customer_id,
                "p_key": idempotency_key,
                "p_order_ref": order_ref,
                "p_order_id": order_id,
                "p_now": now,
            },
        )
    ).scalar_one_or_none()
    if finished is None:
        raise CheckoutAttemptLost(order_ref)


def _claim_statement(dialect: str) -> Any:
    attempt = table_of(m.CheckoutAttempt)
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(attempt)
        .on_conflict_do_nothing(index_elements=[attempt.c.customer_id, attempt.c.idempotency_key])
        .returning(attempt.c.order_ref)
    )


# Built once per dialect (Core, not the ORM class): the claim runs in every checkout.
_CLAIM = {dialect: _claim_statement(dialect) for dialect in ("postgresql", "sqlite")}


async def _insert(
    conn: AsyncConnection,
    customer_id: int,
    idempotency_key: str,
    fingerprint: str,
    now: datetime,
    *,
    order_ref: str | None = None,
) -> str | None:
    """The new attempt's order_ref (``order_ref`` when given), or None when the key is
    taken."""
    inserted: str | None = (
        await lean.execute(
            conn,
            _CLAIM[conn.dialect.name],
            {
                "customer_id": customer_id,
                "idempotency_key": idempotency_key,
                "fingerprint": fingerprint,
                "order_ref": order_ref or new_order_ref(),
                "state": AttemptState.CLAIMED.value,
                "created_at": now,
                "updated_at": now,
            },
        )
    ).scalar_one_or_none()
    return inserted
