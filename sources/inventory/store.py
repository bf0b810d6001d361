"""InventoryStore: stock reads in batches (reservations arrive with the checkout)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select

from sources.common.db import Database

from . import models as m
from .records import StockLevel, Warehouse, WarehouseStock


class InventoryStore:
    source = "inventory"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def stock_by_sku_ids(self, sku_ids: Sequence[int]) -> dict[int, StockLevel]:
        """Every SKU asked for gets a level; a SKU with no rows has zero stock."""
        ids = set(sku_ids)
        per_sku: dict[int, list[WarehouseStock]] = defaultdict(list)
        supplier: dict[int, int] = {}
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(
                    m.StockItem.sku_id,
                    m.Warehouse.code,
                    m.StockItem.on_hand,
                    m.StockItem.reserved,
                )
                .join(m.Warehouse, m.Warehouse.id == m.StockItem.warehouse_id)
                .where(m.StockItem.sku_id.in_(ids))
                .order_by(m.StockItem.sku_id, m.Warehouse.priority, m.Warehouse.code)
            )
            for sku_id, code, on_hand, reserved in rows:
                per_sku[sku_id].append(WarehouseStock(code, on_hand, reserved))
            feed = await conn.execute(
                select(m.SupplierStock.sku_id, func.sum(m.SupplierStock.available))
                .where(m.SupplierStock.sku_id.in_(ids))
                .group_by(m.SupplierStock.sku_id)
            )
            supplier = {sku_id: int(total or 0) for sku_id, total in feed}
        return {
            sku_id: StockLevel(sku_id, tuple(per_sku.get(sku_id, ())), supplier.get(sku_id, 0))
            for sku_id in sku_ids
        }

    async def warehouses(self) -> list[Warehouse]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Warehouse).order_by(m.Warehouse.priority))
            return [Warehouse(r.id, r.code, r.name, r.region_code) for r in rows]
