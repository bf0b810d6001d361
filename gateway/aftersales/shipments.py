"""How a paid order leaves the shop: one parcel per warehouse holding its reserved stock and
one per drop-ship supplier; service lines are scheduled, not shipped. Then staff mark each
parcel shipped (carrier, tracking number) and delivered, and the orders source moves the
order along (PARTIALLY_SHIPPED, SHIPPED, COMPLETED)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sources.catalog.records import BundleItem, Product, ProductKind
from sources.inventory.records import Allocation, ReservationStatus
from sources.orders.records import (
    NewShipment,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    ShipmentSource,
    ShipmentStatus,
)

from ..backoffice.ship_by import ShipByRules
from ..errors import Problem, UserErrorCode
from ..sources import Sources

log = logging.getLogger(__name__)

MAX_CARRIER = 100
MAX_TRACKING = 100
# Where units go that no reservation accounts for (a paid order always had one; this only
# keeps a broken record visible to staff instead of dropping its units).
UNALLOCATED = "UNALLOCATED"
_NOT_SHIPPING = (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class ShipmentPlan:
    shipments: list[NewShipment]
    service_line_ids: list[int]


class _Pool:
    """Reserved units per SKU, in the order the reservation took them, handed out to the
    order's lines in line order."""

    def __init__(self, allocations: Sequence[Allocation]) -> None:
        self._left: dict[int, list[list[object]]] = {}
        for a in allocations:
            source = ShipmentSource(a.warehouse_code, None if a.warehouse_code else a.supplier_id)
            self._left.setdefault(a.sku_id, []).append([source, a.quantity])

    def take(self, sku_id: int, quantity: int) -> tuple[list[tuple[ShipmentSource, int]], int]:
        """(source, units) pieces for up to ``quantity`` units, and how many were missing."""
        pieces: list[tuple[ShipmentSource, int]] = []
        for slot in self._left.get(sku_id, []):
            if quantity == 0:
                break
            source, free = slot
            assert isinstance(source, ShipmentSource) and isinstance(free, int)
            taken = min(free, quantity)
            if taken:
                pieces.append((source, taken))
                slot[1] = free - taken
                quantity -= taken
        return pieces, quantity


def _fallback_source(line: OrderLine) -> ShipmentSource:
    if line.fulfillment == "DROPSHIP" and line.supplier_id is not None:
        return ShipmentSource(None, line.supplier_id)
    return ShipmentSource(UNALLOCATED, None)


def plan_shipments(
    lines: Sequence[OrderLine],
    products: Mapping[int, Product],
    bundles: Mapping[int, Sequence[BundleItem]],
    allocations: Sequence[Allocation],
) -> ShipmentPlan:
    """Split an order's lines by where their reserved units sit.

    A line whose units sit in two warehouses is in both parcels with the units each holds. A
    bundle travels with its physical parts: its line is in the parcel of every place a part
    leaves from, for the bundle's quantity; a bundle with a service part is also scheduled.
    """
    pool = _Pool(allocations)
    parcels: dict[ShipmentSource, dict[int, int]] = {}
    services: list[int] = []

    def put(source: ShipmentSource, line_id: int, units: int) -> None:
        lines_of = parcels.setdefault(source, {})
        lines_of[line_id] = lines_of.get(line_id, 0) + units

    for line in sorted(lines, key=lambda x: x.id):
        product = products.get(line.product_id)
        kind = product.kind if product else ProductKind.PHYSICAL
        if kind is ProductKind.SERVICE:
            pool.take(line.sku_id, line.quantity)  # its stock row is a counter, not a parcel
            services.append(line.id)
            continue
        if kind is ProductKind.BUNDLE:
            sources: dict[ShipmentSource, None] = {}
            for part in bundles.get(line.product_id, ()):
                pieces, missing = pool.take(part.sku.id, part.quantity * line.quantity)
                if part.product.kind is ProductKind.SERVICE:
                    if line.id not in services:
                        services.append(line.id)
                    continue
                sources.update(dict.fromkeys(source for source, _ in pieces))
                if missing:
                    sources[_fallback_source(line)] = None
            for source in sources:
                put(source, line.id, line.quantity)
            continue
        pieces, missing = pool.take(line.sku_id, line.quantity)
        if missing:
            log.error(
                "order %s line %s: %s units without a reservation", line.order_id, line.id, missing
            )
            pieces.append((_fallback_source(line), missing))
        for source, units in pieces:
            put(source, line.id, units)

    # Our warehouses first, then the suppliers, each in the order stock was taken.
    ordered = sorted(parcels, key=lambda s: s.warehouse_code is None)
    return ShipmentPlan(
        shipments=[
            NewShipment(
                source,
                tuple(ShipmentLine(lid, units) for lid, units in sorted(parcels[source].items())),
            )
            for source in ordered
        ],
        service_line_ids=services,
    )


async def fulfil_paid_order(
    sources: Sources, order: Order, now: datetime, promises: ShipByRules | None = None
) -> list[Shipment]:
    """Turn the order's stock hold into a sale and plan its parcels, each with its ship-by
    promise. Safe to run again: the sale happens once (CONFIRMED -> SOLD) and an order is
    planned once."""
    inventory, catalog = sources.inventory, sources.catalog
    reservation = (await inventory.reservations_by_order_refs([order.order_ref])).get(
        order.order_ref
    )
    sold = await inventory.commit_sale(order.order_ref, now)
    if not sold and (reservation is None or reservation.status is not ReservationStatus.SOLD):
        status = reservation.status.value if reservation else "missing"
        log.warning("order %s paid with its reservation %s", order.number, status)
    lines = (await sources.orders.order_lines_by_order_ids([order.id]))[order.id]
    products = await catalog.products_by_ids(sorted({line.product_id for line in lines}))
    bundle_ids = [pid for pid, p in products.items() if p.kind is ProductKind.BUNDLE]
    bundles = await catalog.bundle_items_by_product_ids(bundle_ids) if bundle_ids else {}
    plan = plan_shipments(lines, products, bundles, reservation.allocations if reservation else ())
    rules = promises or ShipByRules()
    product_of = {line.id: products.get(line.product_id) for line in lines}
    promised = [
        replace(
            new,
            ship_by=rules.deadline(
                new.source,
                now,
                (
                    p.presale.ships_from
                    for p in (product_of.get(item.order_line_id) for item in new.lines)
                    if p is not None and p.presale is not None
                ),
            ),
        )
        for new in plan.shipments
    ]
    return await sources.orders.create_shipments(order.id, promised, plan.service_line_ids, now)


@dataclass(frozen=True, slots=True)
class ShipmentOutcome:
    shipment: Shipment | None
    order: Order | None
    problems: list[Problem]


def _refused(code: UserErrorCode, message: str, *field: str) -> ShipmentOutcome:
    return ShipmentOutcome(None, None, [Problem(code, message, field or None)])


def _text_problems(carrier: str, tracking_number: str) -> list[Problem]:
    problems: list[Problem] = []
    for name, value, limit in (
        ("carrier", carrier, MAX_CARRIER),
        ("trackingNumber", tracking_number, MAX_TRACKING),
    ):
        if not value.strip() or len(value) > limit or "\x00" in value:
            problems.append(
                Problem(UserErrorCode.INVALID_INPUT, f"{name}: 1 to {limit} characters", (name,))
            )
    return problems


async def mark_shipment(
    sources: Sources,
    shipment_id: int | None,
    *,
    to: ShipmentStatus,
    carrier: str | None,
    tracking_number: str | None,
    actor: str,
    now: datetime,
) -> ShipmentOutcome:
    """PENDING -> SHIPPED (with carrier and tracking number) or SHIPPED -> DELIVERED, once;
    anything else is INVALID_STATUS_TRANSITION and changes nothing."""
    if to is ShipmentStatus.SHIPPED:
        problems = _text_problems(carrier or "", tracking_number or "")
        if problems:
            return ShipmentOutcome(None, None, problems)
    orders = sources.orders
    found = (await orders.shipments_by_ids([shipment_id])).get(shipment_id) if shipment_id else None
    if found is None:
        return _refused(UserErrorCode.SHIPMENT_NOT_FOUND, "no such shipment", "shipmentId")
    moved = await orders.mark_shipment(
        found.id,
        to=to,
        carrier=carrier.strip() if carrier else None,
        tracking_number=tracking_number.strip() if tracking_number else None,
        actor=actor,
        now=now,
    )
    if moved is None:  # say why from what holds now, not from before the attempt
        now_shipment = (await orders.shipments_by_ids([found.id])).get(found.id, found)
        order = (await orders.orders_by_ids([found.order_id])).get(found.order_id)
        why = f"it is {now_shipment.status.value}"
        if order is not None and order.status in _NOT_SHIPPING:
            why = f"its order is {order.status.value}"
        return _refused(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            f"this shipment cannot become {to.value}: {why}",
            "shipmentId",
        )
    shipment, order = moved
    return ShipmentOutcome(shipment, order, [])
