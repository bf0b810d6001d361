"""A received return goes back to the warehouse whose parcel carried it; services and
drop-shipped goods go back to no shelf of ours."""

from __future__ import annotations

from gateway.aftersales.resolve import restock_items
from sources.catalog.records import FulfillmentMode, ProductKind
from sources.orders.records import (
    AfterSalesKind,
    Shipment,
    ShipmentLine,
    ShipmentSource,
    ShipmentStatus,
)

from .factories import NOW, bundle_part, line, product, request


def _shipment(id: int, source: ShipmentSource, *lines: tuple[int, int]) -> Shipment:
    return Shipment(
        id=id,
        order_id=1,
        source=source,
        status=ShipmentStatus.DELIVERED,
        carrier="SF",
        tracking_number="1",
        lines=tuple(ShipmentLine(lid, qty) for lid, qty in lines),
        created_at=NOW,
        shipped_at=NOW,
        delivered_at=NOW,
    )


def test_returned_units_go_back_where_they_left_from() -> None:
    lines = {
        1: line(1, quantity=5, total="50.00", sku_id=11),
        2: line(2, quantity=1, total="10.00", sku_id=12, fulfillment="DROPSHIP", supplier_id=4),
        3: line(3, quantity=1, total="99.00", sku_id=13),
    }
    products = {
        1001: product(1001),
        1002: product(1002, fulfillment=FulfillmentMode.DROPSHIP, supplier_id=4),
        1003: product(1003, ProductKind.SERVICE),
    }
    shipments = [
        _shipment(1, ShipmentSource("SH-01", None), (1, 3)),
        _shipment(2, ShipmentSource("BJ-01", None), (1, 2)),
        _shipment(3, ShipmentSource(None, 4), (2, 1)),
    ]
    back = request(1, AfterSalesKind.RETURN, [(1, 4, "40.00"), (2, 1, "10.00"), (3, 1, "99.00")])
    assert restock_items(back, lines, products, {}, shipments) == [
        (11, "BJ-01", 1),
        (11, "SH-01", 3),
    ]


def test_a_returned_bundle_puts_its_physical_parts_back() -> None:
    part_a, install = product(2001), product(2003, ProductKind.SERVICE)
    lines = {1: line(1, quantity=2, total="500.00", sku_id=90, product_id=3000)}
    products = {3000: product(3000, ProductKind.BUNDLE)}
    bundles = {3000: [bundle_part(3000, part_a, 21, quantity=2), bundle_part(3000, install, 23)]}
    shipments = [_shipment(1, ShipmentSource("GZ-01", None), (1, 2))]
    back = request(1, AfterSalesKind.RETURN, [(1, 1, "250.00")])
    assert restock_items(back, lines, products, bundles, shipments) == [(21, "GZ-01", 2)]
