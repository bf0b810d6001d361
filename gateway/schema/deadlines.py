"""The shipments-due listing: parcels still to leave, earliest promise first."""

import strawberry

from .common import PageInfo
from .shipments import Shipment


@strawberry.type(description="One parcel due to ship and its cursor.")
class ShipmentDueEdge:
    cursor: str = strawberry.field(description="Pass as `after` to get the parcels after this one.")
    node: Shipment = strawberry.field(description="The parcel.")


@strawberry.type(description="A page of parcels due to ship (Relay connection).")
class ShipmentDueConnection:
    edges: list[ShipmentDueEdge] = strawberry.field(
        description="The parcels on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many parcels are due, across all pages.")
