"""After-sales requests in the orders source, on SQLite and PostgreSQL: a request never asks
for more units than were bought (even when two arrive for the last unit at once), is
resolved once (two staff at once: one wins), replays a resolution retried with its
idempotency key, keeps its whole history, never disappears, and waits in the back office's
queue oldest first."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from sources.common.idempotency import IdempotencyKeyReused
from sources.common.pagination import InvalidCursor
from sources.orders import models as m
from sources.orders.errors import QuantityAlreadyRequested
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesLine,
    AfterSalesRequest,
    AfterSalesStatus,
    AfterSalesStatusChange,
    NewAfterSalesRequest,
    Order,
    OrderLine,
)
from sources.orders.store import OrdersStore

from .conftest import count_rows
from .test_payments import PAID_AT, line, pay, place

OPENED_AT = PAID_AT + timedelta(days=3)
RESOLVED_AT = OPENED_AT + timedelta(hours=2)
OPEN, APPROVED, REJECTED, COMPLETED = (
    AfterSalesStatus.OPEN,
    AfterSalesStatus.APPROVED,
    AfterSalesStatus.REJECTED,
    AfterSalesStatus.COMPLETED,
)


async def paid_order(store: OrdersStore, customer_id: int = 1) -> tuple[Order, list[OrderLine]]:
    order = await pay(
        store,
        await place(
            store,
            line(101, 3, discounts=(("Autumn sale", "7.50"),)),
            line(102, 1),
            customer_id=customer_id,
        ),
    )
    return order, (await store.order_lines_by_order_ids([order.id]))[order.id]


def asking(
    order: Order,
    *units: tuple[OrderLine, int],
    kind: AfterSalesKind = AfterSalesKind.RETURN,
    reason: str = "does not fit",
) -> NewAfterSalesRequest:
    """A request for ``units`` (line, quantity), refunded what was paid for them."""
    lines = tuple(
        AfterSalesLine(ordered.id, quantity, ordered.total * quantity / ordered.quantity)
        for ordered, quantity in units
    )
    return NewAfterSalesRequest(
        order_id=order.id,
        customer_id=order.customer_id,
        kind=kind,
        reason=reason,
        lines=lines,
        refund_amount=sum((a.refund_amount for a in lines), Decimal("0.00")),
    )


async def resolve(
    store: OrdersStore,
    request: AfterSalesRequest,
    to: AfterSalesStatus = APPROVED,
    *,
    allowed_from: tuple[AfterSalesStatus, ...] = (OPEN,),
    actor: str = "staff:5",
    note: str = "approved",
    now: datetime = RESOLVED_AT,
    key: str | None = None,
) -> tuple[AfterSalesRequest | None, bool]:
    return await store.transition_after_sales(
        request.id,
        to=to,
        allowed_from=allowed_from,
        actor=actor,
        note=note,
        now=now,
        idempotency_key=key,
    )


async def test_a_buyer_opens_a_request_that_keeps_its_history(store: OrdersStore) -> None:
    order, lines = await paid_order(store)

    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 2), (lines[1], 1)), actor="customer:1", now=OPENED_AT
    )

    assert (opened.order_id, opened.customer_id, opened.kind, opened.status) == (
        order.id,
        1,
        AfterSalesKind.RETURN,
        OPEN,
    )
    assert opened.lines == (
        AfterSalesLine(lines[0].id, 2, Decimal("45.00")),
        AfterSalesLine(lines[1].id, 1, Decimal("25.00")),
    )
    assert opened.refund_amount == Decimal("70.00") and opened.resolution_note is None
    assert opened.created_at == opened.updated_at == OPENED_AT
    assert await store.after_sales_by_ids([opened.id, 999]) == {opened.id: opened}
    assert await store.after_sales_by_order_ids([order.id, 999]) == {order.id: [opened], 999: []}
    assert await store.requested_quantities([lines[0].id, lines[1].id, 999]) == {
        lines[0].id: 2,
        lines[1].id: 1,
        999: 0,
    }
    assert await store.after_sales_history_by_ids([opened.id, 999]) == {
        opened.id: [
            AfterSalesStatusChange(opened.id, None, OPEN, OPENED_AT, "customer:1", "does not fit")
        ],
        999: [],
    }


async def test_a_line_is_returned_in_two_parts_but_never_beyond_what_was_bought(
    store: OrdersStore,
) -> None:
    order, lines = await paid_order(store)
    first = await store.create_after_sales_request(
        asking(order, (lines[0], 1)), actor="customer:1", now=OPENED_AT
    )
    second = await store.create_after_sales_request(
        asking(order, (lines[0], 2)), actor="customer:1", now=OPENED_AT + timedelta(hours=1)
    )

    with pytest.raises(QuantityAlreadyRequested) as refused:
        await store.create_after_sales_request(
            asking(order, (lines[1], 1), (lines[0], 1)), actor="customer:1", now=RESOLVED_AT
        )

    assert refused.value.line_ids == (lines[0].id,)
    assert await count_rows(store, m.AfterSalesRequest) == 2
    assert await count_rows(store, m.AfterSalesLine) == 2
    assert await count_rows(store, m.AfterSalesStatusChange) == 2
    assert await store.requested_quantities([lines[0].id, lines[1].id]) == {
        lines[0].id: 3,
        lines[1].id: 0,
    }
    # A rejected request gives its units back to the line.
    assert (await resolve(store, second, REJECTED, note="worn"))[0] is not None
    again = await store.create_after_sales_request(
        asking(order, (lines[0], 2), kind=AfterSalesKind.EXCHANGE),
        actor="customer:1",
        now=RESOLVED_AT + timedelta(hours=1),
    )
    assert await store.requested_quantities([lines[0].id]) == {lines[0].id: 3}
    assert [r.id for r in (await store.after_sales_by_order_ids([order.id]))[order.id]] == [
        first.id,
        second.id,
        again.id,
    ]


async def test_two_requests_for_the_last_unit_one_is_refused(store: OrdersStore) -> None:
    order, lines = await paid_order(store)

    async def ask(n: int) -> AfterSalesRequest | QuantityAlreadyRequested:
        try:
            return await store.create_after_sales_request(
                asking(order, (lines[1], 1), reason=f"tab {n}"), actor="customer:1", now=OPENED_AT
            )
        except QuantityAlreadyRequested as exc:
            return exc

    results = await asyncio.gather(*(ask(n) for n in range(4)))

    assert len([r for r in results if isinstance(r, AfterSalesRequest)]) == 1
    assert all(r.line_ids == (lines[1].id,) for r in results if isinstance(r, Exception))
    assert await store.requested_quantities([lines[1].id]) == {lines[1].id: 1}
    assert await count_rows(store, m.AfterSalesStatusChange) == 1


async def test_two_staff_resolving_one_request_at_once_one_wins(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 1)), actor="customer:1", now=OPENED_AT
    )

    results = await asyncio.gather(
        resolve(store, opened, APPROVED, actor="staff:5", note="approved"),
        resolve(store, opened, REJECTED, actor="staff:6", note="rejected"),
        resolve(store, opened, APPROVED, actor="staff:7", note="approved too"),
    )

    won = [request for request, replayed in results if request is not None]
    assert len(won) == 1 and all(not replayed for _, replayed in results)
    assert won[0].status in {APPROVED, REJECTED} and won[0].updated_at == RESOLVED_AT
    assert (await store.after_sales_by_ids([opened.id]))[opened.id] == won[0]
    history = (await store.after_sales_history_by_ids([opened.id]))[opened.id]
    assert [(c.from_status, c.to_status, c.note) for c in history] == [
        (None, OPEN, "does not fit"),
        (OPEN, won[0].status, won[0].resolution_note),
    ]


async def test_a_resolution_retried_with_its_key_is_replayed(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 1)), actor="customer:1", now=OPENED_AT
    )

    first, retries = await asyncio.gather(
        resolve(store, opened, key="resolve-1"),
        asyncio.gather(*(resolve(store, opened, key="resolve-1") for _ in range(3))),
    )
    later = await resolve(store, opened, key="resolve-1", now=RESOLVED_AT + timedelta(hours=23))

    outcomes = [first, *retries, later]
    assert len([1 for _, replayed in outcomes if not replayed]) == 1
    approved = (await store.after_sales_by_ids([opened.id]))[opened.id]
    assert approved.status is APPROVED and approved.resolution_note == "approved"
    assert all(request == approved for request, _ in outcomes)
    assert len((await store.after_sales_history_by_ids([opened.id]))[opened.id]) == 2
    with pytest.raises(IdempotencyKeyReused):
        await resolve(store, opened, REJECTED, note="changed my mind", key="resolve-1")
    with pytest.raises(IdempotencyKeyReused):
        await store.transition_after_sales(
            opened.id,
            to=APPROVED,
            allowed_from=[OPEN],
            actor="staff:5",
            note="approved",
            now=RESOLVED_AT,
            idempotency_key="resolve-1",
            fingerprint="another-request-body",
        )
    # Kept for 24 hours: then the key is forgotten and the move is judged anew.
    assert await resolve(store, opened, key="resolve-1", now=RESOLVED_AT + timedelta(hours=25)) == (
        None,
        False,
    )


async def test_a_request_is_never_lost_and_a_rejection_is_final(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 3)), actor="customer:1", now=OPENED_AT
    )
    rejected, _ = await resolve(store, opened, REJECTED, note="outside the return window")
    assert rejected is not None

    reopened = await resolve(store, opened, APPROVED, allowed_from=(REJECTED, OPEN))
    missing = await store.transition_after_sales(
        999, to=APPROVED, allowed_from=[OPEN], actor="staff:5", note="", now=RESOLVED_AT
    )

    assert reopened == missing == (None, False)
    assert (await store.after_sales_by_ids([opened.id]))[opened.id] == rejected
    assert rejected.status is REJECTED and rejected.resolution_note == "outside the return window"
    assert (await store.list_after_sales(first=10, after=None, status=REJECTED)).requests == [
        rejected
    ]
    # No code path deletes a request, and the database refuses to: its history refers to it.
    with pytest.raises(IntegrityError):
        async with store.db.begin() as conn:
            await conn.execute(
                delete(m.AfterSalesRequest).where(m.AfterSalesRequest.id == opened.id)
            )
    assert (await store.after_sales_by_ids([opened.id]))[opened.id] == rejected


async def test_an_approved_return_completes_once_received(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 1)), actor="customer:1", now=OPENED_AT
    )
    await resolve(store, opened)

    received, replayed = await resolve(
        store,
        opened,
        COMPLETED,
        allowed_from=(APPROVED,),
        actor="staff:8",
        note="parcel received",
        now=RESOLVED_AT + timedelta(days=3),
    )

    assert received is not None and not replayed
    assert received.status is COMPLETED
    history = (await store.after_sales_history_by_ids([opened.id]))[opened.id]
    assert [(c.to_status, c.actor) for c in history] == [
        (OPEN, "customer:1"),
        (APPROVED, "staff:5"),
        (COMPLETED, "staff:8"),
    ]


async def test_staff_work_through_requests_oldest_first(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    other, other_lines = await paid_order(store, customer_id=2)
    times = [OPENED_AT + timedelta(hours=h) for h in (5, 1, 1, 3, 0)]
    requests = []
    for n, at in enumerate(times):
        target, ordered = (order, lines) if n % 2 else (other, other_lines)
        requests.append(
            await store.create_after_sales_request(
                asking(target, (ordered[0], 1), kind=AfterSalesKind.REFUND_ONLY),
                actor=f"customer:{target.customer_id}",
                now=at,
            )
        )
    await resolve(store, requests[3])
    oldest_first = sorted(requests, key=lambda r: (r.created_at, r.id))
    open_ids = [r.id for r in oldest_first if r.id != requests[3].id]

    seen: list[int] = []
    cursor = None
    while True:
        page = await store.list_after_sales(first=2, after=cursor, status=OPEN)
        assert page.total_count == 4 and len(page.cursors) == len(page.requests)
        seen += [r.id for r in page.requests]
        if not page.has_next_page:
            break
        cursor = page.cursors[-1]
    everything = await store.list_after_sales(first=10, after=None, status=None)

    assert seen == open_ids
    assert [r.id for r in everything.requests] == [r.id for r in oldest_first]
    assert everything.total_count == 5 and not everything.has_next_page
    orders_cursor = (await store.list_orders(first=1)).cursors[0]
    for bad in ("not-a-cursor", orders_cursor):
        with pytest.raises(InvalidCursor):
            await store.list_after_sales(first=2, after=bad, status=None)


async def test_a_request_for_what_the_order_does_not_hold_is_refused(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    _, other_lines = await paid_order(store, customer_id=2)

    with pytest.raises(ValueError, match="has no lines"):
        await store.create_after_sales_request(
            asking(order, (other_lines[0], 1)), actor="customer:1", now=OPENED_AT
        )
    with pytest.raises(ValueError, match="not customer 2's"):
        await store.create_after_sales_request(
            NewAfterSalesRequest(
                order.id,
                2,
                AfterSalesKind.RETURN,
                "",
                (AfterSalesLine(lines[0].id, 1, Decimal("1")),),
                None,
            ),
            actor="customer:2",
            now=OPENED_AT,
        )
    with pytest.raises(ValueError, match="positive"):
        await store.create_after_sales_request(
            asking(order, (lines[0], 0)), actor="customer:1", now=OPENED_AT
        )
    with pytest.raises(ValueError, match="at least one line"):
        await store.create_after_sales_request(asking(order), actor="customer:1", now=OPENED_AT)
    assert await count_rows(store, m.AfterSalesRequest) == 0
