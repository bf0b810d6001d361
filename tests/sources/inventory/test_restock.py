"""Returned goods go back on the shelf once per return."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from sources.common.db import Database
from sources.inventory import models as m
from sources.inventory.store import InventoryStore
from tests.migrated import upgrade_fresh
from tests.remote import adapter_for

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path, adapter: str) -> AsyncIterator[InventoryStore]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/inventory.db")
    await upgrade_fresh("inventory", db)
    async with db.begin() as conn:
        await conn.execute(
            insert(m.Warehouse),
            [{"id": 1, "code": "SH-01", "name": "Shanghai", "region_code": "CN-SH", "priority": 1}],
        )
        await conn.execute(
            insert(m.StockItem),
            [{"sku_id": 7, "warehouse_id": 1, "on_hand": 3, "reserved": 0, "updated_at": NOW}],
        )
    async with adapter_for(adapter, "inventory", InventoryStore(db)) as handle:
        yield handle
    await db.dispose()


async def on_hand(store: InventoryStore, sku_id: int) -> int:
    async with store.db.connect() as conn:
        return int(
            (
                await conn.execute(select(m.StockItem.on_hand).where(m.StockItem.sku_id == sku_id))
            ).scalar_one()
        )


async def test_a_return_is_restocked_once_however_often_it_is_received(
    store: InventoryStore,
) -> None:
    first = await store.restock(
        return_ref="as-1", items=[(7, "SH-01", 2)], actor="staff:1", now=NOW
    )
    again = await store.restock(
        return_ref="as-1", items=[(7, "SH-01", 2)], actor="staff:1", now=NOW
    )

    assert (first, again) == (True, False)
    assert await on_hand(store, 7) == 5
    audit = await store.audit_by_sku_ids([7], 5)
    assert [e.action for e in audit[7]] == ["stock.restock"]


async def test_an_unknown_warehouse_restocks_nothing(store: InventoryStore) -> None:
    applied = await store.restock(
        return_ref="as-2", items=[(7, "SH-01", 1), (7, "XX-99", 1)], actor="staff:1", now=NOW
    )

    assert applied is False
    assert await on_hand(store, 7) == 3


async def test_a_sku_without_a_stock_row_gets_one(store: InventoryStore) -> None:
    await store.restock(return_ref="as-3", items=[(8, "SH-01", 4)], actor="staff:1", now=NOW)

    assert await on_hand(store, 8) == 4
