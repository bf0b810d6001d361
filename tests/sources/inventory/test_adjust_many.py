"""Batches of stock adjustments keep the single adjustment's guarantees under concurrency:
on-hand never drops below reserved, whoever else writes at the same time (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sources.common.batches import BatchKey, BatchRefusal
from sources.common.db import Database
from sources.inventory import models as m
from sources.inventory.adjust import AdjustmentRefusal
from sources.inventory.adjust_many import StockChange
from sources.inventory.store import InventoryStore
from tests.migrated import upgrade_fresh
from tests.pg import temp_database

from .test_reservations import add_warehouse, put_stock

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[InventoryStore]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}")
        await upgrade_fresh("inventory", db)
        yield InventoryStore(db)
        await db.dispose()
        return
    async with temp_database() as url:
        db = Database(url, pool_size=20)
        await upgrade_fresh("inventory", db)
        yield InventoryStore(db)
        await db.dispose()


async def _on_hand(store: InventoryStore, sku_id: int) -> int:
    async with store.db.connect() as conn:
        return int(
            (
                await conn.execute(select(m.StockItem.on_hand).where(m.StockItem.sku_id == sku_id))
            ).scalar_one()
        )


def _take(sku_id: int, units: int = 1) -> StockChange:
    return StockChange(sku_id, "SH-01", -units, "damaged")


async def test_concurrent_batches_never_take_stock_below_reserved(store: InventoryStore) -> None:
    warehouse = await add_warehouse(store.db, "SH-01", 1)
    await put_stock(store.db, 1, warehouse, 12)
    async with store.db.begin() as conn:
        await conn.execute(update(m.StockItem).where(m.StockItem.sku_id == 1).values(reserved=2))
    # Twelve batches at once, each taking one unit twice: only ten units are free.
    batches = await asyncio.gather(
        *(store.adjust_stock_many([_take(1), _take(1)], actor="t", now=NOW) for _ in range(12))
    )
    applied = sum(1 for b in batches for r in b.results if r.refusal is None)
    refused = [r.refusal for b in batches for r in b.results if r.refusal is not None]
    assert applied == 10
    assert set(refused) == {AdjustmentRefusal.BELOW_RESERVED}
    assert await _on_hand(store, 1) == 2
    audit = await store.audit_by_sku_ids([1], 100)
    assert len(audit[1]) == 10


async def test_an_atomic_batch_writes_nothing_when_one_change_is_refused(
    store: InventoryStore,
) -> None:
    warehouse = await add_warehouse(store.db, "SH-01", 1)
    await put_stock(store.db, 2, warehouse, 3)
    await put_stock(store.db, 3, warehouse, 3)
    changes = [StockChange(2, "SH-01", 5, "delivery"), _take(3, 4)]
    batch = await store.adjust_stock_many(changes, actor="t", now=NOW, atomic=True)
    assert batch.refusal is BatchRefusal.REFUSED_ITEMS
    assert [r.refusal for r in batch.results] == [None, AdjustmentRefusal.BELOW_RESERVED]
    assert (await _on_hand(store, 2), await _on_hand(store, 3)) == (3, 3)
    assert (await store.audit_by_sku_ids([2], 5))[2] == []


async def test_a_batch_key_applies_once_even_when_retried_at_once(store: InventoryStore) -> None:
    warehouse = await add_warehouse(store.db, "SH-01", 1)
    await put_stock(store.db, 4, warehouse, 0)
    key = BatchKey("stockAdjustBulk:k", "f" * 64)
    changes = [StockChange(4, "SH-01", 7, "delivery")]
    batches = await asyncio.gather(
        *(store.adjust_stock_many(changes, actor="t", now=NOW, key=key) for _ in range(5))
    )
    assert sorted(b.replayed for b in batches) == [False, True, True, True, True]
    assert await _on_hand(store, 4) == 7
    other = await store.adjust_stock_many(
        changes, actor="t", now=NOW, key=BatchKey(key.key, "0" * 64)
    )
    assert other.refusal is BatchRefusal.KEY_REUSED
