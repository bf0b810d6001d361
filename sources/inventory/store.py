"""InventoryStore: stock reads in batches (reservations arrive with the checkout)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from sources.common.audit import AuditRecord, read_audit
from sources.common.db import Database
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from . import models as m
from .adjust import StockAdjustment, adjust_stock
from .records import LowStockPage, StockLevel, Warehouse, WarehouseStock


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

    async def low_stock(
        self, *, threshold: int, first: int, after: str | None = None
    ) -> LowStockPage:
        """SKUs whose warehouse stock available is under ``threshold``, lowest first.

        Keyset-paged on (available, sku id); drop-ship SKUs have no warehouse rows and are
        not listed (their supplier's feed is not ours to restock).
        """
        available = func.sum(m.StockItem.on_hand - m.StockItem.reserved)
        grouped = (
            select(m.StockItem.sku_id, available.label("available"))
            .group_by(m.StockItem.sku_id)
            .having(available < threshold)
            .subquery()
        )
        query = select(grouped.c.sku_id, grouped.c.available)
        if after is not None:
            key, last_id = decode_cursor(after, "LOW_STOCK")
            if key is None or not key.lstrip("-").isdigit():
                raise InvalidCursor("the cursor is malformed")
            value = int(key)
            query = query.where(
                or_(
                    grouped.c.available > value,
                    and_(grouped.c.available == value, grouped.c.sku_id > last_id),
                )
            )
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    query.order_by(grouped.c.available, grouped.c.sku_id).limit(first + 1)
                )
            ).all()
            total = (await conn.execute(select(func.count()).select_from(grouped))).scalar_one()
        items = [(int(sku_id), int(avail)) for sku_id, avail in rows[:first]]
        return LowStockPage(
            sku_ids=[sku_id for sku_id, _ in items],
            cursors=[encode_cursor("LOW_STOCK", str(avail), sku_id) for sku_id, avail in items],
            has_next_page=len(rows) > first,
            total_count=int(total),
        )

    async def adjust_stock(
        self,
        *,
        sku_id: int,
        warehouse_code: str,
        delta: int,
        actor: str,
        reason: str,
        now: datetime,
        idempotency_key: str | None = None,
    ) -> StockAdjustment:
        return await adjust_stock(
            self.db,
            sku_id=sku_id,
            warehouse_code=warehouse_code,
            delta=delta,
            actor=actor,
            reason=reason,
            now=now,
            idempotency_key=idempotency_key,
        )

    async def audit_by_sku_ids(
        self, sku_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(conn, m.AuditEntry, self.source, "sku", sku_ids, limit)

    async def warehouses(self) -> list[Warehouse]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Warehouse).order_by(m.Warehouse.priority))
            return [Warehouse(r.id, r.code, r.name, r.region_code) for r in rows]
