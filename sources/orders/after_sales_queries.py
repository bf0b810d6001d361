"""Reading after-sales requests in batches: by id, by order, their status history, and the
back office's queue, oldest first (the request waiting longest is the first to handle),
keyset-paged on (created_at, id)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from . import models as m
from .records import (
    AfterSalesKind,
    AfterSalesLine,
    AfterSalesPage,
    AfterSalesRequest,
    AfterSalesStatus,
    AfterSalesStatusChange,
)

_SORT = "AFTER_SALES_OLDEST"
_OLDEST_FIRST = (m.AfterSalesRequest.created_at, m.AfterSalesRequest.id)


async def after_sales_by_ids(db: Database, ids: Sequence[int]) -> dict[int, AfterSalesRequest]:
    async with db.connect() as conn:
        found = await load_requests(conn, m.AfterSalesRequest.id.in_(set(ids)))
    return {request.id: request for request in found}


async def after_sales_by_order_ids(
    db: Database, order_ids: Sequence[int]
) -> dict[int, list[AfterSalesRequest]]:
    """Every order asked for gets a list, oldest request first."""
    grouped: dict[int, list[AfterSalesRequest]] = defaultdict(list)
    async with db.connect() as conn:
        for request in await load_requests(conn, m.AfterSalesRequest.order_id.in_(set(order_ids))):
            grouped[request.order_id].append(request)
    return {order_id: grouped.get(order_id, []) for order_id in order_ids}


async def after_sales_history_by_ids(
    db: Database, request_ids: Sequence[int]
) -> dict[int, list[AfterSalesStatusChange]]:
    """Oldest change first; the first one is the request's opening (from None)."""
    grouped: dict[int, list[AfterSalesStatusChange]] = defaultdict(list)
    changes = m.AfterSalesStatusChange
    async with db.connect() as conn:
        rows = await conn.execute(
            select(changes).where(changes.request_id.in_(set(request_ids))).order_by(changes.id)
        )
        for row in rows:
            grouped[row.request_id].append(
                AfterSalesStatusChange(
                    request_id=row.request_id,
                    from_status=AfterSalesStatus(row.from_status) if row.from_status else None,
                    to_status=AfterSalesStatus(row.to_status),
                    at=row.at,
                    actor=row.actor,
                    note=row.note,
                )
            )
    return {request_id: grouped.get(request_id, []) for request_id in request_ids}


async def list_after_sales(
    db: Database, *, first: int, after: str | None, status: AfterSalesStatus | None
) -> AfterSalesPage:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(m.AfterSalesRequest.status == status.value)
    async with db.connect() as conn:
        found = await load_requests(
            conn, and_(true(), *conditions, *_after(after)), limit=first + 1
        )
        total = (
            await conn.execute(
                select(func.count()).select_from(m.AfterSalesRequest).where(*conditions)
            )
        ).scalar_one()
    requests = found[:first]
    return AfterSalesPage(
        requests=requests,
        cursors=[encode_cursor(_SORT, r.created_at.isoformat(), r.id) for r in requests],
        has_next_page=len(found) > first,
        total_count=int(total),
    )


async def load_requests(
    conn: AsyncConnection, where: ColumnElement[bool], *, limit: int | None = None
) -> list[AfterSalesRequest]:
    """Requests matching ``where`` with their lines, oldest first."""
    query = select(m.AfterSalesRequest).where(where).order_by(*_OLDEST_FIRST)
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).all()
    lines: dict[int, list[AfterSalesLine]] = defaultdict(list)
    if rows:
        found = await conn.execute(
            select(m.AfterSalesLine)
            .where(m.AfterSalesLine.request_id.in_([row.id for row in rows]))
            .order_by(m.AfterSalesLine.id)
        )
        for line in found:
            lines[line.request_id].append(
                AfterSalesLine(line.order_line_id, line.quantity, line.refund_amount)
            )
    return [
        AfterSalesRequest(
            id=row.id,
            order_id=row.order_id,
            customer_id=row.customer_id,
            kind=AfterSalesKind(row.kind),
            status=AfterSalesStatus(row.status),
            reason=row.reason,
            lines=tuple(lines.get(row.id, ())),
            refund_amount=row.refund_amount,
            created_at=row.created_at,
            updated_at=row.updated_at,
            resolution_note=row.resolution_note,
        )
        for row in rows
    ]


def _after(cursor: str | None) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    key, last_id = decode_cursor(cursor, _SORT)
    try:
        created_at = datetime.fromisoformat(key or "")
    except ValueError as exc:
        raise InvalidCursor("the cursor is malformed") from exc
    if created_at.tzinfo is None:
        raise InvalidCursor("the cursor is malformed")
    requests = m.AfterSalesRequest
    return [
        or_(
            requests.created_at > created_at,
            and_(requests.created_at == created_at, requests.id > last_id),
        )
    ]
