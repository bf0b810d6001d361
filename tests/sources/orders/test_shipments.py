"""Shipments in the orders source, on SQLite and PostgreSQL: a paid order is planned once
(one shipment per warehouse or supplier, an appointment per service line), each parcel moves
PENDING -> SHIPPED -> DELIVERED once, and the order follows (PARTIALLY_SHIPPED, SHIPPED,
COMPLETED) with a history row per move."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sources.orders import models as m
from sources.orders.records import (
    NewShipment,
    Order,
    OrderLine,
    OrderStatus,
    ShipmentLine,
    ShipmentSource,
    ShipmentStatus,
)
from sources.orders.store import OrdersStore

from .conftest import NOW, count_rows
from .test_payments import PAID_AT, line, pay, place

SHIPPED_AT = PAID_AT + timedelta(hours=4)
DELIVERED_AT = SHIPPED_AT + timedelta(days=2)


async def paid_order(store: OrdersStore) -> tuple[Order, list[OrderLine]]:
    """Two lines in Shanghai's warehouse, one in Beijing's, one drop-shipped, one service."""
    order = await place(
        store,
        line(101, 2),
        line(102, 1),
        line(103, 1),
        line(104, 3, fulfillment="DROPSHIP", supplier_id=77),
        line(105, 1, unit="80.00"),
    )
    order = await pay(store, order)
    return order, (await store.order_lines_by_order_ids([order.id]))[order.id]


def plan(lines: list[OrderLine]) -> list[NewShipment]:
    return [
        NewShipment(
            ShipmentSource("SH-1", None),
            (ShipmentLine(lines[0].id, 2), ShipmentLine(lines[1].id, 1)),
        ),
        NewShipment(ShipmentSource("BJ-1", None), (ShipmentLine(lines[2].id, 1),)),
        NewShipment(ShipmentSource(None, 77), (ShipmentLine(lines[3].id, 3),)),
    ]


async def test_a_paid_order_is_split_into_shipments_by_source(store: OrdersStore) -> None:
    order, lines = await paid_order(store)

    shipments = await store.create_shipments(order.id, plan(lines), [lines[4].id], PAID_AT)

    assert [(s.source.label, s.status, s.lines) for s in shipments] == [
        (
            "SH-1",
            ShipmentStatus.PENDING,
            (ShipmentLine(lines[0].id, 2), ShipmentLine(lines[1].id, 1)),
        ),
        ("BJ-1", ShipmentStatus.PENDING, (ShipmentLine(lines[2].id, 1),)),
        ("supplier:77", ShipmentStatus.PENDING, (ShipmentLine(lines[3].id, 3),)),
    ]
    assert all(s.order_id == order.id and s.created_at == PAID_AT for s in shipments)
    assert all(
        (s.carrier, s.tracking_number, s.shipped_at, s.delivered_at) == (None, None, None, None)
        for s in shipments
    )
    assert await store.shipments_by_order_ids([order.id, 999]) == {order.id: shipments, 999: []}
    assert await store.shipments_by_ids([shipments[1].id, 999]) == {shipments[1].id: shipments[1]}
    appointments = await store.appointments_by_order_ids([order.id, 999])
    assert appointments[999] == []
    assert [(a.order_line_id, a.status, a.created_at) for a in appointments[order.id]] == [
        (lines[4].id, "TO_SCHEDULE", PAID_AT)
    ]


async def test_an_order_is_planned_once_however_often_it_is_asked(store: OrdersStore) -> None:
    order, lines = await paid_order(store)

    results = await asyncio.gather(
        *(store.create_shipments(order.id, plan(lines), [lines[4].id], PAID_AT) for _ in range(5))
    )
    other_plan = await store.create_shipments(
        order.id,
        [NewShipment(ShipmentSource("SH-1", None), (ShipmentLine(lines[0].id, 2),))],
        [],
        PAID_AT + timedelta(hours=1),
    )

    assert all(result == results[0] for result in results) and len(results[0]) == 3
    assert other_plan == results[0]
    assert await count_rows(store, m.Shipment) == 3
    assert await count_rows(store, m.ShipmentLine) == 4
    assert await count_rows(store, m.ServiceAppointment) == 1


async def test_the_order_follows_its_shipments_to_completed(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    sh, bj, supplier = await store.create_shipments(order.id, plan(lines), [], PAID_AT)

    async def move(shipment_id: int, to: ShipmentStatus, minutes: int) -> OrderStatus:
        moved = await store.mark_shipment(
            shipment_id,
            to=to,
            carrier="SF Express" if to is ShipmentStatus.SHIPPED else None,
            tracking_number=f"SF{shipment_id:08d}" if to is ShipmentStatus.SHIPPED else None,
            actor="staff:4",
            now=SHIPPED_AT + timedelta(minutes=minutes),
        )
        assert moved is not None
        return moved[1].status

    steps = [
        await move(sh.id, ShipmentStatus.SHIPPED, 0),
        await move(bj.id, ShipmentStatus.SHIPPED, 1),
        await move(sh.id, ShipmentStatus.DELIVERED, 2),
        await move(supplier.id, ShipmentStatus.SHIPPED, 3),
        await move(bj.id, ShipmentStatus.DELIVERED, 4),
        await move(supplier.id, ShipmentStatus.DELIVERED, 5),
    ]

    P, S, C = OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.COMPLETED
    assert steps == [P, P, P, S, S, C]
    first = (await store.shipments_by_ids([sh.id]))[sh.id]
    assert (first.carrier, first.tracking_number) == ("SF Express", f"SF{sh.id:08d}")
    assert (first.shipped_at, first.delivered_at) == (SHIPPED_AT, SHIPPED_AT + timedelta(minutes=2))
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [(c.from_status, c.to_status, c.actor) for c in history[2:]] == [
        (OrderStatus.PAID, P, "staff:4"),
        (P, S, "staff:4"),
        (S, C, "staff:4"),
    ]
    assert history[2].reason == f"shipment {sh.id} shipped: SF Express SF{sh.id:08d}"
    assert history[4].reason == f"shipment {supplier.id} delivered"
    assert history[4].at == SHIPPED_AT + timedelta(minutes=5)


async def test_a_parcel_is_shipped_once_however_many_staff_click(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    sh, *_ = await store.create_shipments(order.id, plan(lines), [], PAID_AT)

    results = await asyncio.gather(
        *(
            store.mark_shipment(
                sh.id,
                to=ShipmentStatus.SHIPPED,
                carrier="SF Express",
                tracking_number=f"SF{n}",
                actor=f"staff:{n}",
                now=SHIPPED_AT,
            )
            for n in range(6)
        )
    )

    won = [r for r in results if r is not None]
    assert len(won) == 1
    shipment, shipped = won[0]
    assert (await store.shipments_by_ids([sh.id]))[sh.id] == shipment
    assert shipment.status is ShipmentStatus.SHIPPED and shipment.tracking_number in {
        f"SF{n}" for n in range(6)
    }
    assert shipped.status is OrderStatus.PARTIALLY_SHIPPED
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [c.to_status for c in history] == [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_SHIPPED,
    ]


async def test_parcels_shipped_at_the_same_time_all_count(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    shipments = await store.create_shipments(order.id, plan(lines), [], PAID_AT)

    results = await asyncio.gather(
        *(
            store.mark_shipment(
                s.id,
                to=ShipmentStatus.SHIPPED,
                carrier="SF Express",
                tracking_number=f"SF{s.id}",
                actor="staff:4",
                now=SHIPPED_AT,
            )
            for s in shipments
        )
    )

    assert all(r is not None for r in results)
    assert (await store.orders_by_ids([order.id]))[order.id].status is OrderStatus.SHIPPED
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [c.to_status for c in history[2:]] == [
        OrderStatus.PARTIALLY_SHIPPED,
        OrderStatus.SHIPPED,
    ]


async def test_moves_a_parcel_cannot_make_change_nothing(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    sh, bj, _ = await store.create_shipments(order.id, plan(lines), [], PAID_AT)
    ship = {"carrier": "SF Express", "tracking_number": "SF1", "actor": "staff:4"}
    assert await store.mark_shipment(sh.id, to=ShipmentStatus.SHIPPED, now=SHIPPED_AT, **ship)
    before = await store.shipments_by_order_ids([order.id])

    refused = [
        # Delivered before it left, shipped twice, unknown parcel.
        await store.mark_shipment(
            bj.id,
            to=ShipmentStatus.DELIVERED,
            carrier=None,
            tracking_number=None,
            actor="staff:4",
            now=DELIVERED_AT,
        ),
        await store.mark_shipment(sh.id, to=ShipmentStatus.SHIPPED, now=DELIVERED_AT, **ship),
        await store.mark_shipment(999, to=ShipmentStatus.SHIPPED, now=DELIVERED_AT, **ship),
    ]

    assert refused == [None, None, None]
    assert await store.shipments_by_order_ids([order.id]) == before
    assert len((await store.status_history_by_order_ids([order.id]))[order.id]) == 3
    with pytest.raises(ValueError, match="carrier"):
        await store.mark_shipment(
            bj.id,
            to=ShipmentStatus.SHIPPED,
            carrier="SF Express",
            tracking_number="",
            actor="staff:4",
            now=DELIVERED_AT,
        )
    with pytest.raises(ValueError, match="back"):
        await store.mark_shipment(
            sh.id,
            to=ShipmentStatus.PENDING,
            carrier=None,
            tracking_number=None,
            actor="staff:4",
            now=DELIVERED_AT,
        )


async def test_a_cancelled_order_ships_nothing(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    sh, *_ = await store.create_shipments(order.id, plan(lines), [], PAID_AT)
    cancelled = await store.transition_order(
        order.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PAID],
        actor="staff:4",
        reason="refunded: out of stock at the supplier",
        now=PAID_AT + timedelta(hours=1),
    )
    assert cancelled is not None

    refused = await store.mark_shipment(
        sh.id,
        to=ShipmentStatus.SHIPPED,
        carrier="SF Express",
        tracking_number="SF1",
        actor="staff:4",
        now=SHIPPED_AT,
    )

    assert refused is None
    assert (await store.shipments_by_ids([sh.id]))[sh.id].status is ShipmentStatus.PENDING
    assert (await store.orders_by_ids([order.id]))[order.id] == cancelled


async def test_a_plan_naming_lines_of_another_order_writes_nothing(store: OrdersStore) -> None:
    order, _ = await paid_order(store)
    other = await place(store, line(201), customer_id=2, now=NOW)
    foreign = (await store.order_lines_by_order_ids([other.id]))[other.id][0]

    with pytest.raises(ValueError, match="has no lines"):
        await store.create_shipments(
            order.id,
            [NewShipment(ShipmentSource("SH-1", None), (ShipmentLine(foreign.id, 1),))],
            [],
            PAID_AT,
        )
    with pytest.raises(ValueError, match="has no lines"):
        await store.create_shipments(order.id, [], [foreign.id], PAID_AT)
    with pytest.raises(ValueError, match="does not exist"):
        await store.create_shipments(999, [], [], PAID_AT)
    with pytest.raises(ValueError, match="one warehouse or one supplier"):
        await store.create_shipments(
            order.id,
            [NewShipment(ShipmentSource("SH-1", 77), (ShipmentLine(foreign.id, 1),))],
            [],
            PAID_AT,
        )

    assert await count_rows(store, m.Shipment) == 0
    assert await count_rows(store, m.ServiceAppointment) == 0
