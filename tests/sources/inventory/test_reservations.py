"""Stock reservations, the checkout saga's guard against overselling, on SQLite and
PostgreSQL: what a reservation holds, that it holds it all or not at all, that every status
move happens once, and that no interleaving of checkouts, confirmations and the sweeper
sells stock the shop does not have."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from sources.common.db import Database
from sources.inventory import models as m
from sources.inventory import reservations
from sources.inventory.records import (
    Allocation,
    ReservationRequest,
    ReservationStatus,
)
from sources.inventory.reservations import WarehouseAvailability, choose_warehouses
from sources.inventory.store import InventoryStore
from tests.migrated import upgrade_fresh
from tests.pg import temp_database
from tests.remote import adapter_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)
SKU = 101
OTHER_SKU = 202
SUPPLIER = 7


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}")
        await upgrade_fresh("inventory", database)
        yield database
        await database.dispose()
        return
    async with temp_database() as url:
        database = Database(url, pool_size=20)
        await upgrade_fresh("inventory", database)
        yield database
        await database.dispose()


@pytest.fixture
async def store(db: Database, adapter: str) -> AsyncIterator[InventoryStore]:
    async with adapter_for(adapter, "inventory", InventoryStore(db)) as handle:
        yield handle


async def add_warehouse(db: Database, code: str, priority: int) -> int:
    async with db.begin() as conn:
        return (
            await conn.execute(
                insert(m.Warehouse)
                .values(code=code, name=code, region_code="CN-SH", priority=priority)
                .returning(m.Warehouse.id)
            )
        ).scalar_one()


async def put_stock(db: Database, sku_id: int, warehouse_id: int, on_hand: int) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(m.StockItem).values(
                sku_id=sku_id,
                warehouse_id=warehouse_id,
                on_hand=on_hand,
                reserved=0,
                updated_at=NOW,
            )
        )


async def put_supplier_stock(db: Database, sku_id: int, supplier_id: int, available: int) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(m.SupplierStock).values(
                sku_id=sku_id, supplier_id=supplier_id, available=available, updated_at=NOW
            )
        )


async def two_warehouses(db: Database, *, main: int, overflow: int, sku_id: int = SKU) -> None:
    """MAIN (priority 1) and OVERFLOW (priority 2) holding ``sku_id``."""
    await put_stock(db, sku_id, await add_warehouse(db, "MAIN", 1), main)
    await put_stock(db, sku_id, await add_warehouse(db, "OVERFLOW", 2), overflow)


async def stock_rows(db: Database, sku_id: int = SKU) -> dict[str, tuple[int, int]]:
    """(on hand, reserved) by warehouse code."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Warehouse.code, m.StockItem.on_hand, m.StockItem.reserved)
            .join(m.Warehouse, m.Warehouse.id == m.StockItem.warehouse_id)
            .where(m.StockItem.sku_id == sku_id)
        )
        return {code: (on_hand, reserved) for code, on_hand, reserved in rows}


async def supplier_available(db: Database, sku_id: int = SKU) -> int:
    async with db.connect() as conn:
        return (
            await conn.execute(
                select(m.SupplierStock.available).where(
                    m.SupplierStock.sku_id == sku_id, m.SupplierStock.supplier_id == SUPPLIER
                )
            )
        ).scalar_one()


async def available(store: InventoryStore, sku_id: int = SKU) -> int:
    return (await store.stock_by_sku_ids([sku_id]))[sku_id].available


def want(quantity: int, sku_id: int = SKU, supplier_id: int | None = None) -> ReservationRequest:
    return ReservationRequest(sku_id=sku_id, quantity=quantity, supplier_id=supplier_id)


async def status_of(store: InventoryStore, order_ref: str) -> ReservationStatus:
    return (await store.reservations_by_order_refs([order_ref]))[order_ref].status


# What a reservation holds


async def test_one_warehouse_serves_the_whole_quantity_when_it_can(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=2, overflow=5)

    result = await store.reserve(order_ref="o-1", items=[want(4)], now=NOW, ttl=TTL)

    assert result.ok
    assert result.status is ReservationStatus.HELD
    assert result.expires_at == NOW + TTL
    # MAIN comes first but cannot serve 4: one parcel from OVERFLOW beats a split.
    assert result.allocations == (Allocation(SKU, "OVERFLOW", None, 4),)
    assert await stock_rows(db) == {"MAIN": (2, 0), "OVERFLOW": (5, 4)}


async def test_priority_then_code_picks_between_warehouses_that_can_each_serve(
    db: Database, store: InventoryStore
) -> None:
    await put_stock(db, SKU, await add_warehouse(db, "ZULU", 1), 5)
    await put_stock(db, SKU, await add_warehouse(db, "ALPHA", 1), 5)
    await put_stock(db, SKU, await add_warehouse(db, "FIRST", 0), 1)

    result = await store.reserve(order_ref="o-1", items=[want(3)], now=NOW, ttl=TTL)

    assert result.allocations == (Allocation(SKU, "ALPHA", None, 3),)


async def test_quantity_no_single_warehouse_has_is_split_in_priority_order(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)

    result = await store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL)

    assert result.ok
    assert result.allocations == (
        Allocation(SKU, "MAIN", None, 3),
        Allocation(SKU, "OVERFLOW", None, 3),
    )
    assert await stock_rows(db) == {"MAIN": (3, 3), "OVERFLOW": (4, 3)}
    assert await available(store) == 1


async def test_drop_ship_item_is_held_in_the_suppliers_feed(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=10, overflow=0)
    await put_supplier_stock(db, SKU, SUPPLIER, 5)

    result = await store.reserve(
        order_ref="o-1", items=[want(2, supplier_id=SUPPLIER)], now=NOW, ttl=TTL
    )

    assert result.allocations == (Allocation(SKU, None, SUPPLIER, 2),)
    assert await supplier_available(db) == 3
    assert await stock_rows(db) == {"MAIN": (10, 0), "OVERFLOW": (0, 0)}


async def test_lines_of_one_sku_are_held_together(db: Database, store: InventoryStore) -> None:
    await two_warehouses(db, main=3, overflow=0)

    result = await store.reserve(order_ref="o-1", items=[want(2), want(1)], now=NOW, ttl=TTL)
    refused = await store.reserve(order_ref="o-2", items=[want(1), want(1)], now=NOW, ttl=TTL)

    assert result.allocations == (Allocation(SKU, "MAIN", None, 3),)
    assert not refused.ok
    assert refused.shortages == {SKU: 0}


async def test_a_short_item_holds_nothing_and_every_shortage_is_reported(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=2)
    await put_stock(db, OTHER_SKU, 1, 1)
    await put_supplier_stock(db, 303, SUPPLIER, 1)

    result = await store.reserve(
        order_ref="o-1",
        items=[want(4), want(2, sku_id=OTHER_SKU), want(2, 303, SUPPLIER), want(1, 404)],
        now=NOW,
        ttl=TTL,
    )

    assert not result.ok
    assert result.status is None
    assert result.allocations == ()
    assert result.shortages == {OTHER_SKU: 1, 303: 1, 404: 0}
    assert await stock_rows(db) == {"MAIN": (3, 0), "OVERFLOW": (2, 0)}
    assert await supplier_available(db, 303) == 1
    assert await store.reservations_by_order_refs(["o-1"]) == {}
    # Nothing was stored, so the order can try again once stock arrives.
    assert (await store.reserve(order_ref="o-1", items=[want(4)], now=NOW, ttl=TTL)).ok


async def test_quantity_must_be_positive(store: InventoryStore) -> None:
    with pytest.raises(ValueError):
        await store.reserve(order_ref="o-1", items=[want(0)], now=NOW, ttl=TTL)


# Idempotency by order


async def test_reserving_again_for_an_order_returns_its_allocations_without_holding_twice(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)
    first = await store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL)

    again = await store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL)
    assert await store.confirm_reservation("o-1", NOW)
    confirmed = await store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL)

    assert again.ok and again.replayed
    assert again.allocations == first.allocations
    assert confirmed.ok and confirmed.status is ReservationStatus.CONFIRMED
    assert confirmed.allocations == first.allocations
    assert await available(store) == 1


async def test_reserving_again_after_release_is_refused_with_the_status(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=5, overflow=0)
    await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)
    await store.release_reservation("o-1", NOW)

    result = await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)

    assert not result.ok
    assert result.status is ReservationStatus.RELEASED
    assert await available(store) == 5


async def test_concurrent_reserves_of_one_order_hold_stock_once(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=5, overflow=5)

    results = await asyncio.gather(
        *(store.reserve(order_ref="o-1", items=[want(3)], now=NOW, ttl=TTL) for _ in range(8))
    )

    assert all(r.ok for r in results)
    assert {r.allocations for r in results} == {(Allocation(SKU, "MAIN", None, 3),)}
    assert await available(store) == 7


# Status moves


async def test_confirmed_reservation_has_no_expiry_and_survives_the_sweeper(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=5, overflow=0)
    await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)

    assert await store.confirm_reservation("o-1", NOW)
    assert not await store.confirm_reservation("o-1", NOW)
    assert await store.sweep_expired(NOW + timedelta(days=1)) == 0

    reservation = (await store.reservations_by_order_refs(["o-1"]))["o-1"]
    assert reservation.status is ReservationStatus.CONFIRMED
    assert reservation.expires_at is None
    assert await stock_rows(db) == {"MAIN": (5, 2), "OVERFLOW": (0, 0)}


async def test_a_reservation_made_confirmed_has_no_expiry_and_is_released_like_any_other(
    db: Database, store: InventoryStore
) -> None:
    """A checkout with no coupon to record reserves CONFIRMED at once: the expiry sweep
    never takes it; a release (the saga's undo, the sweeper's stale attempt) gives it back."""
    await two_warehouses(db, main=5, overflow=0)
    made = await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL, confirmed=True)

    assert made.ok and made.status is ReservationStatus.CONFIRMED and made.expires_at is None
    assert not await store.confirm_reservation("o-1", NOW)  # nothing left to confirm
    assert await store.sweep_expired(NOW + timedelta(days=1)) == 0
    again = await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)
    assert again.replayed and again.status is ReservationStatus.CONFIRMED
    assert await stock_rows(db) == {"MAIN": (5, 2), "OVERFLOW": (0, 0)}

    assert await store.release_reservation("o-1", NOW)
    assert await available(store) == 5


async def test_confirming_after_the_sweeper_released_it_fails(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=5, overflow=0)
    await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)

    assert await store.sweep_expired(NOW + TTL) == 1

    assert not await store.confirm_reservation("o-1", NOW + TTL)
    assert not await store.confirm_reservation("never-reserved", NOW)
    assert await status_of(store, "o-1") is ReservationStatus.RELEASED
    assert await available(store) == 5


async def test_release_gives_warehouse_and_supplier_stock_back_once(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)
    await put_supplier_stock(db, SKU, SUPPLIER, 5)
    await store.reserve(
        order_ref="o-1", items=[want(6), want(2, supplier_id=SUPPLIER)], now=NOW, ttl=TTL
    )

    assert await store.release_reservation("o-1", NOW)
    assert not await store.release_reservation("o-1", NOW)

    assert await stock_rows(db) == {"MAIN": (3, 0), "OVERFLOW": (4, 0)}
    assert await supplier_available(db) == 5
    assert await status_of(store, "o-1") is ReservationStatus.RELEASED


async def test_a_confirmed_reservation_can_be_released(db: Database, store: InventoryStore) -> None:
    await two_warehouses(db, main=5, overflow=0)
    await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)
    await store.confirm_reservation("o-1", NOW)

    assert await store.release_reservation("o-1", NOW)

    assert await available(store) == 5


async def test_concurrent_releases_give_stock_back_once(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)
    await put_supplier_stock(db, SKU, SUPPLIER, 5)
    await store.reserve(
        order_ref="o-1", items=[want(6), want(2, supplier_id=SUPPLIER)], now=NOW, ttl=TTL
    )

    outcomes = await asyncio.gather(*(store.release_reservation("o-1", NOW) for _ in range(6)))

    assert sorted(outcomes) == [False] * 5 + [True]
    assert await stock_rows(db) == {"MAIN": (3, 0), "OVERFLOW": (4, 0)}
    assert await supplier_available(db) == 5


async def test_sale_takes_paid_stock_out_of_on_hand_and_reserved(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)
    await put_supplier_stock(db, SKU, SUPPLIER, 5)
    await store.reserve(
        order_ref="o-1", items=[want(6), want(2, supplier_id=SUPPLIER)], now=NOW, ttl=TTL
    )

    assert not await store.commit_sale("o-1", NOW)  # HELD: not confirmed yet
    assert await store.confirm_reservation("o-1", NOW)
    assert await store.commit_sale("o-1", NOW)
    assert not await store.commit_sale("o-1", NOW)
    assert not await store.release_reservation("o-1", NOW)

    assert await stock_rows(db) == {"MAIN": (0, 0), "OVERFLOW": (1, 0)}
    assert await supplier_available(db) == 3
    assert await status_of(store, "o-1") is ReservationStatus.SOLD
    replay = await store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL)
    assert replay.ok and replay.status is ReservationStatus.SOLD
    assert await available(store) == 1 + 3


async def test_sweeper_releases_only_expired_held_reservations(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=10, overflow=0)
    await store.reserve(order_ref="old", items=[want(1)], now=NOW, ttl=TTL)
    await store.reserve(order_ref="edge", items=[want(2)], now=NOW + timedelta(minutes=5), ttl=TTL)
    await store.reserve(order_ref="new", items=[want(3)], now=NOW + timedelta(minutes=6), ttl=TTL)
    await store.reserve(order_ref="kept", items=[want(4)], now=NOW, ttl=TTL)
    await store.confirm_reservation("kept", NOW)

    assert await store.sweep_expired(NOW + TTL + timedelta(minutes=5)) == 2
    assert await store.sweep_expired(NOW + TTL + timedelta(minutes=5)) == 0

    statuses = await store.reservations_by_order_refs(["old", "edge", "new", "kept", "none"])
    assert {ref: r.status for ref, r in statuses.items()} == {
        "old": ReservationStatus.RELEASED,
        "edge": ReservationStatus.RELEASED,
        "new": ReservationStatus.HELD,
        "kept": ReservationStatus.CONFIRMED,
    }
    assert await stock_rows(db) == {"MAIN": (10, 7), "OVERFLOW": (0, 0)}


async def test_sweeper_works_through_more_than_one_batch(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=30, overflow=0)
    for n in range(7):
        await store.reserve(order_ref=f"o-{n}", items=[want(2)], now=NOW, ttl=TTL)

    assert await store.sweep_expired(NOW + TTL, batch_size=3) == 7
    assert await available(store) == 30


async def test_reservations_by_order_refs_shows_status_and_allocations(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)
    await put_supplier_stock(db, OTHER_SKU, SUPPLIER, 5)
    await store.reserve(
        order_ref="o-1",
        items=[want(6), want(1, OTHER_SKU, SUPPLIER)],
        now=NOW,
        ttl=TTL,
    )
    await store.reserve(order_ref="o-2", items=[want(1)], now=NOW, ttl=TTL)
    await store.confirm_reservation("o-2", NOW + timedelta(minutes=1))

    found = await store.reservations_by_order_refs(["o-1", "o-2", "missing"])

    assert set(found) == {"o-1", "o-2"}
    assert found["o-1"].allocations == (
        Allocation(SKU, "MAIN", None, 3),
        Allocation(SKU, "OVERFLOW", None, 3),
        Allocation(OTHER_SKU, None, SUPPLIER, 1),
    )
    assert found["o-1"].status is ReservationStatus.HELD
    assert found["o-1"].created_at == NOW
    assert found["o-1"].expires_at == NOW + TTL
    assert found["o-2"].status is ReservationStatus.CONFIRMED
    assert found["o-2"].updated_at == NOW + timedelta(minutes=1)
    assert found["o-2"].allocations == (Allocation(SKU, "OVERFLOW", None, 1),)


# Races


async def test_forty_buyers_cannot_take_more_than_the_ten_units_in_stock(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=6, overflow=4)

    results = await asyncio.gather(
        *(store.reserve(order_ref=f"o-{n}", items=[want(1)], now=NOW, ttl=TTL) for n in range(40))
    )

    assert sum(r.ok for r in results) == 10
    assert all(r.shortages == {SKU: 0} for r in results if not r.ok)
    assert await available(store) == 0
    assert await stock_rows(db) == {"MAIN": (6, 6), "OVERFLOW": (4, 4)}
    held = await store.reservations_by_order_refs([f"o-{n}" for n in range(40)])
    assert len(held) == 10


async def test_sweeper_racing_confirmations_ends_each_reservation_confirmed_or_released(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=20, overflow=20)
    await put_supplier_stock(db, SKU, SUPPLIER, 20)
    refs = [f"o-{n}" for n in range(20)]
    for ref in refs:
        await store.reserve(
            order_ref=ref, items=[want(1), want(1, supplier_id=SUPPLIER)], now=NOW, ttl=TTL
        )
    later = NOW + TTL

    # Two sweepers in small batches from the oldest, confirmations from the newest: they
    # meet somewhere in the middle, on both backends.
    confirm_tasks = [store.confirm_reservation(ref, later) for ref in reversed(refs)]
    sweeps_and_confirms = await asyncio.gather(
        store.sweep_expired(later, batch_size=2),
        *confirm_tasks,
        store.sweep_expired(later, batch_size=3),
    )
    swept = sweeps_and_confirms[0] + sweeps_and_confirms[-1]
    confirmed = dict(zip(reversed(refs), sweeps_and_confirms[1:-1], strict=True))

    statuses = {ref: r.status for ref, r in (await store.reservations_by_order_refs(refs)).items()}
    for ref in refs:
        expected = ReservationStatus.CONFIRMED if confirmed[ref] else ReservationStatus.RELEASED
        assert statuses[ref] is expected
    n_confirmed = sum(confirmed.values())
    assert swept == len(refs) - n_confirmed
    rows = await stock_rows(db)
    assert sum(reserved for _, reserved in rows.values()) == n_confirmed
    assert all(reserved <= on_hand for on_hand, reserved in rows.values())
    assert await supplier_available(db) == 20 - n_confirmed


async def test_buyers_of_whole_warehouses_and_of_splits_racing_hold_all_or_nothing(
    db: Database, store: InventoryStore
) -> None:
    # 3 units each: MAIN serves one buyer whole, OVERFLOW one more, then only a split can
    # serve (PostgreSQL: the one-statement reservation, then the transaction for the split).
    await two_warehouses(db, main=5, overflow=4)

    results = await asyncio.gather(
        *(store.reserve(order_ref=f"o-{n}", items=[want(3)], now=NOW, ttl=TTL) for n in range(20))
    )

    assert sum(r.ok for r in results) == 3
    rows = await stock_rows(db)
    assert sum(reserved for _, reserved in rows.values()) == 9
    assert all(0 <= reserved <= on_hand for on_hand, reserved in rows.values())
    held = await store.reservations_by_order_refs([f"o-{n}" for n in range(20)])
    assert sum(a.quantity for r in held.values() for a in r.allocations) == 9
    assert all(r.shortages == {SKU: 0} for r in results if not r.ok)


async def test_concurrent_reserves_of_one_order_needing_a_split_hold_stock_once(
    db: Database, store: InventoryStore
) -> None:
    await two_warehouses(db, main=3, overflow=4)

    results = await asyncio.gather(
        *(store.reserve(order_ref="o-1", items=[want(6)], now=NOW, ttl=TTL) for _ in range(5))
    )

    assert all(r.ok for r in results), results
    assert len({r.allocations for r in results}) == 1
    assert await stock_rows(db) == {"MAIN": (3, 3), "OVERFLOW": (4, 3)}


async def test_warehouse_codes_are_compared_as_python_compares_strings(
    db: Database, store: InventoryStore
) -> None:
    # Byte-wise ("B" before "b"), whatever the database's collation says.
    await put_stock(db, SKU, await add_warehouse(db, "b-east", 1), 5)
    await put_stock(db, SKU, await add_warehouse(db, "B-west", 1), 5)

    result = await store.reserve(order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)

    assert result.allocations == (Allocation(SKU, "B-west", None, 2),)
    assert choose_warehouses(
        [WarehouseAvailability(1, "b-east", 1, 5), WarehouseAvailability(2, "B-west", 1, 5)], 2
    ) == [(WarehouseAvailability(2, "B-west", 1, 5), 2)]


# SQLite keeps its transaction (no data-modifying CTEs).
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_postgresql_reserves_whole_warehouses_in_one_statement_without_a_transaction(
    db: Database,
) -> None:
    await two_warehouses(db, main=5, overflow=5)
    other = await add_warehouse(db, "THIRD", 3)
    await put_stock(db, OTHER_SKU, other, 2)
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    try:
        result = await reservations.reserve(
            db, order_ref="o-1", items=[want(2, OTHER_SKU), want(4)], now=NOW, ttl=TTL
        )
        again = await reservations.reserve(
            db, order_ref="o-1", items=[want(2, OTHER_SKU), want(4)], now=NOW, ttl=TTL
        )
    finally:
        event.remove(engine, "before_cursor_execute", statement)

    assert result.allocations == (
        Allocation(OTHER_SKU, "THIRD", None, 2),
        Allocation(SKU, "MAIN", None, 4),
    )
    assert again.replayed and again.allocations == result.allocations  # lines in that order
    # The reservation (the transaction's path: two); the retry's statement, its two reads.
    assert len(seen) == 1 + 3
    assert await stock_rows(db) == {"MAIN": (5, 4), "OVERFLOW": (5, 0)}
    assert await stock_rows(db, OTHER_SKU) == {"THIRD": (2, 2)}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_a_deadlock_with_a_transaction_reserving_the_same_order_is_retried(
    db: Database,
) -> None:
    # The one-statement reservation locks stock, then inserts its reservation row; the
    # transactions take the reservation row first (PostgreSQL's lock order; SQLite has
    # one writer). Only the same order_ref meets both ways.
    await two_warehouses(db, main=5, overflow=5)
    async with db.begin() as other:
        await other.execute(
            insert(m.Reservation).values(
                order_ref="o-1", status="HELD", created_at=NOW, expires_at=NOW + TTL, updated_at=NOW
            )
        )
        reserving = asyncio.create_task(
            reservations.reserve(db, order_ref="o-1", items=[want(2)], now=NOW, ttl=TTL)
        )
        for _ in range(100):  # until the statement waits on the uncommitted order_ref
            async with db.connect() as conn:
                waiting = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                ).scalar_one()
            if waiting:
                break
            await asyncio.sleep(0.02)
        assert waiting
        # The stock rows next, as the transaction would: a deadlock, which PostgreSQL
        # breaks after deadlock_timeout by failing the statement (it waited first).
        await other.execute(
            select(m.StockItem.sku_id).where(m.StockItem.sku_id == SKU).with_for_update()
        )

    result = await reserving

    assert result.ok and result.replayed  # the other reserve's reservation, as a retry gets
    assert await stock_rows(db) == {"MAIN": (5, 0), "OVERFLOW": (5, 0)}


# The warehouse choice rule on its own


def test_choose_warehouses_prefers_one_parcel_then_splits_by_priority() -> None:
    a = WarehouseAvailability(1, "A", 1, 2)
    b = WarehouseAvailability(2, "B", 2, 0)
    c = WarehouseAvailability(3, "C", 3, 3)

    assert choose_warehouses([c, b, a], 3) == [(c, 3)]
    assert choose_warehouses([c, b, a], 4) == [(a, 2), (c, 2)]
    assert choose_warehouses([c, b, a], 6) is None
    assert choose_warehouses([], 1) is None
