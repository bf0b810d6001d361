"""serviceAppointmentComplete: staff mark a service line (installation, warranty visit) done,
and the orders source moves the order along (COMPLETED once every parcel is delivered and
every appointment is done; an order of services only completes with its last one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sources.orders.records import Order, OrderStatus, ServiceAppointment

from ..errors import Problem, UserErrorCode
from ..sources import Sources

_NOT_SERVING = (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class AppointmentOutcome:
    appointment: ServiceAppointment | None
    order: Order | None
    problems: list[Problem]


def _refused(code: UserErrorCode, message: str) -> AppointmentOutcome:
    return AppointmentOutcome(None, None, [Problem(code, message, ("appointmentId",))])


async def complete_appointment(
    sources: Sources, appointment_id: int | None, *, actor: str, now: datetime
) -> AppointmentOutcome:
    """TO_SCHEDULE or SCHEDULED -> DONE, once; anything else is INVALID_STATUS_TRANSITION
    and changes nothing."""
    orders = sources.orders
    found = (
        (await orders.appointments_by_ids([appointment_id])).get(appointment_id)
        if appointment_id
        else None
    )
    if found is None:
        return _refused(UserErrorCode.APPOINTMENT_NOT_FOUND, "no such service appointment")
    moved = await orders.complete_appointment(found.id, actor=actor, now=now)
    if moved is None:  # say why from what holds now, not from before the attempt
        now_found = (await orders.appointments_by_ids([found.id])).get(found.id, found)
        order = (await orders.orders_by_ids([found.order_id])).get(found.order_id)
        why = f"it is {now_found.status}"
        if order is not None and order.status in _NOT_SERVING:
            why = f"its order is {order.status.value}"
        return _refused(
            UserErrorCode.INVALID_STATUS_TRANSITION, f"this appointment cannot become DONE: {why}"
        )
    appointment, order = moved
    return AppointmentOutcome(appointment, order, [])
