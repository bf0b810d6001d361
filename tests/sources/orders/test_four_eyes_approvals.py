"""Four eyes in the orders source, on SQLite and PostgreSQL: a move that needs a new actor
is refused (SameApprover, nothing written) to whoever moved the request into its status;
two second approvals at once move it once; every staff move is in the audit trail."""

from __future__ import annotations

import asyncio

import pytest

from sources.orders.errors import SameApprover
from sources.orders.records import AfterSalesRequest, AfterSalesStatus
from sources.orders.store import OrdersStore

from .test_after_sales import OPENED_AT, RESOLVED_AT, asking, paid_order

OPEN, AWAITING, APPROVED = (
    AfterSalesStatus.OPEN,
    AfterSalesStatus.AWAITING_SECOND_APPROVAL,
    AfterSalesStatus.APPROVED,
)


async def test_the_first_approver_cannot_give_the_second(store: OrdersStore) -> None:
    order, lines = await paid_order(store)
    opened = await store.create_after_sales_request(
        asking(order, (lines[0], 3)), actor="customer:1", now=OPENED_AT
    )

    async def approve(
        actor: str, to: AfterSalesStatus, *allowed: AfterSalesStatus
    ) -> AfterSalesRequest | None:
        moved, _ = await store.transition_after_sales(
            opened.id,
            to=to,
            allowed_from=allowed,
            actor=actor,
            note=f"{actor} checked",
            now=RESOLVED_AT,
            distinct_actor=to is APPROVED,
        )
        return moved

    first = await approve("staff:alice", AWAITING, OPEN)
    assert first is not None and first.status is AWAITING
    with pytest.raises(SameApprover):
        await approve("staff:alice", APPROVED, AWAITING)
    history = (await store.after_sales_history_by_ids([opened.id]))[opened.id]
    assert [c.to_status for c in history] == [OPEN, AWAITING], "the refusal wrote nothing"

    # Two other staff at once: one moves it, the other finds it moved.
    results = await asyncio.gather(
        approve("staff:bob", APPROVED, AWAITING), approve("staff:carol", APPROVED, AWAITING)
    )
    assert sorted(r is None for r in results) == [False, True]
    history = (await store.after_sales_history_by_ids([opened.id]))[opened.id]
    assert [(c.to_status, c.actor) for c in history][:2] == [
        (OPEN, "customer:1"),
        (AWAITING, "staff:alice"),
    ]
    assert [c.to_status for c in history] == [OPEN, AWAITING, APPROVED]

    audit = (await store.audit_by_after_sales_ids([opened.id, 999], 10))[opened.id]
    assert [(a.action, a.actor, a.before, a.after) for a in audit] == [
        (
            "after_sales.approved",
            history[2].actor,
            {"status": "AWAITING_SECOND_APPROVAL"},
            {"status": "APPROVED"},
        ),
        (
            "after_sales.awaiting_second_approval",
            "staff:alice",
            {"status": "OPEN"},
            {"status": "AWAITING_SECOND_APPROVAL"},
        ),
    ]
