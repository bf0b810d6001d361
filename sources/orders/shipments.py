"""Shipments and service appointments: how a paid order leaves the shop, and the order
status that follows them.

``create_shipments`` plans an order once: it locks the order row and writes nothing when the
order already has shipments or appointments, so a retried or doubled payment handler gets
the same parcels back. ``mark_shipment`` moves one parcel (PENDING -> SHIPPED -> DELIVERED)
by a conditional UPDATE and, under the order's lock (so two parcels marked at once both
count), moves the order forward: some shipped -> PARTIALLY_SHIPPED, all shipped ->
SHIPPED, all delivered -> COMPLETED once its service appointments are all done too (SHIPPED
until then; see appointments.py). The order never moves backwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database

from . import models as m
from .orders import lock_order_status, move_order, order_from_row
from .records import (
    NewShipment,
    Order,
    OrderStatus,
    ServiceAppointment,
    Shipment,
    ShipmentLine,
    ShipmentSource,
    ShipmentStatus,
)

APPOINTMENT_TO_SCHEDULE = "TO_SCHEDULE"
APPOINTMENT_SCHEDULED = "SCHEDULED"
APPOINTMENT_DONE = "DONE"
# The statuses shipments move an order through, in order; an order elsewhere (waiting for
# payment, cancelled) ships nothing.
FOLLOWS_SHIPMENTS = (
    OrderStatus.PAID,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
)


async def create_shipments(
    db: Database,
    order_id: int,
    shipments: Sequence[NewShipment],
    service_line_ids: Sequence[int],
    now: datetime,
) -> list[Shipment]:
    for new in shipments:
        if (new.source.warehouse_code is None) == (new.source.supplier_id is None):
            raise ValueError("a shipment leaves from one warehouse or one supplier")
        if not new.lines or any(line.quantity <= 0 for line in new.lines):
            raise ValueError("a shipment needs lines with positive quantities")
    async with db.begin() as conn:
        if await lock_order_status(conn, order_id) is None:
            raise ValueError(f"order {order_id} does not exist")
        planned = (
            await conn.execute(
                select(m.Shipment.id)
                .where(m.Shipment.order_id == order_id)
                .union_all(
                    select(m.ServiceAppointment.id).where(m.ServiceAppointment.order_id == order_id)
                )
                .limit(1)
            )
        ).first()
        if planned is None:
            await _require_order_lines(
                conn,
                order_id,
                {line.order_line_id for new in shipments for line in new.lines}
                | set(service_line_ids),
            )
            await _insert_plan(conn, order_id, shipments, service_line_ids, now)
        found = await load_shipments(conn, m.Shipment.order_id == order_id)
    return found


async def shipments_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[Shipment]]:
    """Every order asked for gets a list, in the order the shipments were planned."""
    grouped: dict[int, list[Shipment]] = defaultdict(list)
    async with db.connect() as conn:
        for shipment in await load_shipments(conn, m.Shipment.order_id.in_(set(order_ids))):
            grouped[shipment.order_id].append(shipment)
    return {order_id: grouped.get(order_id, []) for order_id in order_ids}


async def shipments_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Shipment]:
    async with db.connect() as conn:
        return {s.id: s for s in await load_shipments(conn, m.Shipment.id.in_(set(ids)))}


async def appointments_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[ServiceAppointment]]:
    grouped: dict[int, list[ServiceAppointment]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.ServiceAppointment)
            .where(m.ServiceAppointment.order_id.in_(set(order_ids)))
            .order_by(m.ServiceAppointment.id)
        )
        for row in rows:
            grouped[row.order_id].append(
                ServiceAppointment(
                    row.id, row.order_id, row.order_line_id, row.status, row.created_at
                )
            )
    return {order_id: grouped.get(order_id, []) for order_id in order_ids}


async def mark_shipment(
    db: Database,
    shipment_id: int,
    *,
    to: ShipmentStatus,
    carrier: str | None,
    tracking_number: str | None,
    actor: str,
    now: datetime,
) -> tuple[Shipment, Order] | None:
    """The shipment and its order after the move; None (nothing written) when the shipment
    is missing, not in the status before ``to``, or its order is not shipping (unpaid or
    cancelled)."""
    values: dict[str, Any] = {"status": to.value}
    if to is ShipmentStatus.SHIPPED:
        if not carrier or not tracking_number:
            raise ValueError("shipping a parcel needs a carrier and a tracking number")
        before = ShipmentStatus.PENDING
        values |= {"carrier": carrier, "tracking_number": tracking_number, "shipped_at": now}
        reason = f"shipment {shipment_id} shipped: {carrier} {tracking_number}"
    elif to is ShipmentStatus.DELIVERED:
        before = ShipmentStatus.SHIPPED
        values |= {"delivered_at": now}
        reason = f"shipment {shipment_id} delivered"
    else:
        raise ValueError(f"a shipment cannot be moved back to {to.value}")
    async with db.begin() as conn:
        order_id = (
            await conn.execute(select(m.Shipment.order_id).where(m.Shipment.id == shipment_id))
        ).scalar_one_or_none()
        if order_id is None:
            return None
        # The order first: every writer of an order's shipments takes its lock, so the
        # status computed below sees every other parcel's latest move.
        current = await lock_order_status(conn, order_id)
        if current is None or current not in {s.value for s in FOLLOWS_SHIPMENTS[:-1]}:
            return None
        moved = (
            await conn.execute(
                update(m.Shipment)
                .where(m.Shipment.id == shipment_id, m.Shipment.status == before.value)
                .values(**values)
                .returning(m.Shipment.id)
            )
        ).scalar_one_or_none()
        if moved is None:
            return None
        target = await order_target(conn, order_id)
        row = None
        if FOLLOWS_SHIPMENTS.index(target) > FOLLOWS_SHIPMENTS.index(OrderStatus(current)):
            row = await move_order(
                conn, order_id, current=current, to=target, actor=actor, reason=reason, now=now
            )
        if row is None:
            row = (await conn.execute(select(m.Order).where(m.Order.id == order_id))).one()
        shipment = (await load_shipments(conn, m.Shipment.id == shipment_id))[0]
    return shipment, order_from_row(row)


async def order_target(conn: AsyncConnection, order_id: int) -> OrderStatus:
    """Where a paid order stands now, from its shipments and its service appointments (read
    under the order's lock)."""
    shipments = (
        await conn.execute(select(m.Shipment.status).where(m.Shipment.order_id == order_id))
    ).scalars()
    appointments = (
        await conn.execute(
            select(m.ServiceAppointment.status).where(m.ServiceAppointment.order_id == order_id)
        )
    ).scalars()
    return order_status_for((ShipmentStatus(s) for s in shipments), list(appointments))


def order_status_for(
    statuses: Iterable[ShipmentStatus], appointments: Iterable[str] = ()
) -> OrderStatus:
    """Where a paid order stands given its shipments' and service appointments' statuses:
    COMPLETED only once every parcel is delivered and every appointment is done; an order of
    services only goes from PAID to COMPLETED with its last appointment."""
    seen = list(statuses)
    services = list(appointments)
    services_done = all(a == APPOINTMENT_DONE for a in services)
    if not seen:
        return OrderStatus.COMPLETED if services and services_done else OrderStatus.PAID
    if all(s is ShipmentStatus.DELIVERED for s in seen):
        return OrderStatus.COMPLETED if services_done else OrderStatus.SHIPPED
    if seen and all(s is not ShipmentStatus.PENDING for s in seen):
        return OrderStatus.SHIPPED
    if any(s is not ShipmentStatus.PENDING for s in seen):
        return OrderStatus.PARTIALLY_SHIPPED
    return OrderStatus.PAID


async def load_shipments(conn: AsyncConnection, where: ColumnElement[bool]) -> list[Shipment]:
    """Shipments matching ``where`` with their lines, in id order."""
    rows = (await conn.execute(select(m.Shipment).where(where).order_by(m.Shipment.id))).all()
    lines: dict[int, list[ShipmentLine]] = defaultdict(list)
    if rows:
        found = await conn.execute(
            select(m.ShipmentLine)
            .where(m.ShipmentLine.shipment_id.in_([row.id for row in rows]))
            .order_by(m.ShipmentLine.id)
        )
        for line in found:
            lines[line.shipment_id].append(ShipmentLine(line.order_line_id, line.quantity))
    return [
        Shipment(
            id=row.id,
            order_id=row.order_id,
            source=ShipmentSource(row.warehouse_code, row.supplier_id),
            status=ShipmentStatus(row.status),
            carrier=row.carrier,
            tracking_number=row.tracking_number,
            lines=tuple(lines.get(row.id, ())),
            created_at=row.created_at,
            shipped_at=row.shipped_at,
            delivered_at=row.delivered_at,
            ship_by=row.ship_by,
        )
        for row in rows
    ]


async def _require_order_lines(conn: AsyncConnection, order_id: int, line_ids: set[int]) -> None:
    found = set(
        (
            await conn.execute(select(m.OrderLine.id).where(m.OrderLine.order_id == order_id))
        ).scalars()
    )
    if line_ids - found:
        raise ValueError(f"order {order_id} has no lines {sorted(line_ids - found)}")


async def _insert_plan(
    conn: AsyncConnection,
    order_id: int,
    shipments: Sequence[NewShipment],
    service_line_ids: Sequence[int],
    now: datetime,
) -> None:
    if shipments:
        ids = (
            await conn.execute(
                insert(m.Shipment).returning(m.Shipment.id, sort_by_parameter_order=True),
                [
                    {
                        "order_id": order_id,
                        "warehouse_code": new.source.warehouse_code,
                        "supplier_id": new.source.supplier_id,
                        "status": ShipmentStatus.PENDING.value,
                        "created_at": now,
                        "ship_by": new.ship_by,
                    }
                    for new in shipments
                ],
            )
        ).scalars()
        await conn.execute(
            insert(m.ShipmentLine),
            [
                {
                    "shipment_id": shipment_id,
                    "order_line_id": line.order_line_id,
                    "quantity": line.quantity,
                }
                for shipment_id, new in zip(ids, shipments, strict=True)
                for line in new.lines
            ],
        )
    if service_line_ids:
        await conn.execute(
            insert(m.ServiceAppointment),
            [
                {
                    "order_id": order_id,
                    "order_line_id": line_id,
                    "status": APPOINTMENT_TO_SCHEDULE,
                    "created_at": now,
                }
                for line_id in dict.fromkeys(service_line_ids)
            ],
        )
