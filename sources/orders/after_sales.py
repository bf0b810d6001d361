"""After-sales requests (returns, refunds, exchanges): opened by a buyer, resolved by staff,
never deleted.

Two guarantees hold whatever the concurrency:
- the units requested of an order line (in requests not REJECTED) never exceed what was
  bought: a new request locks its order row (FOR UPDATE on PostgreSQL; SQLite's BEGIN
  IMMEDIATE serialises all writers) and counts again inside its transaction, so of two
  requests for the last unit one is written and the other raises QuantityAlreadyRequested;
- a request changes status once per move: the request row is locked, then updated only
  from an allowed status, with a history row (who, when, why). A REJECTED request is final:
  its units went back to the line, and reopening it could exceed the line's quantity.

A move may require a new actor (``distinct_actor``): four-eyes refunds need a second
approval by someone other than the first approver. Who moved the request into its current
status is read under the same row lock, so two approvals by one staff member can never both
count, whatever the timing; every move by staff is written to the audit trail
(``orders_audit``, entity ``after_sales_request``) in the same transaction as the move.

A resolution may carry an idempotency key: the key row is written in the transaction of the
move it guards, so a retry replays the move instead of failing as a second resolution.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit
from sources.common.db import Database
from sources.common.idempotency import fingerprint as fingerprint_of
from sources.common.idempotency import remember, replay

from . import models as m
from .after_sales_queries import load_requests
from .errors import QuantityAlreadyRequested, SameApprover
from .orders import lock_order_status
from .records import AfterSalesRequest, AfterSalesStatus, NewAfterSalesRequest


async def requested_quantities(db: Database, order_line_ids: Sequence[int]) -> dict[int, int]:
    """Units of each line already in requests that were not rejected; every id gets one."""
    async with db.connect() as conn:
        return await _requested(conn, order_line_ids)


async def create_after_sales_request(
    db: Database, new: NewAfterSalesRequest, *, actor: str, now: datetime
) -> AfterSalesRequest:
    wanted: dict[int, int] = {}
    for line in new.lines:
        if line.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {line.quantity}")
        wanted[line.order_line_id] = wanted.get(line.order_line_id, 0) + line.quantity
    if not wanted:
        raise ValueError("an after-sales request needs at least one line")
    async with db.begin() as conn:
        if await lock_order_status(conn, new.order_id) is None:
            raise ValueError(f"order {new.order_id} does not exist")
        owner, bought = await _order_lines(conn, new.order_id, wanted)
        if owner != new.customer_id:
            raise ValueError(f"order {new.order_id} is not customer {new.customer_id}'s")
        requested = await _requested(conn, list(wanted))
        over = [i for i, quantity in wanted.items() if requested[i] + quantity > bought[i]]
        if over:
            raise QuantityAlreadyRequested(over)
        request_id: int = (
            await conn.execute(
                insert(m.AfterSalesRequest)
                .values(
                    order_id=new.order_id,
                    customer_id=new.customer_id,
                    kind=new.kind.value,
                    status=AfterSalesStatus.OPEN.value,
                    reason=new.reason,
                    refund_amount=new.refund_amount,
                    created_at=now,
                    updated_at=now,
                )
                .returning(m.AfterSalesRequest.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(m.AfterSalesLine),
            [
                {
                    "request_id": request_id,
                    "order_line_id": line.order_line_id,
                    "quantity": line.quantity,
                    "refund_amount": line.refund_amount,
                }
                for line in new.lines
            ],
        )
        await _record_change(conn, request_id, None, AfterSalesStatus.OPEN, actor, new.reason, now)
        return (await load_requests(conn, m.AfterSalesRequest.id == request_id))[0]


async def transition_after_sales(
    db: Database,
    request_id: int,
    *,
    to: AfterSalesStatus,
    allowed_from: Collection[AfterSalesStatus],
    actor: str,
    note: str,
    now: datetime,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    distinct_actor: bool = False,
) -> tuple[AfterSalesRequest | None, bool]:
    """(the request after the move, False); (the request as it is, True) for a retry with
    the same key and arguments; (None, False) with nothing written when the request is
    missing or not in ``allowed_from``. IdempotencyKeyReused when the key was used with
    other arguments; SameApprover, with ``distinct_actor``, when ``actor`` is who moved the
    request into its current status. Without a ``fingerprint``, one is made of the
    request, ``to`` and ``note``."""
    print_ = fingerprint or fingerprint_of({"request": request_id, "to": to.value, "note": note})
    allowed = {s.value for s in allowed_from} - {AfterSalesStatus.REJECTED.value}
    for attempt in range(2):
        try:
            return await _transition_once(
                db,
                request_id,
                to,
                allowed,
                actor,
                note,
                now,
                idempotency_key,
                print_,
                distinct_actor,
            )
        except IntegrityError:
            # Another request under this key (for another after-sales request, which holds
            # another row lock) committed first; the second pass replays or refuses it.
            if attempt or idempotency_key is None:
                raise
    raise AssertionError("unreachable")


async def _transition_once(
    db: Database,
    request_id: int,
    to: AfterSalesStatus,
    allowed: set[str],
    actor: str,
    note: str,
    now: datetime,
    key: str | None,
    print_: str,
    distinct_actor: bool,
) -> tuple[AfterSalesRequest | None, bool]:
    requests = m.AfterSalesRequest
    async with db.begin() as conn:
        # The row lock first: a concurrent retry with the same key waits here, then finds
        # the key this call wrote and replays it.
        current = (
            await conn.execute(
                select(requests.status).where(requests.id == request_id).with_for_update()
            )
        ).scalar_one_or_none()
        if key is not None:
            stored = await replay(conn, m.IdempotencyKey, key, print_, now)
            if stored is not None:
                found = await load_requests(conn, requests.id == int(stored["request_id"]))
                return (found[0] if found else None), True
        if current is None or current not in allowed:
            return None, False
        if distinct_actor and await _moved_in_by(conn, request_id, current) == actor:
            raise SameApprover(request_id, actor)
        moved = (
            await conn.execute(
                update(requests)
                .where(requests.id == request_id, requests.status == current)
                .values(status=to.value, resolution_note=note, updated_at=now)
                .returning(requests.id)
            )
        ).scalar_one_or_none()
        if moved is None:
            return None, False
        await _record_change(conn, request_id, AfterSalesStatus(current), to, actor, note, now)
        await write_audit(
            conn,
            m.AuditEntry,
            at=now,
            actor=actor,
            action=f"after_sales.{to.value.lower()}",
            entity_type="after_sales_request",
            entity_id=request_id,
            before={"status": current},
            after={"status": to.value},
            reason=note,
        )
        if key is not None:
            result = {"request_id": request_id, "status": to.value}
            await remember(conn, m.IdempotencyKey, key, print_, result, now)
        return (await load_requests(conn, requests.id == request_id))[0], False


async def _order_lines(
    conn: AsyncConnection, order_id: int, wanted: Collection[int]
) -> tuple[int, dict[int, int]]:
    """The order's customer and the quantity bought of each wanted line; ValueError when a
    line is not the order's."""
    owner: int = (
        await conn.execute(select(m.Order.customer_id).where(m.Order.id == order_id))
    ).scalar_one()
    rows = await conn.execute(
        select(m.OrderLine.id, m.OrderLine.quantity).where(
            m.OrderLine.order_id == order_id, m.OrderLine.id.in_(set(wanted))
        )
    )
    bought = {line_id: int(quantity) for line_id, quantity in rows}
    missing = set(wanted) - set(bought)
    if missing:
        raise ValueError(f"order {order_id} has no lines {sorted(missing)}")
    return owner, bought


async def _requested(conn: AsyncConnection, order_line_ids: Sequence[int]) -> dict[int, int]:
    rows = await conn.execute(
        select(m.AfterSalesLine.order_line_id, func.sum(m.AfterSalesLine.quantity))
        .join(m.AfterSalesRequest, m.AfterSalesRequest.id == m.AfterSalesLine.request_id)
        .where(
            m.AfterSalesLine.order_line_id.in_(set(order_line_ids)),
            m.AfterSalesRequest.status != AfterSalesStatus.REJECTED.value,
        )
        .group_by(m.AfterSalesLine.order_line_id)
    )
    found = {line_id: int(units) for line_id, units in rows}
    return {line_id: found.get(line_id, 0) for line_id in order_line_ids}


async def _record_change(
    conn: AsyncConnection,
    request_id: int,
    before: AfterSalesStatus | None,
    after: AfterSalesStatus,
    actor: str,
    note: str,
    now: datetime,
) -> None:
    await conn.execute(
        insert(m.AfterSalesStatusChange).values(
            request_id=request_id,
            from_status=None if before is None else before.value,
            to_status=after.value,
            at=now,
            actor=actor,
            note=note,
        )
    )


async def _moved_in_by(conn: AsyncConnection, request_id: int, status: str) -> str | None:
    """Who made the latest move of a request into ``status`` (read under its row lock)."""
    changes = m.AfterSalesStatusChange
    return (
        await conn.execute(
            select(changes.actor)
            .where(changes.request_id == request_id, changes.to_status == status)
            .order_by(changes.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
