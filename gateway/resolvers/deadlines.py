"""shipmentsDue(before, source): MANAGE_ORDERS staff see the parcels whose ship-by promise
falls before ``before`` and that have not left, earliest first, the late ones flagged."""

from datetime import datetime
from typing import Annotated

import strawberry

from sources.common.pagination import InvalidCursor

from ..schema.common import BadUserInput, Info, PageInfo, page_size
from ..schema.deadlines import ShipmentDueConnection, ShipmentDueEdge
from ..schema.shipments import Shipment


async def shipments_due(
    info: Info,
    before: Annotated[
        datetime,
        strawberry.argument(
            description=(
                "Parcels whose ship-by promise falls before this time (DateTime, ISO "
                "8601 with a time zone)."
            )
        ),
    ],
    # Named apart in Python: the field extensions' own ``source`` parameter takes that name.
    source_label: Annotated[
        str | None,
        strawberry.argument(
            name="source",
            description=(
                "Only from this source: a warehouse code, or supplier:<id>; all when omitted."
            ),
        ),
    ] = None,
    first: Annotated[
        int | None,
        strawberry.argument(
            description=(
                "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
            )
        ),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A cursor from a previous page's edges (or pageInfo.endCursor)."
        ),
    ] = None,
) -> ShipmentDueConnection:
    if before.tzinfo is None:
        raise BadUserInput("before must carry a time zone (UTC: ...Z)")
    if source_label is not None and not 1 <= len(source_label) <= 40:
        raise BadUserInput("source: a warehouse code or supplier:<id>")
    size = page_size(info, first)
    try:
        page = await info.context.sources.orders.shipments_due(
            before=before, source=source_label, first=size, after=after
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    return ShipmentDueConnection(
        edges=[
            ShipmentDueEdge(cursor=cursor, node=Shipment.from_record(s))
            for s, cursor in zip(page.shipments, page.cursors, strict=True)
        ],
        page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
        total_count=page.total_count,
    )
