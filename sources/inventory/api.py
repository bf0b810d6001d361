"""InventorySource: stock, adjustments and the checkout's reservations as a typed interface,
implemented by ``InventoryStore`` in process and by ``RemoteSource`` over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sources.common.audit import AuditRecord
from sources.common.batches import BatchKey, ImportProgress
from sources.common.import_jobs import ImportJobsSource
from sources.common.wire import read

from .adjust import StockAdjustment
from .adjust_many import StockBatch, StockChange
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
    WarehouseWrite,
)
from .reservations import SWEEP_BATCH

ERRORS: tuple[type[Exception], ...] = ()


class InventorySource(ImportJobsSource, Protocol):
    source: str

    @read
    async def stock_by_sku_ids(self, sku_ids: Sequence[int]) -> dict[int, StockLevel]:
        """Every SKU asked for gets a level; a SKU with no rows has zero stock."""

    @read
    async def cart_stock(self, hold_refs: Sequence[str], sku_ids: Sequence[int]) -> CartStock:
        """A cart's holds (:meth:`reservations_by_order_refs`) and then its SKUs' stock
        (:meth:`stock_by_sku_ids`) in one call, in that order: a hold released in between
        is counted twice (the checkout's locked conversion decides), never not at all."""

    @read
    async def low_stock(
        self, *, threshold: int, first: int, after: str | None = None
    ) -> LowStockPage:
        """SKUs whose warehouse stock available is under ``threshold``, lowest first.

        Keyset-paged on (available, sku id); drop-ship SKUs have no warehouse rows and are
        not listed (their supplier's feed is not ours to restock)."""

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
    ) -> StockAdjustment: ...

    @read
    async def audit_by_sku_ids(
        self, sku_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]: ...

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

    @read
    async def warehouses(self) -> list[Warehouse]: ...

    async def save_warehouses(self, warehouses: Sequence[WarehouseSetup]) -> WarehouseChanges:
        """By code: new ones added, changed ones updated, the rest (and any not listed)
        left alone, so ``gateway init`` can run on every deploy."""

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
        Idempotent by ``order_ref`` (see :func:`reservations.reserve`)."""

    async def confirm_reservation(self, order_ref: str, now: datetime) -> bool:
        """HELD -> CONFIRMED (no expiry any more); False when not HELD: undo the order."""

    async def hold_stock(
        self,
        *,
        hold_ref: str,
        items: Sequence[ReservationRequest],
        now: datetime,
        ttl: timedelta,
        create: bool = True,
    ) -> ReservationResult:
        """A cart line's hold set to exactly ``items``, all or nothing (see holds.py): a
        refused resize leaves the old hold whole; ``create=False`` only resizes a live one."""

    async def release_holds(self, hold_refs: Sequence[str], now: datetime) -> int:
        """The live holds among ``hold_refs`` released, their stock back once each."""

    async def extend_holds(
        self, hold_refs: Sequence[str], now: datetime, ttl: timedelta
    ) -> dict[str, datetime]:
        """Each live hold not extended before lives ``ttl`` from now; the new expiries."""

    async def reserve_converting_holds(
        self,
        *,
        order_ref: str,
        items: Sequence[ReservationRequest],
        hold_refs: Sequence[str],
        now: datetime,
        ttl: timedelta,
    ) -> ReservationResult:
        """:meth:`reserve`, the cart's live holds given back in the same transaction so
        the order takes the buyer's held units instead of taking stock twice."""

    async def release_reservation(self, order_ref: str, now: datetime) -> bool:
        """HELD or CONFIRMED -> RELEASED, giving the stock back exactly once."""

    async def commit_sale(self, order_ref: str, now: datetime) -> bool:
        """CONFIRMED -> SOLD: on-hand and reserved go down together."""

    async def sweep_expired(self, now: datetime, *, batch_size: int = SWEEP_BATCH) -> int:
        """Release every HELD reservation expired by ``now``, ``batch_size`` per
        transaction; returns how many. Safe to run beside confirmations and other sweeps."""

    async def restock(
        self, *, return_ref: str, items: Sequence[tuple[int, str, int]], actor: str, now: datetime
    ) -> bool:
        """Returned units back to on-hand, once per return (see restock.py)."""

    @read
    async def reservations_by_order_refs(
        self, order_refs: Sequence[str]
    ) -> dict[str, Reservation]: ...

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
        """Many stock adjustments in one transaction, each never below what is reserved."""
