"""Cart holds: stock a cart line of a flash-sale product keeps from the moment it is added,
and their conversion into the order's reservation at checkout.

A hold is a reservation like the checkout's (same tables, same conditional UPDATEs, same
CHECK constraints, so it can never take stock below zero), named by the gateway after the
cart and the SKU. What differs is its life: it is resized in place when the buyer changes
the quantity (the old quantity goes back and the new one is taken in ONE transaction, so
nobody can slip in between and a refused increase leaves the old hold as it was), extended
once by the buyer's activity, released on removal or by the sweeper at expiry (a HELD row
past ``expires_at``, exactly as a checkout's), and converted at checkout: the holds go back
and the order's reservation takes what the order needs in one transaction, so the buyer's
own units are never counted twice and a hold that lapsed is re-taken only if the stock is
still there.

Lock order, as in reservations.py: reservation rows, then every stock row the transaction
will touch (old holds' rows and the new take's) in (SKU, warehouse) order, then supplier
rows, all before any stock changes, so two holds or a hold and the sweeper never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database

from . import models as m
from .records import Allocation, ReservationRequest, ReservationResult, ReservationStatus
from .reservations import (
    _ATTEMPTS,
    HELD,
    RELEASED,
    _load,
    _lock_supplier_stock,
    _lock_warehouse_stock,
    _merge,
    _plan_takes,
    _replay,
    _return_stock,
    _Shortfall,
    _StockMoved,
    _take_planned,
    _Want,
)
from .sold_out import SoldOutMarks


class _FreshShortfall(_Shortfall):
    """A hold short with nothing of its own given back: its locked read is the truth."""


async def hold(
    db: Database,
    *,
    hold_ref: str,
    items: Sequence[ReservationRequest],
    now: datetime,
    ttl: timedelta,
    create: bool = True,
    sold_out: SoldOutMarks | None = None,
) -> ReservationResult:
    """Make the hold ``hold_ref`` hold exactly ``items``, all or nothing.

    A new hold (or one released meanwhile) lives ``ttl`` from now; a live one keeps its
    expiry. Short: nothing changes (the old hold stays whole) and ``shortages`` says what
    was free besides what this hold already had. ``create=False`` only resizes a live hold
    (a quantity decrease must not take stock for a hold that lapsed).

    ``sold_out``: a flash sale's losers are refused from a recent locked read's marks
    (sold_out.py) without queuing behind the winners' locks, unless this cart already
    holds some (its own units may be enough); a new hold refused notes what it saw."""
    if ttl <= timedelta(0):
        raise ValueError("a hold needs a positive ttl")
    wanted = _merge(items)
    if sold_out is not None and (marked := sold_out.shortages(wanted)):
        async with db.connect() as conn:
            stored = (await _load(conn, [hold_ref])).get(hold_ref)
        if stored is None or stored.status is not ReservationStatus.HELD:
            return ReservationResult(ok=False, shortages=marked)
    for attempt in range(_ATTEMPTS):
        try:
            return await _hold_once(db, hold_ref, wanted, now, ttl, create)
        except _Shortfall as shortfall:
            if sold_out is not None and isinstance(shortfall, _FreshShortfall):
                sold_out.note(shortfall.seen)
            return ReservationResult(ok=False, shortages=shortfall.shortages)
        except (IntegrityError, _StockMoved):
            if attempt == _ATTEMPTS - 1:  # a concurrent first hold of this ref won: replay
                raise
    raise AssertionError("unreachable")


async def release_holds(db: Database, hold_refs: Sequence[str], now: datetime) -> int:
    """HELD -> RELEASED for each of the holds, the stock back exactly once; how many."""
    if not hold_refs:
        return 0
    async with db.begin() as conn:
        ids = await _lock_held(conn, hold_refs)
        if not ids:
            return 0
        moved = list(
            (
                await conn.execute(
                    update(m.Reservation)
                    .where(m.Reservation.id.in_(ids), m.Reservation.status == HELD)
                    .values(status=RELEASED, updated_at=now)
                    .returning(m.Reservation.id)
                )
            )
            .scalars()
            .all()
        )
        await _return_stock(conn, moved, now, is_sale=False)
        return len(moved)


async def extend_holds(
    db: Database, hold_refs: Sequence[str], now: datetime, ttl: timedelta
) -> dict[str, datetime]:
    """The buyer was active: each live hold not extended before now lives ``ttl`` from now.
    Once per hold, so an open tab cannot keep a flash sale's stock for ever. Returns the
    new expiry of each hold extended."""
    if not hold_refs:
        return {}
    until = now + ttl
    async with db.begin() as conn:
        rows = await conn.execute(
            update(m.Reservation)
            .where(
                m.Reservation.order_ref.in_(set(hold_refs)),
                m.Reservation.status == HELD,
                m.Reservation.extended_at.is_(None),
                m.Reservation.expires_at > now,
                m.Reservation.expires_at < until,
            )
            .values(expires_at=until, extended_at=now, updated_at=now)
            .returning(m.Reservation.order_ref)
        )
        return {ref: until for ref in rows.scalars().all()}


async def reserve_converting_holds(
    db: Database,
    *,
    order_ref: str,
    items: Sequence[ReservationRequest],
    hold_refs: Sequence[str],
    now: datetime,
    ttl: timedelta,
) -> ReservationResult:
    """The checkout's reservation (see :func:`reservations.reserve`), taking the cart's
    holds into it: in one transaction the live holds give their stock back and the order
    takes what it needs, so what the buyer held is theirs and nothing is taken twice. A
    hold that lapsed is simply gone: the order takes the stock if it is still free, else
    it is short like any checkout. Short: nothing changes, the holds stay."""
    if ttl <= timedelta(0):
        raise ValueError("a reservation needs a positive ttl")
    wanted = _merge(items)
    for attempt in range(_ATTEMPTS):
        try:
            return await _convert_once(db, order_ref, wanted, hold_refs, now, now + ttl)
        except _Shortfall as shortfall:
            return ReservationResult(ok=False, shortages=shortfall.shortages)
        except (IntegrityError, _StockMoved):
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _hold_once(
    db: Database,
    ref: str,
    wanted: dict[_Want, int],
    now: datetime,
    ttl: timedelta,
    create: bool,
) -> ReservationResult:
    async with db.begin() as conn:
        row = (
            await conn.execute(
                select(m.Reservation.id, m.Reservation.status, m.Reservation.expires_at)
                .where(m.Reservation.order_ref == ref)
                .with_for_update()
            )
        ).first()
        if row is not None and row.status not in (HELD, RELEASED):
            return ReservationResult(ok=False, status=ReservationStatus(row.status))
        # Live: HELD and not yet expired. A HELD one past its expiry still holds its stock
        # until the sweeper comes (given back below), but is a lapsed hold like a released one.
        live = (
            row is not None
            and row.status == HELD
            and row.expires_at is not None
            and row.expires_at > now
        )
        if not live and not create:
            return ReservationResult(ok=False, status=ReservationStatus.RELEASED)
        expires_at = row.expires_at if live and row is not None else now + ttl
        if row is None:
            reservation_id = (
                await conn.execute(
                    insert(m.Reservation)
                    .values(
                        order_ref=ref,
                        status=HELD,
                        created_at=now,
                        expires_at=expires_at,
                        updated_at=now,
                    )
                    .returning(m.Reservation.id)
                )
            ).scalar_one()
        else:
            reservation_id = row.id
        returning = [reservation_id] if row is not None and row.status == HELD else []
        if returning:  # a new hold has nothing to give back nor old lines to drop
            await _lock_everything(conn, returning, wanted)
            await _give_back(conn, returning, now)
        # Short: the rollback puts the old hold back; the shortage counts what it had too,
        # which is what this line could have.
        try:
            allocations = await _take(conn, reservation_id, wanted, now, fresh=row is None)
        except _Shortfall as shortfall:
            if not returning:  # what it saw is what anyone could have: worth a mark
                raise _FreshShortfall(shortfall.shortages, shortfall.seen) from None
            raise
        if row is None:  # inserted as it is meant to be
            return ReservationResult(
                ok=True,
                status=ReservationStatus.HELD,
                allocations=allocations,
                expires_at=expires_at,
            )
        values: dict[str, object] = {"status": HELD, "expires_at": expires_at, "updated_at": now}
        if not live:  # a lapsed hold taken again starts afresh
            values.update(created_at=now, extended_at=None)
        await conn.execute(
            update(m.Reservation).where(m.Reservation.id == reservation_id).values(values)
        )
        return ReservationResult(
            ok=True, status=ReservationStatus.HELD, allocations=allocations, expires_at=expires_at
        )


async def _convert_once(
    db: Database,
    order_ref: str,
    wanted: dict[_Want, int],
    hold_refs: Sequence[str],
    now: datetime,
    expires_at: datetime,
) -> ReservationResult:
    async with db.begin() as conn:
        stored = (await _load(conn, [order_ref])).get(order_ref)
        if stored is not None:
            return _replay(stored)
        reservation_id = (
            await conn.execute(
                insert(m.Reservation)
                .values(
                    order_ref=order_ref,
                    status=HELD,
                    created_at=now,
                    expires_at=expires_at,
                    updated_at=now,
                )
                .returning(m.Reservation.id)
            )
        ).scalar_one()
        held = await _lock_held(conn, hold_refs)
        await _lock_everything(conn, held, wanted)
        if held:
            await conn.execute(
                update(m.Reservation)
                .where(m.Reservation.id.in_(held))
                .values(status=RELEASED, updated_at=now)
            )
            await _give_back(conn, held, now)
        allocations = await _take(conn, reservation_id, wanted, now, fresh=True)
        return ReservationResult(
            ok=True, status=ReservationStatus.HELD, allocations=allocations, expires_at=expires_at
        )


async def _lock_held(conn: AsyncConnection, refs: Sequence[str]) -> list[int]:
    """The live holds among ``refs``, their rows locked in id order (as the sweeper's)."""
    return list(
        (
            await conn.execute(
                select(m.Reservation.id)
                .where(m.Reservation.order_ref.in_(set(refs)), m.Reservation.status == HELD)
                .order_by(m.Reservation.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )


async def _lock_everything(
    conn: AsyncConnection, reservation_ids: Sequence[int], wanted: dict[_Want, int]
) -> None:
    """Every stock row this transaction will touch, locked before any changes: the rows the
    reservations give back to and the rows the take reads."""
    skus = {sku for sku, supplier in wanted if supplier is None}
    feeds = {key for key in wanted if key[1] is not None}
    if reservation_ids:
        rows = await conn.execute(
            select(m.ReservationLine.sku_id, m.ReservationLine.supplier_id).where(
                m.ReservationLine.reservation_id.in_(reservation_ids)
            )
        )
        for sku_id, supplier_id in rows:
            if supplier_id is None:
                skus.add(sku_id)
            else:
                feeds.add((sku_id, supplier_id))
    await _lock_warehouse_stock(conn, sorted(skus))
    await _lock_supplier_stock(conn, sorted(feeds, key=lambda k: (k[0], k[1] or 0)))


async def _give_back(conn: AsyncConnection, reservation_ids: Sequence[int], now: datetime) -> None:
    """The stock of these holds back, and their lines gone (a resized hold gets new ones)."""
    if not reservation_ids:
        return
    await _return_stock(conn, reservation_ids, now, is_sale=False)


async def _take(
    conn: AsyncConnection,
    reservation_id: int,
    wanted: dict[_Want, int],
    now: datetime,
    *,
    fresh: bool = False,
) -> tuple[Allocation, ...]:
    """The same plan and conditional UPDATEs as reservations._reserve_once, on a
    transaction that may just have given stock back (the locked read sees it). ``fresh``:
    a reservation row inserted by this transaction, with no lines to drop."""
    if not fresh:
        await conn.execute(
            delete(m.ReservationLine).where(m.ReservationLine.reservation_id == reservation_id)
        )
    plans = await _plan_takes(conn, wanted)
    return await _take_planned(conn, reservation_id, plans, now)
