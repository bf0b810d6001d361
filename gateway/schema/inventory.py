"""Stock as buyers and staff see it."""

from __future__ import annotations

import strawberry

from sources.inventory.records import StockLevel as StockRecord

from ..auth import Permission
from ..stock.view import StockStatus, StockView
from .common import Info
from .enums import describe_values
from .permissions import staff_only

strawberry.enum(
    StockStatus,
    name="StockStatus",
    description="How much of a SKU there is, in words rather than a count (for every viewer).",
)
describe_values(
    StockStatus,
    {
        "IN_STOCK": "More units than the shop's low-stock threshold (STOCK_LOW_THRESHOLD).",
        "LOW_STOCK": "At least one unit, and no more than the low-stock threshold.",
        "OUT_OF_STOCK": "Nothing can be ordered now.",
    },
)


def stock_view(info: Info) -> StockView:
    """The request's viewer's view of stock figures (exact for MANAGE_STOCK staff)."""
    ctx = info.context
    return StockView.for_viewer(ctx.settings.stock, ctx.viewer)


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
    available: int = strawberry.field(
        description=(
            "What a buyer can order now. Exact unless the shop hides its counts "
            "(STOCK_VISIBILITY): `capped` shows buyers at most STOCK_VISIBILITY_CAP (so a "
            "figure at the cap means 'at least this many'), `status` shows buyers 1 when "
            "anything can be ordered and 0 when nothing can (read `status` instead). Never "
            "more than there really is; MANAGE_STOCK staff always see the exact figure."
        )
    )
    in_stock: bool = strawberry.field(description="Whether at least one unit can be ordered now.")
    status: StockStatus = strawberry.field(
        description=(
            "In stock, low (at most STOCK_LOW_THRESHOLD units) or out of stock, from the "
            "exact figure, for every viewer."
        )
    )
    record: strawberry.Private[StockRecord]

    @classmethod
    def from_record(cls, record: StockRecord, view: StockView) -> StockLevel:
        """The viewer's presentation of an exact record; the record itself stays exact (it
        is what the shared cache holds for every viewer)."""
        available = record.available  # a sum over warehouses: once, not per field
        return cls(
            available=view.available(available),
            in_stock=available > 0,  # StockRecord.in_stock, without summing again
            status=view.status(available),
            record=record,
        )

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
