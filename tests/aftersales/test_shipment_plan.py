"""A paid order splits into one parcel per warehouse holding its reserved units and one per
drop-ship supplier; service lines are scheduled, not shipped; bundles travel with their
physical parts."""

from __future__ import annotations

from gateway.aftersales.shipments import UNALLOCATED, plan_shipments
from sources.catalog.records import FulfillmentMode, ProductKind
from sources.inventory.records import Allocation
from sources.orders.records import ShipmentLine, ShipmentSource

from .factories import bundle_part, line, product


def _parcels(plan: object) -> dict[str, list[tuple[int, int]]]:
    return {
        s.source.label: [(i.order_line_id, i.quantity) for i in s.lines]
        for s in plan.shipments  # type: ignore[attr-defined]
    }


def test_units_split_over_two_warehouses_make_two_parcels() -> None:
    lines = [
        line(1, quantity=5, total="50.00", sku_id=11),
        line(2, quantity=1, total="9.00", sku_id=12),
    ]
    products = {1001: product(1001), 1002: product(1002)}
    allocations = [
        Allocation(11, "SH-01", None, 3),
        Allocation(11, "BJ-01", None, 2),
        Allocation(12, "BJ-01", None, 1),
    ]
    plan = plan_shipments(lines, products, {}, allocations)
    assert _parcels(plan) == {"SH-01": [(1, 3)], "BJ-01": [(1, 2), (2, 1)]}
    assert plan.service_line_ids == []


def test_drop_ship_goes_to_its_supplier_and_a_service_is_scheduled() -> None:
    lines = [
        line(1, quantity=1, total="10.00", sku_id=11),
        line(2, quantity=2, total="20.00", sku_id=12, fulfillment="DROPSHIP", supplier_id=4),
        line(3, quantity=1, total="99.00", sku_id=13),
    ]
    products = {
        1001: product(1001),
        1002: product(1002, fulfillment=FulfillmentMode.DROPSHIP, supplier_id=4),
        1003: product(1003, ProductKind.SERVICE),
    }
    allocations = [
        Allocation(11, "SH-01", None, 1),
        Allocation(12, None, 4, 2),
        Allocation(13, "SH-01", None, 1),  # a service's stock row is a counter
    ]
    plan = plan_shipments(lines, products, {}, allocations)
    assert _parcels(plan) == {"SH-01": [(1, 1)], "supplier:4": [(2, 2)]}
    assert [s.source for s in plan.shipments] == [
        ShipmentSource("SH-01", None),
        ShipmentSource(None, 4),
    ]
    assert plan.service_line_ids == [3]


def test_a_bundle_rides_with_each_of_its_parts_and_its_service_is_scheduled() -> None:
    part_a, part_b, install = product(2001), product(2002), product(2003, ProductKind.SERVICE)
    lines = [line(1, quantity=2, total="500.00", sku_id=90, product_id=3000)]
    products = {3000: product(3000, ProductKind.BUNDLE)}
    bundles = {
        3000: [
            bundle_part(3000, part_a, 21),
            bundle_part(3000, part_b, 22),
            bundle_part(3000, install, 23),
        ]
    }
    allocations = [
        Allocation(21, "SH-01", None, 2),
        Allocation(22, "GZ-01", None, 2),
        Allocation(23, "SH-01", None, 2),
    ]
    plan = plan_shipments(lines, products, bundles, allocations)
    assert _parcels(plan) == {"SH-01": [(1, 2)], "GZ-01": [(1, 2)]}
    assert plan.service_line_ids == [1]


def test_a_sku_bought_twice_shares_its_reserved_units_in_line_order() -> None:
    part = product(2001)
    lines = [
        line(1, quantity=1, total="300.00", sku_id=90, product_id=3000),
        line(2, quantity=2, total="20.00", sku_id=21, product_id=2001),
    ]
    products = {3000: product(3000, ProductKind.BUNDLE), 2001: part}
    bundles = {3000: [bundle_part(3000, part, 21)]}
    allocations = [Allocation(21, "SH-01", None, 2), Allocation(21, "BJ-01", None, 1)]
    plan = plan_shipments(lines, products, bundles, allocations)
    assert _parcels(plan) == {"SH-01": [(1, 1), (2, 1)], "BJ-01": [(2, 1)]}


def test_units_no_reservation_accounts_for_stay_visible() -> None:
    lines = [line(1, quantity=2, total="20.00", sku_id=11)]
    plan = plan_shipments(lines, {1001: product(1001)}, {}, [Allocation(11, "SH-01", None, 1)])
    assert _parcels(plan) == {"SH-01": [(1, 1)], UNALLOCATED: [(1, 1)]}
    assert plan.shipments[0].lines == (ShipmentLine(1, 1),)
