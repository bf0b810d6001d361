"""Stock as buyers and staff see it."""

from __future__ import annotations

import strawberry

from sources.inventory.records import StockLevel as StockRecord

from ..auth import Permission
from .permissions import staff_only


@strawberry.type(description="A SKU's stock in one warehouse.")
class WarehouseStock:
    warehouse_code: str = strawberry.field(description="The warehouse's code.")
    on_hand: int = strawberry.field(description="Units on its shelves.")
    reserved: int = strawberry.field(description="Units held for unpaid orders.")
    available: int = strawberry.field(
        description="Units buyers can order now: on hand minus reserved."
    )


@strawberry.type(
    description=(
        "A SKU's stock. Buyers see whether it is available; MANAGE_STOCK staff "
        "also see the counts behind it."
    )
)
class StockLevel:
    available: int = strawberry.field(description="What a buyer can order now.")
    in_stock: bool = strawberry.field(description="Whether at least one unit can be ordered now.")
    record: strawberry.Private[StockRecord]

    @classmethod
    def from_record(cls, record: StockRecord) -> StockLevel:
        return cls(available=record.available, in_stock=record.in_stock, record=record)

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_STOCK),
        description=(
            "Units on the shelves, all warehouses. MANAGE_STOCK staff only (null for others)."
        ),
    )
    def on_hand(self) -> int | None:
        return self.record.on_hand

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_STOCK),
        description="Units held for unpaid orders. MANAGE_STOCK staff only (null for others).",
    )
    def reserved(self) -> int | None:
        return self.record.reserved

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_STOCK),
        description="The counts per warehouse. MANAGE_STOCK staff only (null for others).",
    )
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
