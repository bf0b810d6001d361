"""Sold-out marks (sources/inventory/sold_out.py), on SQLite and PostgreSQL: a SKU a locked
read found short is refused from memory, never sold beyond the database's stock; any stock
increase through the store clears the marks; a mark expires; an order's own hold is
still replayed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from sources.common.db import Database
from sources.inventory import models as m
from sources.inventory.records import ReservationRequest, ReservationStatus
from sources.inventory.sold_out import SoldOutMarks
from sources.inventory.store import InventoryStore
from tests.migrated import upgrade_fresh
from tests.pg import temp_database

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)
SKU = 101


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}")
        await upgrade_fresh("inventory", database)
        yield database
        await database.dispose()
        return
    async with temp_database() as url:
        database = Database(url, pool_size=5)
        await upgrade_fresh("inventory", database)
        yield database
        await database.dispose()


@pytest.fixture
async def stocked(db: Database) -> Database:
    async with db.begin() as conn:
        warehouse = (
            await conn.execute(
                insert(m.Warehouse)
                .values(code="SH1", name="SH1", region_code="CN-SH", priority=1)
                .returning(m.Warehouse.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(m.StockItem).values(
                sku_id=SKU, warehouse_id=warehouse, on_hand=2, reserved=0, updated_at=NOW
            )
        )
    return db


async def _buy(store: InventoryStore, ref: str, quantity: int = 1) -> bool:
    result = await store.reserve(
        order_ref=ref, items=[ReservationRequest(SKU, quantity)], now=NOW, ttl=TTL
    )
    return result.ok


async def test_a_sold_out_sku_is_refused_from_memory_until_stock_comes_back(
    stocked: Database,
) -> None:
    clock = Clock()
    store = InventoryStore(stocked, sold_out=SoldOutMarks(ttl=2.0, clock=clock))
    assert await _buy(store, "o1") and await _buy(store, "o2")
    refused = await store.reserve(
        order_ref="o3", items=[ReservationRequest(SKU, 1)], now=NOW, ttl=TTL
    )
    assert not refused.ok and refused.shortages == {SKU: 0}
    assert store.sold_out.shortages({(SKU, None): 1}) == {SKU: 0}  # the mark is set

    # Stock rising behind the store's back: the mark delays the sale (never sells
    # more than there is), then expires.
    async with stocked.begin() as conn:
        await conn.execute(update(m.StockItem).values(on_hand=m.StockItem.on_hand + 1))
    assert not await _buy(store, "o4")
    clock.now += 2.5
    assert await _buy(store, "o4")
    assert not await _buy(store, "o5")  # sold out again, marked again

    # A release through the store clears every mark at once.
    assert await store.release_reservation("o1", NOW)
    assert await _buy(store, "o5")

    # The order's own hold is replayed even while its SKU is marked sold out.
    assert not await _buy(store, "o6")
    replay = await store.reserve(
        order_ref="o5", items=[ReservationRequest(SKU, 1)], now=NOW, ttl=TTL
    )
    assert replay.ok and replay.replayed and replay.status is ReservationStatus.HELD


async def test_a_mark_refuses_only_what_it_saw_short(stocked: Database) -> None:
    store = InventoryStore(stocked, sold_out=SoldOutMarks(ttl=60.0))
    assert not await _buy(store, "big", quantity=3)  # 2 on hand: the mark says 2
    assert await _buy(store, "small", quantity=2)  # within what was seen: to the database
    async with stocked.connect() as conn:
        on_hand, reserved = (
            await conn.execute(
                m.StockItem.__table__.select().with_only_columns(
                    m.StockItem.on_hand, m.StockItem.reserved
                )
            )
        ).one()
    assert (on_hand, reserved) == (2, 2)


async def test_the_reservation_that_takes_the_last_unit_marks_the_sku_sold_out(
    stocked: Database,
) -> None:
    store = InventoryStore(stocked, sold_out=SoldOutMarks(ttl=60.0))
    assert await _buy(store, "first")
    assert not store.sold_out.live()  # one unit left: nothing to refuse yet
    assert await _buy(store, "last")
    # No buyer has been refused yet, and the next is refused from memory already.
    assert store.sold_out.shortages({(SKU, None): 1}) == {SKU: 0}
    refused = await store.reserve(
        order_ref="next", items=[ReservationRequest(SKU, 1)], now=NOW, ttl=TTL
    )
    assert not refused.ok and refused.shortages == {SKU: 0}
    # The last unit's order failing gives it back: the mark goes, the unit sells again.
    assert await store.release_reservation("last", NOW)
    assert await _buy(store, "again")
