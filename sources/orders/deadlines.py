"""Ship-by deadlines: the parcels still to leave, earliest promise first, and how many are
late per source, so late shipping shows before a buyer complains.

A parcel counts while it is PENDING and its order still ships (PAID or PARTIALLY_SHIPPED:
a cancelled order's parcels never leave). Both reads use the (status, ship_by) index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from sources.common.db import Database
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from . import models as m
from .records import OrderStatus, ShipmentDuePage, ShipmentStatus
from .shipments import load_shipments

_CURSOR = "SHIP_BY"
_SHIPPING = (OrderStatus.PAID.value, OrderStatus.PARTIALLY_SHIPPED.value)


def _waiting() -> tuple[ColumnElement[bool], ...]:
    shipping = select(m.Order.id).where(m.Order.status.in_(_SHIPPING))
    return (
        m.Shipment.status == ShipmentStatus.PENDING.value,
        m.Shipment.ship_by.is_not(None),
        m.Shipment.order_id.in_(shipping),
    )


def _source_is(source: str) -> ColumnElement[bool]:
    """A warehouse code, or ``supplier:<id>`` (as Shipment.source shows it to staff)."""
    if source.startswith("supplier:") and source[9:].isdigit() and len(source) < 19:
        return m.Shipment.supplier_id == int(source[9:])
    return m.Shipment.warehouse_code == source


async def shipments_due(
    db: Database, *, before: datetime, source: str | None, first: int, after: str | None
) -> ShipmentDuePage:
    conditions = [*_waiting(), m.Shipment.ship_by < before]
    if source is not None:
        conditions.append(_source_is(source))
    page_conditions = list(conditions)
    if after is not None:
        key, last_id = decode_cursor(after, _CURSOR)
        try:
            at = datetime.fromisoformat(key or "")
        except ValueError:
            raise InvalidCursor("the cursor is malformed") from None
        page_conditions.append(
            or_(m.Shipment.ship_by > at, and_(m.Shipment.ship_by == at, m.Shipment.id > last_id))
        )
    async with db.connect() as conn:
        ids = (
            (
                await conn.execute(
                    select(m.Shipment.id)
                    .where(*page_conditions)
                    .order_by(m.Shipment.ship_by, m.Shipment.id)
                    .limit(first + 1)
                )
            )
            .scalars()
            .all()
        )
        total = (
            await conn.execute(select(func.count()).select_from(m.Shipment).where(*conditions))
        ).scalar_one()
        found = {s.id: s for s in await load_shipments(conn, m.Shipment.id.in_(ids[:first]))}
    shipments = [found[i] for i in ids[:first] if i in found]
    return ShipmentDuePage(
        shipments=shipments,
        cursors=[
            encode_cursor(_CURSOR, s.ship_by.isoformat() if s.ship_by else None, s.id)
            for s in shipments
        ],
        has_next_page=len(ids) > first,
        total_count=int(total),
    )


async def overdue_counts(db: Database, now: datetime) -> dict[str, int]:
    """Late parcels per source label (warehouse code or ``supplier:<id>``)."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Shipment.warehouse_code, m.Shipment.supplier_id, func.count())
            .where(*_waiting(), m.Shipment.ship_by < now)
            .group_by(m.Shipment.warehouse_code, m.Shipment.supplier_id)
        )
        return {(code or f"supplier:{supplier}"): int(n) for code, supplier, n in rows}
