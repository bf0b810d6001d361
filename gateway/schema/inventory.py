"""Stock as buyers and staff see it."""

from __future__ import annotations

import strawberry

from sources.inventory.records import StockLevel as StockRecord

from ..auth import Permission
from .permissions import staff_only


@strawberry.type
class WarehouseStock:
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int


@strawberry.type
class StockLevel:
    available: int = strawberry.field(description="What a buyer can order now.")
    in_stock: bool
    record: strawberry.Private[StockRecord]

    @classmethod
    def from_record(cls, record: StockRecord) -> StockLevel:
        return cls(available=record.available, in_stock=record.in_stock, record=record)

    @strawberry.field(extensions=staff_only(Permission.MANAGE_STOCK))
    def on_hand(self) -> int | None:
        return self.record.on_hand

    @strawberry.field(extensions=staff_only(Permission.MANAGE_STOCK))
    def reserved(self) -> int | None:
        return self.record.reserved

    @strawberry.field(extensions=staff_only(Permission.MANAGE_STOCK))
    def warehouses(self) -> list[WarehouseStock] | None:
        return [
            WarehouseStock(
                warehouse_code=w.warehouse_code,
                on_hand=w.on_hand,
                reserved=w.reserved,
                available=w.available,
            )
            for w in self.record.warehouses
        ]
