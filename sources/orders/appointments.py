"""Service appointments: a service line (installation, warranty visit) is scheduled, not
shipped, and staff mark it done once performed.

``complete_appointment`` moves one appointment (TO_SCHEDULE or SCHEDULED -> DONE) by a
conditional UPDATE under the order's lock, the same lock ``mark_shipment`` takes, so the
order status computed afterwards sees every parcel's and appointment's latest move: the order
is COMPLETED once every parcel is delivered and every appointment is done (an order of
services only goes PAID -> COMPLETED with its last appointment); otherwise it stays where it
is. The order never moves backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from sources.common.db import Database

from . import models as m
from .orders import lock_order_status, move_order, order_from_row
from .records import Order, OrderStatus, ServiceAppointment
from .shipments import (
    APPOINTMENT_DONE,
    APPOINTMENT_SCHEDULED,
    APPOINTMENT_TO_SCHEDULE,
    FOLLOWS_SHIPMENTS,
    order_target,
)

# An order whose appointments can be done: paid and not cancelled (a COMPLETED order keeps
# accepting them, for orders completed before appointments counted).
_ACCEPTS = {s.value for s in FOLLOWS_SHIPMENTS}


def appointment_from_row(row: Any) -> ServiceAppointment:
    return ServiceAppointment(row.id, row.order_id, row.order_line_id, row.status, row.created_at)


async def appointments_by_ids(db: Database, ids: Sequence[int]) -> dict[int, ServiceAppointment]:
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.ServiceAppointment).where(m.ServiceAppointment.id.in_(set(ids)))
        )
        return {row.id: appointment_from_row(row) for row in rows}


async def complete_appointment(
    db: Database, appointment_id: int, *, actor: str, now: datetime
) -> tuple[ServiceAppointment, Order] | None:
    """The appointment (DONE) and its order after the move; None (nothing written) when the
    appointment is missing, already DONE, or its order is unpaid or cancelled."""
    async with db.begin() as conn:
        order_id = (
            await conn.execute(
                select(m.ServiceAppointment.order_id).where(
                    m.ServiceAppointment.id == appointment_id
                )
            )
        ).scalar_one_or_none()
        if order_id is None:
            return None
        current = await lock_order_status(conn, order_id)
        if current is None or current not in _ACCEPTS:
            return None
        moved = (
            await conn.execute(
                update(m.ServiceAppointment)
                .where(
                    m.ServiceAppointment.id == appointment_id,
                    m.ServiceAppointment.status.in_(
                        [APPOINTMENT_TO_SCHEDULE, APPOINTMENT_SCHEDULED]
                    ),
                )
                .values(status=APPOINTMENT_DONE)
                .returning(*m.ServiceAppointment.__table__.c)
            )
        ).one_or_none()
        if moved is None:
            return None
        target = await order_target(conn, order_id)
        row = None
        if FOLLOWS_SHIPMENTS.index(target) > FOLLOWS_SHIPMENTS.index(OrderStatus(current)):
            row = await move_order(
                conn,
                order_id,
                current=current,
                to=target,
                actor=actor,
                reason=f"service appointment {appointment_id} done",
                now=now,
            )
        if row is None:
            row = (await conn.execute(select(m.Order).where(m.Order.id == order_id))).one()
    return appointment_from_row(moved), order_from_row(row)
