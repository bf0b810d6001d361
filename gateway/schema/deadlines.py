"""The shipments-due listing: parcels still to leave, earliest promise first."""

from __future__ import annotations

import strawberry

from .common import PageInfo
from .shipments import Shipment


@strawberry.type
class ShipmentDueEdge:
    cursor: str
    node: Shipment


@strawberry.type
class ShipmentDueConnection:
    edges: list[ShipmentDueEdge]
    page_info: PageInfo
    total_count: int
