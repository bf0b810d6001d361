"""Parcels and service appointments: how a paid order leaves the shop."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sources.orders.records import ServiceAppointment as AppointmentRecord
from sources.orders.records import Shipment as ShipmentRecord

from ..auth import Permission
from .common import Info
from .errors import UserError
from .node import encode_id
from .orders import Order, OrderLine

# Who may see which drop-ship supplier fills an order (as Product.supplier).
_SUPPLIER_VIEWERS = (Permission.MANAGE_ORDERS, Permission.MANAGE_PRODUCTS)


async def _order_lines(info: Info, order_id: int) -> dict[int, OrderLine]:
    loaders = info.context.loaders.orders
    order = await loaders.order.load(order_id)
    lines = await loaders.order_lines.load(order_id)
    currency = order.currency if order else info.context.settings.currency
    return {line.id: OrderLine.from_record(line, currency) for line in lines}


@strawberry.type
class ShipmentItem:
    line: OrderLine
    quantity: int = strawberry.field(description="Units of the line in this parcel.")


@strawberry.type
class Shipment:
    id: strawberry.ID
    status: str = strawberry.field(description="PENDING, SHIPPED or DELIVERED.")
    carrier: str | None
    tracking_number: str | None
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    record: strawberry.Private[ShipmentRecord]

    @classmethod
    def from_record(cls, record: ShipmentRecord) -> Shipment:
        return cls(
            id=encode_id("Shipment", record.id),
            status=record.status.value,
            carrier=record.carrier,
            tracking_number=record.tracking_number,
            created_at=record.created_at,
            shipped_at=record.shipped_at,
            delivered_at=record.delivered_at,
            record=record,
        )

    @strawberry.field(
        description="The warehouse code it leaves from, or the drop-ship supplier "
        "('supplier:<id>' for order and product staff, 'DROPSHIP' for anyone else)."
    )
    def source(self, info: Info) -> str:
        where = self.record.source
        if where.warehouse_code is not None:
            return where.warehouse_code
        viewer = info.context.viewer
        return where.label if any(viewer.has(p) for p in _SUPPLIER_VIEWERS) else "DROPSHIP"

    @strawberry.field(
        description="The promise: it leaves before this (from the handling-time rules when "
        "the order was paid; null for parcels planned before promises existed)."
    )
    def ship_by(self) -> datetime | None:
        return self.record.ship_by

    @strawberry.field(description="Still PENDING past its ship-by time.")
    def overdue(self, info: Info) -> bool:
        promise = self.record.ship_by
        pending = self.record.status.value == "PENDING"
        return pending and promise is not None and promise < info.context.now

    @strawberry.field(description="The order lines with units in this parcel.")
    async def lines(self, info: Info) -> list[OrderLine]:
        lines = await _order_lines(info, self.record.order_id)
        return [lines[i.order_line_id] for i in self.record.lines if i.order_line_id in lines]

    @strawberry.field(description="Each line with the units of it in this parcel.")
    async def items(self, info: Info) -> list[ShipmentItem]:
        lines = await _order_lines(info, self.record.order_id)
        return [
            ShipmentItem(line=lines[i.order_line_id], quantity=i.quantity)
            for i in self.record.lines
            if i.order_line_id in lines
        ]

    @strawberry.field
    async def order(self, info: Info) -> Order:
        record = await info.context.loaders.orders.order.load(self.record.order_id)
        if record is None:
            raise RuntimeError(f"shipment {self.record.id} has no order")
        return Order.from_record(record)


@strawberry.type(description="A service line (installation, warranty visit) to schedule.")
class ServiceAppointment:
    id: strawberry.ID
    status: str = strawberry.field(description="TO_SCHEDULE, SCHEDULED or DONE.")
    created_at: datetime
    record: strawberry.Private[AppointmentRecord]

    @classmethod
    def from_record(cls, record: AppointmentRecord) -> ServiceAppointment:
        return cls(
            id=encode_id("ServiceAppointment", record.id),
            status=record.status,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field
    async def line(self, info: Info) -> OrderLine:
        lines = await _order_lines(info, self.record.order_id)
        return lines[self.record.order_line_id]


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ServiceAppointmentPayload:
    appointment: ServiceAppointment | None = None
    order: Order | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
