"""InventoryStore: stock reads in batches, stock adjustments, and the checkout's
reservations (their logic is in reservations.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    and_,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)

from sources.common import lean
from sources.common.audit import AuditRecord, read_audit
from sources.common.batches import BatchKey, ImportProgress
from sources.common.db import Database
from sources.common.import_jobs import ImportJobs
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from . import holds, reservations, warehouses
from . import models as m
from .adjust import StockAdjustment, adjust_stock
from .adjust_many import StockBatch, StockChange, adjust_stock_many
from .records import (
    CartStock,
    LowStockPage,
    Reservation,
    ReservationRequest,
    ReservationResult,
    StockLevel,
    Warehouse,
    WarehouseChanges,
    WarehouseSetup,
    WarehouseStock,
    WarehouseWrite,
)
from .restock import restock
from .sold_out import SoldOutMarks

# Built once (Database.read): a batch's warehouse rows (part 0, in warehouse priority) and
# its supplier feeds' totals (part 1), in one statement.
_STOCK_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_STOCK_BY_SKU_IDS: Any = union_all(
    select(
        literal(0).label("part"),
        m.StockItem.sku_id.label("sku_id"),
        m.Warehouse.code.label("code"),
        m.StockItem.on_hand.label("on_hand"),
        m.StockItem.reserved.label("reserved"),
        m.Warehouse.priority.label("priority"),
    )
    .join(m.Warehouse, m.Warehouse.id == m.StockItem.warehouse_id)
    .where(m.StockItem.sku_id.in_(_STOCK_IDS)),
    select(
        literal(1),
        m.SupplierStock.sku_id,
        null(),
        func.sum(m.SupplierStock.available),
        literal(0),
        literal(0),
    )
    .where(m.SupplierStock.sku_id.in_(_STOCK_IDS))
    .group_by(m.SupplierStock.sku_id),
).order_by(*(literal_column(c) for c in ("part", "sku_id", "priority", "code")))


class InventoryStore(ImportJobs):
    source = "inventory"
    import_job_model = m.ImportJob
    import_row_error_model = m.ImportRowError

    def __init__(self, db: Database, *, sold_out: SoldOutMarks | None = None) -> None:
        self.db = db
        # Cleared by every write below that can raise stock; expiring in any case.
        self.sold_out = sold_out if sold_out is not None else SoldOutMarks()

    async def stock_by_sku_ids(self, sku_ids: Sequence[int]) -> dict[int, StockLevel]:
        """Every SKU asked for gets a level; a SKU with no rows has zero stock."""
        return await self._stock(sku_ids)

    async def _stock(self, sku_ids: Sequence[int], conn: Any = None) -> dict[int, StockLevel]:
        params = {"ids": sorted(set(sku_ids))}
        per_sku: dict[int, list[WarehouseStock]] = defaultdict(list)
        supplier: dict[int, int] = {}
        if conn is None:
            rows = await self.db.read(_STOCK_BY_SKU_IDS, params)
        else:
            rows = (await lean.execute(conn, _STOCK_BY_SKU_IDS, params)).all()
        # One round trip: the warehouses' rows in their order, then one row per SKU with a
        # supplier feed (code NULL), told apart by the ``part`` column.
        for part, sku_id, code, on_hand, reserved, _ in rows:
            if part == 0:
                per_sku[sku_id].append(WarehouseStock(code, on_hand, reserved))
            else:
                supplier[sku_id] = int(on_hand or 0)
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
        adjusted = await adjust_stock(
            self.db,
            sku_id=sku_id,
            warehouse_code=warehouse_code,
            delta=delta,
            actor=actor,
            reason=reason,
            now=now,
            idempotency_key=idempotency_key,
        )
        self.sold_out.clear()
        return adjusted

    async def adjust_stock_many(
        self,
        changes: Sequence[StockChange],
        *,
        actor: str,
        now: datetime,
        atomic: bool = False,
        key: BatchKey | None = None,
        progress: ImportProgress | None = None,
    ) -> StockBatch:
        """Apply every change in one transaction (audited, one entry each): the valid ones,
        or with ``atomic`` all or none. See adjust_many.py."""
        batch = await adjust_stock_many(
            self.db, changes, actor=actor, now=now, atomic=atomic, key=key, progress=progress
        )
        self.sold_out.clear()
        return batch

    async def audit_by_sku_ids(
        self, sku_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(conn, m.AuditEntry, self.source, "sku", sku_ids, limit)

    async def create_warehouse(
        self,
        *,
        code: str,
        name: str,
        region_code: str,
        priority: int | None,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> WarehouseWrite:
        """A new, empty warehouse (none when the code is taken), once per key. Audited."""
        return await warehouses.create_warehouse(
            self.db,
            code=code,
            name=name,
            region_code=region_code,
            priority=priority,
            actor=actor,
            now=now,
            key=key,
        )

    async def warehouses(self) -> list[Warehouse]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Warehouse).order_by(m.Warehouse.priority))
            return [Warehouse(r.id, r.code, r.name, r.region_code) for r in rows]

    async def save_warehouses(self, warehouses: Sequence[WarehouseSetup]) -> WarehouseChanges:
        """By code: new ones added, changed ones updated, the rest (and any not listed)
        left alone, so ``gateway init`` can run on every deploy."""
        added = changed = unchanged = 0
        async with self.db.begin() as conn:
            rows = await conn.execute(
                select(m.Warehouse).where(m.Warehouse.code.in_({w.code for w in warehouses}))
            )
            existing = {
                r.code: WarehouseSetup(r.code, r.name, r.region_code, r.priority) for r in rows
            }
            for warehouse in warehouses:
                values = {
                    "name": warehouse.name,
                    "region_code": warehouse.region_code,
                    "priority": warehouse.priority,
                }
                old = existing.get(warehouse.code)
                if old is None:
                    await conn.execute(insert(m.Warehouse).values(code=warehouse.code, **values))
                    added += 1
                elif old != warehouse:
                    await conn.execute(
                        update(m.Warehouse)
                        .where(m.Warehouse.code == warehouse.code)
                        .values(**values)
                    )
                    changed += 1
                else:
                    unchanged += 1
        return WarehouseChanges(added, changed, unchanged)

    async def reserve(
        self,
        *,
        order_ref: str,
        items: Sequence[ReservationRequest],
        now: datetime,
        ttl: timedelta,
        confirmed: bool = False,
    ) -> ReservationResult:
        """Hold stock for an order, all or nothing, in one transaction; never oversells.
        ``confirmed``: CONFIRMED at once, no expiry (no ``confirm_reservation`` needed).

        Warehouse choice: one warehouse if any can serve an item's whole quantity (the first
        by priority, then code), otherwise split across warehouses in priority order, taking
        what each has; drop-ship items (``supplier_id`` set) come from that supplier's feed.
        Idempotent by ``order_ref`` (see :func:`reservations.reserve`).
        """
        return await reservations.reserve(
            self.db,
            order_ref=order_ref,
            items=items,
            now=now,
            ttl=ttl,
            sold_out=self.sold_out,
            confirmed=confirmed,
        )

    async def confirm_reservation(self, order_ref: str, now: datetime) -> bool:
        """HELD -> CONFIRMED (no expiry any more); False when not HELD: undo the order."""
        return await reservations.confirm_reservation(self.db, order_ref, now)

    async def release_reservation(self, order_ref: str, now: datetime) -> bool:
        """HELD or CONFIRMED -> RELEASED, giving the stock back exactly once."""
        released = await reservations.release_reservation(self.db, order_ref, now)
        if released:
            self.sold_out.clear()
        return released

    async def hold_stock(
        self,
        *,
        hold_ref: str,
        items: Sequence[ReservationRequest],
        now: datetime,
        ttl: timedelta,
        create: bool = True,
    ) -> ReservationResult:
        """A cart line's hold set to exactly ``items``, all or nothing (see holds.py)."""
        result = await holds.hold(
            self.db,
            hold_ref=hold_ref,
            items=items,
            now=now,
            ttl=ttl,
            create=create,
            sold_out=self.sold_out,
        )
        if result.ok and not create:  # a decrease gives stock back
            self.sold_out.clear()
        return result

    async def release_holds(self, hold_refs: Sequence[str], now: datetime) -> int:
        """The live holds among ``hold_refs`` released, their stock back once each."""
        released = await holds.release_holds(self.db, hold_refs, now)
        if released:
            self.sold_out.clear()
        return released

    async def extend_holds(
        self, hold_refs: Sequence[str], now: datetime, ttl: timedelta
    ) -> dict[str, datetime]:
        """Each live hold not extended before lives ``ttl`` from now; the new expiries."""
        return await holds.extend_holds(self.db, hold_refs, now, ttl)

    async def reserve_converting_holds(
        self,
        *,
        order_ref: str,
        items: Sequence[ReservationRequest],
        hold_refs: Sequence[str],
        now: datetime,
        ttl: timedelta,
    ) -> ReservationResult:
        """reserve(), the cart's live holds given back in the same transaction."""
        return await holds.reserve_converting_holds(
            self.db, order_ref=order_ref, items=items, hold_refs=hold_refs, now=now, ttl=ttl
        )

    async def commit_sale(self, order_ref: str, now: datetime) -> bool:
        """CONFIRMED -> SOLD: on-hand and reserved go down together."""
        return await reservations.commit_sale(self.db, order_ref, now)

    async def sweep_expired(
        self, now: datetime, *, batch_size: int = reservations.SWEEP_BATCH
    ) -> int:
        """Release every HELD reservation expired by ``now``, ``batch_size`` per
        transaction; returns how many. Safe to run beside confirmations and other sweeps."""
        released = await reservations.sweep_expired(self.db, now, batch_size=batch_size)
        if released:
            self.sold_out.clear()
        return released

    async def restock(
        self, *, return_ref: str, items: Sequence[tuple[int, str, int]], actor: str, now: datetime
    ) -> bool:
        """Returned units back to on-hand, once per return (see restock.py)."""
        restocked = await restock(self.db, return_ref=return_ref, items=items, actor=actor, now=now)
        self.sold_out.clear()
        return restocked

    async def cart_stock(self, hold_refs: Sequence[str], sku_ids: Sequence[int]) -> CartStock:
        """The holds are read BEFORE the stock, never beside it: a hold the sweeper releases
        in between is then counted twice (the checkout's conversion decides, under its
        locks) rather than not at all (a buyer refused units that are free)."""
        # One connection, and the private forms: the public ones each count as a call.
        async with self.db.connect() as conn:
            held = await reservations.reservations_on(conn, hold_refs) if hold_refs else {}
            stock = await self._stock(sku_ids, conn) if sku_ids else {}
        return CartStock(held, stock)

    async def reservations_by_order_refs(self, order_refs: Sequence[str]) -> dict[str, Reservation]:
        return await reservations.reservations_by_order_refs(self.db, order_refs)
