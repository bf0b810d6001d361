"""Plain records the inventory hands out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: int
    code: str
    name: str
    region_code: str


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    warehouse_code: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


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
    def available(self) -> int:
        return sum(w.available for w in self.warehouses) + self.supplier_available

    @property
    def in_stock(self) -> bool:
        return self.available > 0


@dataclass(frozen=True, slots=True)
class LowStockPage:
    sku_ids: list[int]
    cursors: list[str]
    has_next_page: bool
    total_count: int
