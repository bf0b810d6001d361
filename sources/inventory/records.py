"""Plain records the inventory hands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sources.common.fast_init import fast_inits


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: int
    code: str
    name: str
    region_code: str


@dataclass(frozen=True, slots=True)
class WarehouseWrite:
    """What ``create_warehouse`` did: the new warehouse (None: its code is taken, nothing
    written), or the one an earlier request with the same key created (``replayed``)."""

    warehouse: Warehouse | None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class WarehouseSetup:
    """A warehouse as ``gateway init`` declares it (by code); lower priority ships first."""

    code: str
    name: str
    region_code: str
    priority: int


@dataclass(frozen=True, slots=True)
class WarehouseChanges:
    added: int
    changed: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    warehouse_code: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


def _available(warehouses: tuple[WarehouseStock, ...]) -> int:
    """The warehouses' ``available`` summed, written out: every SKU of a listing asks
    (its stock, its product's ``inStock``), 559 a 250-product page, and a generator
    with a property and a ``max`` per warehouse cost about three times this loop
    (bench/RESULTS.md, "Issue 17, pass h22x")."""
    total = 0
    for w in warehouses:
        left = w.on_hand - w.reserved
        if left > 0:
            total += left
    return total


@dataclass(frozen=True, slots=True)
class StockLevel:
    """A SKU's stock over every warehouse plus what its drop-ship supplier reports."""

    sku_id: int
    warehouses: tuple[WarehouseStock, ...]
    supplier_available: int

    @property
    def on_hand(self) -> int:
        return sum(w.on_hand for w in self.warehouses)

    @property
    def reserved(self) -> int:
        return sum(w.reserved for w in self.warehouses)

    @property
    def warehouse_available(self) -> int:
        return _available(self.warehouses)

    @property
    def available(self) -> int:
        return _available(self.warehouses) + self.supplier_available

    @property
    def in_stock(self) -> bool:
        return self.available > 0


@dataclass(frozen=True, slots=True)
class LowStockPage:
    sku_ids: list[int]
    cursors: list[str]
    has_next_page: bool
    total_count: int


class ReservationStatus(StrEnum):
    """HELD (with expiry) -> CONFIRMED (order placed) -> SOLD (paid); HELD or CONFIRMED ->
    RELEASED (stock given back). RELEASED and SOLD are final."""

    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    RELEASED = "RELEASED"
    SOLD = "SOLD"


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """A quantity of a SKU to hold: from a drop-ship supplier's feed when ``supplier_id``
    is set, else from the warehouses."""

    sku_id: int
    quantity: int
    supplier_id: int | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where held stock sits: a warehouse (by code) or a drop-ship supplier."""

    sku_id: int
    warehouse_code: str | None
    supplier_id: int | None
    quantity: int


@dataclass(frozen=True, slots=True)
class ReservationResult:
    """``ok`` with the allocations held, or not ``ok`` with nothing held.

    ``shortages`` maps each SKU that could not be fully served to what was available at
    that moment; ``status`` is the reservation's (None when nothing was stored);
    ``replayed`` says the order already had this reservation.
    """

    ok: bool
    status: ReservationStatus | None = None
    allocations: tuple[Allocation, ...] = ()
    shortages: Mapping[int, int] = field(default_factory=dict)
    expires_at: datetime | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Reservation:
    order_ref: str
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime | None
    updated_at: datetime
    allocations: tuple[Allocation, ...]


@dataclass(frozen=True, slots=True)
class CartStock:
    """A cart's own live-or-not holds (by hold ref) and the stock of its SKUs, read in one
    call: the holds first, then the stock (see InventorySource.cart_stock)."""

    holds: dict[str, Reservation]
    stock: dict[int, StockLevel]


# Every record above: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
