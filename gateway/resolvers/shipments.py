"""Paying an order and moving its parcels and service appointments: orderMarkPaid,
shipmentMarkShipped, shipmentMarkDelivered, serviceAppointmentComplete (MANAGE_ORDERS)."""

from datetime import timedelta
from typing import Annotated

import strawberry

from sources.orders.records import Order as OrderRecord
from sources.orders.records import ShipmentStatus

from ..aftersales.appointments import complete_appointment
from ..aftersales.payment import mark_paid
from ..aftersales.shipments import ShipmentOutcome, mark_shipment
from ..backoffice.ship_by import ShipByRules
from ..schema.common import BadUserInput, Info
from ..schema.errors import user_errors
from ..schema.node import decode_int_id
from ..schema.orders import Order, OrderPayload
from ..schema.shipments import (
    ServiceAppointment,
    ServiceAppointmentPayload,
    Shipment,
    ShipmentPayload,
)


def pk(global_id: str, type_name: str) -> int | None:
    """A mutation treats an id it cannot read like an unknown one: a userError, not a crash."""
    try:
        return decode_int_id(global_id, type_name)
    except BadUserInput:
        return None


def actor(info: Info) -> str:
    viewer = info.context.viewer
    return f"{viewer.kind.value}:{viewer.subject}"


def forget_order(info: Info, order: OrderRecord) -> None:
    """This request changed the order: the payload must read it afresh, not the memo."""
    loaders = info.context.loaders.orders
    for loader in (
        loaders.status_history,
        loaders.payments,
        loaders.shipments,
        loaders.appointments,
        loaders.after_sales,
    ):
        loader.clear(order.id)
    loaders.order.clear(order.id)
    loaders.order.prime(order.id, order)


async def order_mark_paid(
    info: Info,
    order_id: Annotated[
        strawberry.ID, strawberry.argument(description="The order's id (Order.id).")
    ],
) -> OrderPayload:
    ctx = info.context
    outcome = await mark_paid(
        ctx.sources,
        pk(order_id, "Order"),
        actor=actor(info),
        now=ctx.now,
        promises=ShipByRules.from_settings(ctx.settings),
        balance_ttl=timedelta(seconds=ctx.settings.payments.order_balance_ttl_seconds),
    )
    if outcome.order is not None:
        forget_order(info, outcome.order)
    return OrderPayload(
        order=Order.from_record(outcome.order) if outcome.order else None,
        user_errors=user_errors(outcome.problems),
    )


def _payload(info: Info, outcome: ShipmentOutcome) -> ShipmentPayload:
    if outcome.order is not None:
        forget_order(info, outcome.order)
    return ShipmentPayload(
        shipment=Shipment.from_record(outcome.shipment) if outcome.shipment else None,
        user_errors=user_errors(outcome.problems),
    )


async def shipment_mark_shipped(
    info: Info,
    shipment_id: Annotated[
        strawberry.ID, strawberry.argument(description="The parcel's id (Shipment.id).")
    ],
    carrier: Annotated[
        str, strawberry.argument(description="The carrier's name, e.g. SF Express.")
    ],
    tracking_number: Annotated[
        str, strawberry.argument(description="The carrier's tracking number.")
    ],
) -> ShipmentPayload:
    ctx = info.context
    outcome = await mark_shipment(
        ctx.sources,
        pk(shipment_id, "Shipment"),
        to=ShipmentStatus.SHIPPED,
        carrier=carrier,
        tracking_number=tracking_number,
        actor=actor(info),
        now=ctx.now,
    )
    return _payload(info, outcome)


async def shipment_mark_delivered(
    info: Info,
    shipment_id: Annotated[
        strawberry.ID, strawberry.argument(description="The parcel's id (Shipment.id).")
    ],
) -> ShipmentPayload:
    ctx = info.context
    outcome = await mark_shipment(
        ctx.sources,
        pk(shipment_id, "Shipment"),
        to=ShipmentStatus.DELIVERED,
        carrier=None,
        tracking_number=None,
        actor=actor(info),
        now=ctx.now,
    )
    return _payload(info, outcome)


async def service_appointment_complete(
    info: Info,
    appointment_id: Annotated[
        strawberry.ID,
        strawberry.argument(description="The appointment's id (ServiceAppointment.id)."),
    ],
) -> ServiceAppointmentPayload:
    ctx = info.context
    outcome = await complete_appointment(
        ctx.sources, pk(appointment_id, "ServiceAppointment"), actor=actor(info), now=ctx.now
    )
    if outcome.order is not None:
        forget_order(info, outcome.order)
    return ServiceAppointmentPayload(
        appointment=(
            ServiceAppointment.from_record(outcome.appointment) if outcome.appointment else None
        ),
        order=Order.from_record(outcome.order) if outcome.order else None,
        user_errors=user_errors(outcome.problems),
    )
