"""Stock reservations: the step of the order saga that guarantees the shop never sells
stock it does not have.

Every stock change is a conditional UPDATE inside one transaction (``reserved + q`` only
where ``on_hand - reserved >= q``; a supplier's ``available - q`` only where
``available >= q``), backed by the CHECK constraints on the stock tables, so no interleaving
of checkouts takes stock below zero. Every status move is a conditional UPDATE on the
reservation's status, so stock is given back or sold at most once, and a reservation ends
CONFIRMED or RELEASED, never both, however the sweeper and the saga race.

Lock order on PostgreSQL, the same in every transaction here so concurrent calls queue but
never deadlock: reservation rows (by id), then stock_items rows (by SKU, warehouse id), then
supplier_stock rows (by SKU, supplier). SQLite takes the write lock up front (BEGIN
IMMEDIATE), so its transactions simply run one at a time.

The one exception is the one-statement reservation (reserve_statements.reserve_alone, a
reservation whose SKUs each come whole from one warehouse): it locks the stock rows first
and inserts its reservation row only if every SKU is covered, so that a shortage writes
nothing. Its only wait after the stock locks is on its own order_ref's unique key, so it
can deadlock only with a concurrent reserve of the same order taking the transaction; the
side PostgreSQL fails is retried by ``reserve`` and replays the other's reservation.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.db import Database
from sources.common.fast_init import fast_inits
from sources.common.models import table_of

from . import models as m
from . import reserve_statements
from .records import (
    Allocation,
    Reservation,
    ReservationRequest,
    ReservationResult,
    ReservationStatus,
)
from .sold_out import SoldOutMarks

HELD = ReservationStatus.HELD.value
CONFIRMED = ReservationStatus.CONFIRMED.value
RELEASED = ReservationStatus.RELEASED.value
SOLD = ReservationStatus.SOLD.value

SWEEP_BATCH = 500
_ATTEMPTS = 3

_Want = tuple[int, int | None]  # (sku id, supplier id or None for the warehouses)


@dataclass(frozen=True, slots=True)
class WarehouseAvailability:
    """One warehouse's free stock of a SKU, as read under the row lock."""

    warehouse_id: int
    code: str
    priority: int
    available: int


def choose_warehouses(
    stock: Sequence[WarehouseAvailability], quantity: int
) -> list[tuple[WarehouseAvailability, int]] | None:
    """Where to take ``quantity`` from, or None when all warehouses together fall short.

    One warehouse if any can serve the whole quantity (the first by priority, then code),
    because one parcel beats two; otherwise split in priority order, taking what each has.
    """
    ordered = sorted(stock, key=lambda w: (w.priority, w.code))
    for warehouse in ordered:
        if warehouse.available >= quantity:
            return [(warehouse, quantity)]
    plan: list[tuple[WarehouseAvailability, int]] = []
    remaining = quantity
    for warehouse in ordered:
        take = min(remaining, max(warehouse.available, 0))
        if take > 0:
            plan.append((warehouse, take))
            remaining -= take
    return plan if remaining == 0 else None


class _Shortfall(Exception):
    """Some item cannot be fully served: raised to roll the whole reservation back.
    ``seen``: what the locked read found of each item that fell short."""

    def __init__(self, shortages: dict[int, int], seen: dict[_Want, int]) -> None:
        super().__init__(shortages)
        self.shortages = shortages
        self.seen = seen


class _StockMoved(Exception):
    """A conditional UPDATE found less stock than the locked read showed. Not expected
    (the rows are locked), so the reservation is retried from the start, not trusted."""


async def reserve(
    db: Database,
    *,
    order_ref: str,
    items: Sequence[ReservationRequest],
    now: datetime,
    ttl: timedelta,
    sold_out: SoldOutMarks | None = None,
    confirmed: bool = False,
) -> ReservationResult:
    """Hold stock for every item of an order, all or nothing, for ``ttl``; or, with
    ``confirmed``, take it CONFIRMED at once (no expiry): for a checkout with no step
    between its reservation and its order that could refuse it (no coupon use to record),
    which then needs no ``confirm_reservation``. A confirmed reservation whose order never
    comes is released like any other, by the checkout's undo or by the sweeper's pass over
    stale checkout attempts.

    Items with a ``supplier_id`` are drop-shipped: held by decrementing that supplier's
    ``available``. Other items are held in the warehouses: one warehouse if any can serve the
    whole quantity (the first by priority, then code), otherwise split across warehouses in
    priority order, taking what each has. Items of the same SKU and source are merged first.

    If any item falls short, nothing is held and ``shortages`` maps each short SKU to what was
    available then (summed over both sources if a SKU was asked from both). Idempotent by
    ``order_ref``: an order already HELD, CONFIRMED or SOLD gets its stored allocations back
    (whatever ``items`` says now); a RELEASED one gets ``ok=False`` with its status.

    ``sold_out``: items a recent locked read found short are refused without taking any
    lock (see sold_out.py); the order's own stored reservation is still replayed. A
    reservation that takes an item's last free units marks it too, once committed: the
    sale's next buyers are refused from then on, not only after one of them has queued
    for the lock and found nothing (which at 64 buyers in flight let a hundred more
    through to claim their keys, each then refused and released: bench/RESULTS.md).
    """
    if ttl <= timedelta(0):
        raise ValueError("a reservation needs a positive ttl")
    wanted = _merge(items)
    if sold_out is not None and (marked := sold_out.shortages(wanted)):
        async with db.connect() as conn:
            stored = (await _load(conn, [order_ref])).get(order_ref)
        return _replay(stored) if stored else ReservationResult(ok=False, shortages=marked)
    for attempt in range(_ATTEMPTS):
        emptied: dict[_Want, int] = {}
        try:
            result = await _reserve_once(
                db, order_ref, wanted, now, None if confirmed else now + ttl, emptied
            )
        except _Shortfall as shortfall:
            if sold_out is not None:
                sold_out.note(shortfall.seen)
            return ReservationResult(ok=False, shortages=shortfall.shortages)
        except (IntegrityError, _StockMoved, DBAPIError) as error:
            # IntegrityError: a concurrent reserve for this order_ref committed first (its
            # unique key); the next attempt finds it and replays it. A deadlock: the same,
            # reached by the one-statement reservation and a transaction locking in the
            # other order (reserve_statements.py); PostgreSQL failed this side of it.
            if attempt == _ATTEMPTS - 1 or not (
                isinstance(error, IntegrityError | _StockMoved) or _is_deadlock(error)
            ):
                raise
        else:
            if sold_out is not None and emptied:
                sold_out.note(emptied)  # committed: nothing free is left of these
            return result
    raise AssertionError("unreachable")


def _is_deadlock(error: DBAPIError) -> bool:
    """PostgreSQL's deadlock_detected (40P01): the driver's error under SQLAlchemy's."""
    return getattr(error.orig, "sqlstate", None) == "40P01"


async def confirm_reservation(db: Database, order_ref: str, now: datetime) -> bool:
    """HELD -> CONFIRMED, with no expiry from then on. False when not HELD (the sweeper
    released it, or it was never made): the caller must then undo the order.

    A HELD reservation past its expiry that the sweeper has not reached yet still holds its
    stock, so confirming it is safe and is allowed: only the status decides, once.
    """
    async with db.begin() as conn:
        moved = await conn.execute(
            update(m.Reservation)
            .where(m.Reservation.order_ref == order_ref, m.Reservation.status == HELD)
            .values(status=CONFIRMED, expires_at=None, updated_at=now)
            .returning(m.Reservation.id)
        )
        return moved.first() is not None


async def release_reservation(db: Database, order_ref: str, now: datetime) -> bool:
    """HELD or CONFIRMED -> RELEASED, giving the stock back exactly once: a second call, or
    one racing this one, finds the status moved and returns False, changing nothing."""
    async with db.begin() as conn:
        reservation_id = (
            await conn.execute(
                update(m.Reservation)
                .where(
                    m.Reservation.order_ref == order_ref,
                    m.Reservation.status.in_((HELD, CONFIRMED)),
                )
                .values(status=RELEASED, updated_at=now)
                .returning(m.Reservation.id)
            )
        ).scalar_one_or_none()
        if reservation_id is None:
            return False
        await _return_stock(conn, [reservation_id], now, is_sale=False)
        return True


async def commit_sale(db: Database, order_ref: str, now: datetime) -> bool:
    """CONFIRMED -> SOLD once the order is paid: on-hand and reserved go down together,
    so available stock does not change. Drop-ship stock already left the supplier's feed."""
    async with db.begin() as conn:
        reservation_id = (
            await conn.execute(
                update(m.Reservation)
                .where(m.Reservation.order_ref == order_ref, m.Reservation.status == CONFIRMED)
                .values(status=SOLD, updated_at=now)
                .returning(m.Reservation.id)
            )
        ).scalar_one_or_none()
        if reservation_id is None:
            return False
        await _return_stock(conn, [reservation_id], now, is_sale=True)
        return True


async def sweep_expired(db: Database, now: datetime, *, batch_size: int = SWEEP_BATCH) -> int:
    """Release every HELD reservation with ``expires_at <= now``; returns how many.

    Batches of ``batch_size``, each its own short transaction. The candidates are locked in
    id order and re-checked by the status UPDATE, so a reservation confirmed meanwhile is
    left alone and two sweepers never release one twice.
    """
    released = 0
    while True:
        async with db.begin() as conn:
            candidates = (
                (
                    await conn.execute(
                        select(m.Reservation.id)
                        .where(m.Reservation.status == HELD, m.Reservation.expires_at <= now)
                        .order_by(m.Reservation.id)
                        .limit(batch_size)
                        .with_for_update()
                    )
                )
                .scalars()
                .all()
            )
            if not candidates:
                return released
            ids = list(
                (
                    await conn.execute(
                        update(m.Reservation)
                        .where(m.Reservation.id.in_(candidates), m.Reservation.status == HELD)
                        .values(status=RELEASED, updated_at=now)
                        .returning(m.Reservation.id)
                    )
                )
                .scalars()
                .all()
            )
            await _return_stock(conn, ids, now, is_sale=False)
        released += len(ids)


async def reservations_by_order_refs(
    db: Database, order_refs: Sequence[str]
) -> dict[str, Reservation]:
    """Each order's reservation with its allocations; orders without one are absent."""
    async with db.connect() as conn:
        return await _load(conn, order_refs)


async def reservations_on(
    conn: AsyncConnection, order_refs: Sequence[str]
) -> dict[str, Reservation]:
    """:func:`reservations_by_order_refs` on a connection the caller holds."""
    return await _load(conn, order_refs)


def _merge(items: Iterable[ReservationRequest]) -> dict[_Want, int]:
    """Quantities by (SKU, supplier), in the order first asked for."""
    wanted: dict[_Want, int] = {}
    for item in items:
        if item.quantity <= 0:
            raise ValueError(f"quantity of SKU {item.sku_id} must be positive")
        key = (item.sku_id, item.supplier_id)
        wanted[key] = wanted.get(key, 0) + item.quantity
    return wanted


_Plan = dict[_Want, list[tuple[WarehouseAvailability | None, int]]]


async def _plan_takes(
    conn: AsyncConnection, wanted: Mapping[_Want, int], emptied: dict[_Want, int] | None = None
) -> _Plan:
    """Lock the stock rows ``wanted`` names (in id order: no deadlock between checkouts)
    and choose where each unit comes from, or raise _Shortfall with what is free: the one
    planning step of every take (a checkout's reservation, a cart's hold)."""
    warehouse_stock = await _lock_warehouse_stock(
        conn, sorted({sku for sku, supplier in wanted if supplier is None})
    )
    supplier_stock = await _lock_supplier_stock(
        conn, sorted(key for key in wanted if key[1] is not None)
    )
    return _plan(wanted, warehouse_stock, supplier_stock, emptied)


def _plan(
    wanted: Mapping[_Want, int],
    warehouse_stock: Mapping[int, list[WarehouseAvailability]],
    supplier_stock: Mapping[_Want, int],
    emptied: dict[_Want, int] | None = None,
) -> _Plan:
    """Where each unit comes from, chosen on the stock read under the lock, or _Shortfall.
    ``emptied`` (when given) gets every item the plan leaves with nothing free, as 0."""
    plans: _Plan = {}
    shortages: dict[int, int] = {}
    seen: dict[_Want, int] = {}
    for (sku_id, supplier_id), quantity in wanted.items():
        if supplier_id is not None:
            available = supplier_stock.get((sku_id, supplier_id), 0)
            if available >= quantity:
                plans[(sku_id, supplier_id)] = [(None, quantity)]
                if emptied is not None and available == quantity:
                    emptied[(sku_id, supplier_id)] = 0
            else:
                shortages[sku_id] = shortages.get(sku_id, 0) + available
                seen[(sku_id, supplier_id)] = available
            continue
        stock = warehouse_stock.get(sku_id, [])
        chosen = choose_warehouses(stock, quantity)
        if chosen is None:
            free = sum(max(w.available, 0) for w in stock)
            shortages[sku_id] = shortages.get(sku_id, 0) + free
            seen[(sku_id, None)] = free
        else:
            plans[(sku_id, None)] = list(chosen)
            if emptied is not None and sum(max(w.available, 0) for w in stock) == quantity:
                emptied[(sku_id, None)] = 0
    if shortages:
        raise _Shortfall(shortages, seen)
    return plans


async def _reserve_once(
    db: Database,
    order_ref: str,
    wanted: dict[_Want, int],
    now: datetime,
    expires_at: datetime | None,
    emptied: dict[_Want, int],
) -> ReservationResult:
    """``expires_at`` None: CONFIRMED at once. ``emptied``: see ``_plan``."""
    status = HELD if expires_at is not None else CONFIRMED
    if not db.is_sqlite and all(s is None for _, s in wanted):
        alone = await _reserve_alone(db, order_ref, wanted, now, expires_at, status, emptied)
        if alone is not None:
            return alone
        # Every SKU is there, but some only split across warehouses: the transaction plans it.
    # SQLite: the statements after BEGIN IMMEDIATE run on the loop's thread (a few small
    # statements; the file's other writers wait while this one holds it).
    async with db.begin(on_loop=True) as conn:
        if conn.dialect.name == "postgresql" and all(s is None for _, s in wanted):
            return await _reserve_in_two(conn, order_ref, wanted, now, expires_at, status, emptied)
        # The reservation row first: a concurrent reserve of the same order waits on its
        # unique key here, before touching any stock. A reservation already stored for the
        # order (a retry) makes it a no-op, and only then is the stored one read back.
        reservation_id = (
            await lean.execute(
                conn,
                _INSERT_IF_ABSENT[conn.dialect.name],
                {
                    "order_ref": order_ref,
                    "status": status,
                    "created_at": now,
                    "expires_at": expires_at,
                    "updated_at": now,
                },
            )
        ).scalar_one_or_none()
        if reservation_id is None:
            stored = (await _load(conn, [order_ref])).get(order_ref)
            if stored is None:  # deleted between the two statements: start again
                raise _StockMoved([])
            return _replay(stored)
        plans = await _plan_takes(conn, wanted, emptied)

        allocations = await _take_planned(conn, reservation_id, plans, now)
        return ReservationResult(
            ok=True,
            status=ReservationStatus(status),
            allocations=allocations,
            expires_at=expires_at,
        )


async def _reserve_alone(
    db: Database,
    order_ref: str,
    wanted: dict[_Want, int],
    now: datetime,
    expires_at: datetime | None,
    status: str,
    emptied: dict[_Want, int],
) -> ReservationResult | None:
    """``_reserve_once`` on PostgreSQL for warehouse items, as one autocommit statement
    (reserve_statements.reserve_alone) when each SKU has a warehouse that covers it whole.
    None when some SKU needs a split (nothing written: the caller takes the transaction);
    raises _Shortfall when the stock read under the lock falls short, as the transaction
    does."""
    values = _reservation_values(order_ref, status, now, expires_at)
    async with db.write_alone() as conn:
        rows = await reserve_statements.reserve_alone(
            conn, values, {sku: quantity for (sku, _supplier), quantity in wanted.items()}
        )
    head = rows[0]
    stock: dict[int, list[WarehouseAvailability]] = defaultdict(list)
    for row in rows:
        if row.sku_id is not None:
            stock[row.sku_id].append(
                WarehouseAvailability(row.warehouse_id, row.code, row.priority, row.available)
            )
    if head.reservation_id is not None:
        taken = {row.sku_id: row for row in rows if row.taken is not None}
        if len(taken) != len(wanted):  # one statement, its own row locks: cannot happen
            raise RuntimeError(f"reservation {order_ref} took {len(taken)} of {len(wanted)}")
        for (sku, supplier), quantity in wanted.items():  # read under the lock, before
            if sum(max(w.available, 0) for w in stock[sku]) == quantity:
                emptied[(sku, supplier)] = 0
        return ReservationResult(
            ok=True,
            status=ReservationStatus(status),
            allocations=tuple(
                Allocation(sku, taken[sku].code, None, quantity)
                for (sku, _), quantity in wanted.items()
            ),
            expires_at=expires_at,
        )
    if head.existed or head.every_sku:
        # The order has a reservation: stored before this statement (nothing was locked),
        # or by a concurrent reserve that committed first (its unique key).
        return await _replay_stored(db, order_ref)
    try:
        _plan(wanted, stock, {})
    except _Shortfall:
        # Short, as read under the lock; but the lock may have waited for a concurrent
        # reserve of this same order, whose reservation took that stock and which this
        # statement's snapshot does not show (the transaction would have waited on its
        # unique key instead): that one is this order's answer.
        async with db.connect() as conn:
            stored = (await _load(conn, [order_ref])).get(order_ref)
        if stored is not None:
            return _replay(stored)
        raise
    return None  # every SKU is there, some only split: the transaction plans it


def _reservation_values(
    order_ref: str, status: str, now: datetime, expires_at: datetime | None
) -> dict[str, Any]:
    """The reservation row's values, as reserve_statements' claims bind them."""
    return {
        "order_ref": order_ref,
        "status": status,
        "created_at": now,
        "expires_at": expires_at,
        "updated_at": now,
    }


async def _replay_stored(db: Database, order_ref: str) -> ReservationResult:
    async with db.connect() as conn:
        stored = (await _load(conn, [order_ref])).get(order_ref)
    if stored is None:  # released and deleted meanwhile: start again
        raise _StockMoved([])
    return _replay(stored)


async def _reserve_in_two(
    conn: AsyncConnection,
    order_ref: str,
    wanted: dict[_Want, int],
    now: datetime,
    expires_at: datetime | None,
    status: str,
    emptied: dict[_Want, int],
) -> ReservationResult:
    """``_reserve_once`` on PostgreSQL for warehouse items only: the same steps, in the
    same order and transaction, in two statements (reserve_statements.py)."""
    values = _reservation_values(order_ref, status, now, expires_at)
    rows = await reserve_statements.claim_and_lock(conn, values, sorted({s for s, _ in wanted}))
    if not rows:  # the order has a reservation already: replayed, nothing locked
        stored = (await _load(conn, [order_ref])).get(order_ref)
        if stored is None:  # deleted between the two statements: start again
            raise _StockMoved([])
        return _replay(stored)
    stock: dict[int, list[WarehouseAvailability]] = defaultdict(list)
    for row in rows:
        if row.sku_id is not None:
            stock[row.sku_id].append(
                WarehouseAvailability(row.warehouse_id, row.code, row.priority, row.available)
            )
    plans = _plan(wanted, stock, {}, emptied)
    takes: dict[tuple[int, int], int] = {}
    allocations: list[Allocation] = []
    for (sku_id, _supplier), plan in plans.items():
        for warehouse, quantity in plan:
            assert warehouse is not None  # warehouse items only
            takes[(sku_id, warehouse.warehouse_id)] = quantity
            allocations.append(Allocation(sku_id, warehouse.code, None, quantity))
    taken = await reserve_statements.take_and_record(conn, rows[0].reservation_id, takes, now)
    if taken != len(takes):
        raise _StockMoved(sorted({sku for sku, _ in takes}))
    return ReservationResult(
        ok=True,
        status=ReservationStatus(status),
        allocations=tuple(allocations),
        expires_at=expires_at,
    )


async def _take_planned(
    conn: AsyncConnection, reservation_id: int, plans: _Plan, now: datetime
) -> tuple[Allocation, ...]:
    """Take what ``_plan_takes`` chose (conditional UPDATEs on the rows it locked) and record
    each take as a line of the reservation."""
    await _take_from_warehouses(
        conn,
        {
            (sku_id, warehouse.warehouse_id): quantity
            for (sku_id, _supplier), plan in plans.items()
            for warehouse, quantity in plan
            if warehouse is not None
        },
        now,
    )
    allocations: list[Allocation] = []
    lines: list[dict[str, object]] = []
    for (sku_id, supplier_id), plan in plans.items():
        for warehouse, quantity in plan:
            if warehouse is None:
                await _take_from_supplier(conn, sku_id, supplier_id, quantity, now)
                code, warehouse_id = None, None
            else:
                code, warehouse_id = warehouse.code, warehouse.warehouse_id
            allocations.append(Allocation(sku_id, code, supplier_id, quantity))
            lines.append(
                {
                    "reservation_id": reservation_id,
                    "sku_id": sku_id,
                    "warehouse_id": warehouse_id,
                    "supplier_id": supplier_id,
                    "quantity": quantity,
                }
            )
    if lines:
        await lean.execute_many(conn, _INSERT_LINES, lines)
    return tuple(allocations)


def _reservation_claim(dialect: str) -> Any:
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert_(_RESERVATIONS)
        .on_conflict_do_nothing(index_elements=[_RESERVATIONS.c.order_ref])
        .returning(_RESERVATIONS.c.id)
    )


# The reservation's writes and its locked read, built once against the tables (Core, not
# the ORM classes): a statement kept between calls keeps its SQLAlchemy cache key and skips
# the ORM's DML plugin. The conditional UPDATEs of the stock stay built per call (their
# shape follows the rows taken).
_RESERVATIONS = table_of(m.Reservation)
_STOCK_ITEMS = table_of(m.StockItem)
_WAREHOUSES = table_of(m.Warehouse)
_INSERT_IF_ABSENT = {dialect: _reservation_claim(dialect) for dialect in ("postgresql", "sqlite")}
_INSERT_LINES = insert(table_of(m.ReservationLine))
_LOCK_WAREHOUSE_STOCK = (
    select(
        _STOCK_ITEMS.c.sku_id,
        _STOCK_ITEMS.c.warehouse_id,
        _WAREHOUSES.c.code,
        _WAREHOUSES.c.priority,
        _STOCK_ITEMS.c.on_hand - _STOCK_ITEMS.c.reserved,
    )
    .join(_WAREHOUSES, _WAREHOUSES.c.id == _STOCK_ITEMS.c.warehouse_id)
    .where(_STOCK_ITEMS.c.sku_id.in_(bindparam("sku_ids", expanding=True)))
    .order_by(_STOCK_ITEMS.c.sku_id, _STOCK_ITEMS.c.warehouse_id)
    # Only the stock rows: locking the warehouse rows would queue every checkout.
    .with_for_update(of=_STOCK_ITEMS)
)


def _replay(stored: Reservation) -> ReservationResult:
    if stored.status is ReservationStatus.RELEASED:
        return ReservationResult(ok=False, status=stored.status, replayed=True)
    return ReservationResult(
        ok=True,
        status=stored.status,
        allocations=stored.allocations,
        expires_at=stored.expires_at,
        replayed=True,
    )


async def _lock_warehouse_stock(
    conn: AsyncConnection, sku_ids: Sequence[int]
) -> dict[int, list[WarehouseAvailability]]:
    """The SKUs' warehouse rows, locked in (SKU, warehouse id) order until commit."""
    if not sku_ids:
        return {}
    rows = await lean.execute(conn, _LOCK_WAREHOUSE_STOCK, {"sku_ids": list(sku_ids)})
    stock: dict[int, list[WarehouseAvailability]] = defaultdict(list)
    for sku_id, warehouse_id, code, priority, available in rows:
        stock[sku_id].append(WarehouseAvailability(warehouse_id, code, priority, available))
    return stock


async def _lock_supplier_stock(conn: AsyncConnection, keys: Sequence[_Want]) -> dict[_Want, int]:
    """The (SKU, supplier) feed rows, locked in that order until commit."""
    if not keys:
        return {}
    rows = await conn.execute(
        select(m.SupplierStock.sku_id, m.SupplierStock.supplier_id, m.SupplierStock.available)
        .where(tuple_(m.SupplierStock.sku_id, m.SupplierStock.supplier_id).in_(keys))
        .order_by(m.SupplierStock.sku_id, m.SupplierStock.supplier_id)
        .with_for_update()
    )
    return {(sku_id, supplier_id): available for sku_id, supplier_id, available in rows}


async def _take_from_warehouses(
    conn: AsyncConnection, takes: dict[tuple[int, int], int], now: datetime
) -> None:
    """Every warehouse row of the reservation in one conditional UPDATE (one round trip
    however many lines): each row only if it still has its quantity free, and all of them
    or the reservation is retried (the rows are locked, so a miss is not expected)."""
    if not takes:
        return
    params: dict[str, Any] = {"updated_at": now}
    for i, ((sku, warehouse), qty) in enumerate(takes.items()):
        params[f"sku_{i}"], params[f"warehouse_{i}"], params[f"quantity_{i}"] = sku, warehouse, qty
    taken = await lean.execute(conn, _warehouse_take(len(takes)), params)
    if taken.rowcount != len(takes):
        raise _StockMoved(sorted({sku for sku, _ in takes}))


@functools.cache
def _warehouse_take(rows: int) -> Any:
    """The conditional UPDATE of ``rows`` warehouse rows (``_take_from_warehouses``),
    built once per number of rows, its values bound (``sku_<i>``, ``warehouse_<i>``,
    ``quantity_<i>``, ``updated_at``): one row takes its quantity only if it still has it
    free; several take each its own (a CASE) and the caller checks all of them moved."""
    item = _STOCK_ITEMS.c

    def bound(name: str, i: int) -> Any:
        return bindparam(f"{name}_{i}", type_=Integer)

    if rows == 1:
        wanted: Any = bound("quantity", 0)
        where: Any = and_(
            item.sku_id == bound("sku", 0), item.warehouse_id == bound("warehouse", 0)
        )
    else:
        wanted = case(
            *(
                (
                    and_(
                        item.sku_id == bound("sku", i), item.warehouse_id == bound("warehouse", i)
                    ),
                    bound("quantity", i),
                )
                for i in range(rows)
            ),
            else_=0,
        )
        where = tuple_(item.sku_id, item.warehouse_id).in_(
            [tuple_(bound("sku", i), bound("warehouse", i)) for i in range(rows)]
        )
    return (
        update(_STOCK_ITEMS)
        .where(where, item.on_hand - item.reserved >= wanted)
        .values(reserved=item.reserved + wanted, updated_at=bindparam("updated_at"))
    )


async def _take_from_supplier(
    conn: AsyncConnection, sku_id: int, supplier_id: int | None, quantity: int, now: datetime
) -> None:
    taken = await conn.execute(
        update(m.SupplierStock)
        .where(
            m.SupplierStock.sku_id == sku_id,
            m.SupplierStock.supplier_id == supplier_id,
            m.SupplierStock.available >= quantity,
        )
        .values(available=m.SupplierStock.available - quantity, updated_at=now)
    )
    if taken.rowcount != 1:
        raise _StockMoved(sku_id)


async def _return_stock(
    conn: AsyncConnection, reservation_ids: Sequence[int], now: datetime, *, is_sale: bool
) -> None:
    """Undo the holds of reservations whose status this transaction just moved: give them
    back (release) or let them leave the shop (sale: on-hand goes down with reserved)."""
    if not reservation_ids:
        return
    rows = await conn.execute(
        select(
            m.ReservationLine.sku_id,
            m.ReservationLine.warehouse_id,
            m.ReservationLine.supplier_id,
            m.ReservationLine.quantity,
        ).where(m.ReservationLine.reservation_id.in_(reservation_ids))
    )
    per_warehouse: dict[tuple[int, int], int] = defaultdict(int)
    per_supplier: dict[tuple[int, int], int] = defaultdict(int)
    for sku_id, warehouse_id, supplier_id, quantity in rows:
        if warehouse_id is not None:
            per_warehouse[(sku_id, warehouse_id)] += quantity
        elif supplier_id is not None:
            per_supplier[(sku_id, supplier_id)] += quantity
    for (sku_id, warehouse_id), quantity in sorted(per_warehouse.items()):
        values = {"reserved": m.StockItem.reserved - quantity, "updated_at": now}
        if is_sale:
            values["on_hand"] = m.StockItem.on_hand - quantity
        returned = await conn.execute(
            update(m.StockItem)
            .where(
                m.StockItem.sku_id == sku_id,
                m.StockItem.warehouse_id == warehouse_id,
                m.StockItem.reserved >= quantity,
            )
            .values(values)
        )
        if returned.rowcount != 1:
            raise RuntimeError(
                f"SKU {sku_id} in warehouse {warehouse_id} holds less than its reservations"
            )
    if is_sale:
        return
    for (sku_id, supplier_id), quantity in sorted(per_supplier.items()):
        # A feed row the supplier dropped meanwhile gets nothing back: the feed, not us,
        # says what the supplier can ship.
        await conn.execute(
            update(m.SupplierStock)
            .where(m.SupplierStock.sku_id == sku_id, m.SupplierStock.supplier_id == supplier_id)
            .values(available=m.SupplierStock.available + quantity, updated_at=now)
        )


async def _load(conn: AsyncConnection, order_refs: Sequence[str]) -> dict[str, Reservation]:
    refs = set(order_refs)
    if not refs:
        return {}
    heads = (
        await conn.execute(select(m.Reservation).where(m.Reservation.order_ref.in_(refs)))
    ).all()
    if not heads:
        return {}
    allocations: dict[int, list[Allocation]] = defaultdict(list)
    lines = await conn.execute(
        select(
            m.ReservationLine.reservation_id,
            m.ReservationLine.sku_id,
            m.Warehouse.code,
            m.ReservationLine.supplier_id,
            m.ReservationLine.quantity,
        )
        .outerjoin(m.Warehouse, m.Warehouse.id == m.ReservationLine.warehouse_id)
        .where(m.ReservationLine.reservation_id.in_([h.id for h in heads]))
        .order_by(m.ReservationLine.id)
    )
    for reservation_id, sku_id, code, supplier_id, quantity in lines:
        allocations[reservation_id].append(Allocation(sku_id, code, supplier_id, quantity))
    return {
        h.order_ref: Reservation(
            order_ref=h.order_ref,
            status=ReservationStatus(h.status),
            created_at=h.created_at,
            expires_at=h.expires_at,
            updated_at=h.updated_at,
            allocations=tuple(allocations.get(h.id, ())),
        )
        for h in heads
    }


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
