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


@strawberry.type(description="Units of one order line in a parcel.")
class ShipmentItem:
    line: OrderLine = strawberry.field(description="The order line.")
    quantity: int = strawberry.field(description="Units of the line in this parcel.")


@strawberry.type(
    description=(
        "A parcel: the units of an order that ship together from one warehouse or supplier."
    )
)
class Shipment:
    id: strawberry.ID = strawberry.field(description="The parcel's global id (Relay).")
    status: str = strawberry.field(description="PENDING, SHIPPED or DELIVERED.")
    carrier: str | None = strawberry.field(description="The carrier's name; null until shipped.")
    tracking_number: str | None = strawberry.field(
        description="The carrier's tracking number; null until shipped."
    )
    created_at: datetime = strawberry.field(description="When the parcel was planned (UTC).")
    shipped_at: datetime | None = strawberry.field(
        description="When it was handed to the carrier (UTC); null until then."
    )
    delivered_at: datetime | None = strawberry.field(
        description="When it was delivered (UTC); null until then."
    )
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

    @strawberry.field(description="The order it belongs to.")
    async def order(self, info: Info) -> Order:
        record = await info.context.loaders.orders.order.load(self.record.order_id)
        if record is None:
            raise RuntimeError(f"shipment {self.record.id} has no order")
        return Order.from_record(record)


@strawberry.type(description="A service line (installation, warranty visit) to schedule.")
class ServiceAppointment:
    id: strawberry.ID = strawberry.field(description="The appointment's global id (Relay).")
    status: str = strawberry.field(description="TO_SCHEDULE, SCHEDULED or DONE.")
    created_at: datetime = strawberry.field(description="When the order created it (UTC).")
    record: strawberry.Private[AppointmentRecord]

    @classmethod
    def from_record(cls, record: AppointmentRecord) -> ServiceAppointment:
        return cls(
            id=encode_id("ServiceAppointment", record.id),
            status=record.status,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field(description="The order line for the service.")
    async def line(self, info: Info) -> OrderLine:
        lines = await _order_lines(info, self.record.order_id)
        return lines[self.record.order_line_id]


@strawberry.type(description="The parcel after the mutation, or why not.")
class ShipmentPayload:
    shipment: Shipment | None = strawberry.field(
        default=None, description="The parcel as it is now; null when userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done: SHIPMENT_NOT_FOUND, INVALID_STATUS_TRANSITION, INVALID_INPUT."
        ),
    )


@strawberry.type(description="The appointment and its order after the mutation, or why not.")
class ServiceAppointmentPayload:
    appointment: ServiceAppointment | None = strawberry.field(
        default=None, description="The appointment as it is now; null when userErrors say why not."
    )
    order: Order | None = strawberry.field(
        default=None, description="The appointment's order as it is now."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=("What could not be done: APPOINTMENT_NOT_FOUND, INVALID_STATUS_TRANSITION."),
    )
