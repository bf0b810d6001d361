"""After-sales requests (returns, refunds, exchanges) as buyers and staff see them."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from sources.orders.records import AfterSalesKind as AfterSalesKindRecord
from sources.orders.records import AfterSalesPage
from sources.orders.records import AfterSalesRequest as RequestRecord
from sources.orders.records import AfterSalesStatus as AfterSalesStatusRecord
from sources.orders.records import AfterSalesStatusChange as ChangeRecord

from ..auth import Permission, Viewer
from .common import Info, Money, PageInfo
from .enums import describe_values
from .errors import UserError
from .node import Node, encode_id
from .orders import Order, OrderLine, shown_actor

strawberry.enum(AfterSalesKindRecord, name="AfterSalesKind", description="What a buyer asks for.")
describe_values(
    AfterSalesKindRecord,
    {
        "RETURN": "Send the units back for a refund.",
        "REFUND_ONLY": "A refund without sending anything back.",
        "EXCHANGE": "Send the units back for the same SKU again.",
    },
)
strawberry.enum(
    AfterSalesStatusRecord,
    name="AfterSalesStatus",
    description="Where an after-sales request stands: OPEN, then APPROVED or REJECTED, "
    "then (approved) COMPLETED; a refund above REFUND_SECOND_APPROVAL_ABOVE passes through "
    "AWAITING_SECOND_APPROVAL on its way to APPROVED.",
)
describe_values(
    AfterSalesStatusRecord,
    {
        "OPEN": "Waiting for staff to decide.",
        "AWAITING_SECOND_APPROVAL": (
            "A refund above the shop's four-eyes threshold (REFUND_SECOND_APPROVAL_ABOVE), "
            "approved once: another staff member (not the first approver) approves it to "
            "APPROVED, or rejects it. Nothing is refunded yet."
        ),
        "APPROVED": "Accepted; waiting for the units back or the refund.",
        "REJECTED": "Refused, with staff's note; final.",
        "COMPLETED": "Done: refunded or exchanged (a return's units are back on the shelf).",
    },
)

STAFF = (Permission.MANAGE_AFTER_SALES, Permission.MANAGE_ORDERS)
_UNDECIDED = frozenset(
    {AfterSalesStatusRecord.OPEN, AfterSalesStatusRecord.AWAITING_SECOND_APPROVAL}
)


def may_see_request(viewer: Viewer, record: RequestRecord) -> bool:
    """The buyer who asked, or after-sales and order staff; anyone else reads not found."""
    return viewer.customer_id == record.customer_id or any(viewer.has(p) for p in STAFF)


@strawberry.type(description="Units of one order line that an after-sales request covers.")
class AfterSalesItem:
    line: OrderLine = strawberry.field(description="The order line the units come from.")
    quantity: int = strawberry.field(description="Units of the line in this request.")
    refund_amount: Money = strawberry.field(
        description="What the buyer paid for these units (zero for an exchange)."
    )


@strawberry.type(description="One step in an after-sales request's history.")
class AfterSalesStatusChange:
    from_status: AfterSalesStatusRecord | None = strawberry.field(
        description="The status before; null for the request being opened."
    )
    to_status: AfterSalesStatusRecord = strawberry.field(description="The status after.")
    at: datetime = strawberry.field(description="When it changed (UTC).")
    note: str = strawberry.field(description="The note given with the change (empty when none).")
    record: strawberry.Private[ChangeRecord]

    @strawberry.field(
        description="Who: 'customer', 'staff' or 'system' for the buyer; the staff member or "
        "customer id (e.g. 'staff:7') for order and after-sales staff."
    )
    def actor(self, info: Info) -> str:
        return shown_actor(info.context.viewer, self.record.actor)


@strawberry.type(
    description=(
        "A buyer's request to return, be refunded for or exchange units of a "
        "paid order. The order's owner and MANAGE_AFTER_SALES staff see it."
    )
)
class AfterSalesRequest(Node):
    kind: AfterSalesKindRecord = strawberry.field(description="Return, refund only or exchange.")
    status: AfterSalesStatusRecord = strawberry.field(
        description=(
            "Where the request stands: OPEN, then APPROVED or REJECTED, then COMPLETED "
            "(a large refund is AWAITING_SECOND_APPROVAL between OPEN and APPROVED)."
        )
    )
    reason: str = strawberry.field(description="Why the buyer asked, in their words.")
    created_at: datetime = strawberry.field(description="When the buyer asked (UTC).")
    updated_at: datetime = strawberry.field(description="When its status last changed (UTC).")
    resolution_note: str | None = strawberry.field(
        description="Staff's note when approving or rejecting; null while OPEN."
    )
    record: strawberry.Private[RequestRecord]

    @classmethod
    def from_record(cls, record: RequestRecord) -> AfterSalesRequest:
        return cls(
            id=encode_id("AfterSalesRequest", record.id),
            kind=record.kind,
            status=record.status,
            reason=record.reason,
            created_at=record.created_at,
            updated_at=record.updated_at,
            resolution_note=record.resolution_note,
            record=record,
        )

    async def _currency(self, info: Info) -> str:
        order = await info.context.loaders.orders.order.load(self.record.order_id)
        return order.currency if order else info.context.settings.currency

    async def _lines(self, info: Info) -> dict[int, OrderLine]:
        currency = await self._currency(info)
        lines = await info.context.loaders.orders.order_lines.load(self.record.order_id)
        return {line.id: OrderLine.from_record(line, currency) for line in lines}

    @strawberry.field(description="The order the units were bought in.")
    async def order(self, info: Info) -> Order:
        record = await info.context.loaders.orders.order.load(self.record.order_id)
        if record is None:
            raise RuntimeError(f"after-sales request {self.record.id} has no order")
        return Order.from_record(record)

    @strawberry.field(description="The order lines it is about.")
    async def lines(self, info: Info) -> list[OrderLine]:
        lines = await self._lines(info)
        return [lines[i.order_line_id] for i in self.record.lines if i.order_line_id in lines]

    @strawberry.field(description="Each line with its units and their refund.")
    async def items(self, info: Info) -> list[AfterSalesItem]:
        lines = await self._lines(info)
        currency = await self._currency(info)
        return [
            AfterSalesItem(
                line=lines[i.order_line_id],
                quantity=i.quantity,
                refund_amount=Money.of(i.refund_amount, currency),
            )
            for i in self.record.lines
            if i.order_line_id in lines
        ]

    @strawberry.field(
        description="What the buyer paid for the units (plus shipping when the whole order "
        "goes back); null for an exchange."
    )
    async def refund_amount(self, info: Info) -> Money | None:
        if self.record.refund_amount is None:
            return None
        return Money.of(self.record.refund_amount, await self._currency(info))

    @strawberry.field(
        description="Still OPEN (or AWAITING_SECOND_APPROVAL) longer than the shop's "
        "after-sales deadline (GATEWAY_AFTER_SALES_OVERDUE_HOURS)."
    )
    def overdue(self, info: Info) -> bool:
        ctx = info.context
        limit = timedelta(hours=ctx.settings.after_sales_overdue_hours)
        return self.record.status in _UNDECIDED and ctx.now - self.record.created_at > limit

    @strawberry.field(description="Every move, oldest first: who (staff only), when, why.")
    async def status_history(self, info: Info) -> list[AfterSalesStatusChange]:
        changes = await info.context.loaders.orders.after_sales_history.load(self.record.id)
        return [
            AfterSalesStatusChange(
                from_status=c.from_status, to_status=c.to_status, at=c.at, note=c.note, record=c
            )
            for c in changes
        ]


@strawberry.type(description="One after-sales request and its cursor.")
class AfterSalesRequestEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` to get the requests after this one."
    )
    node: AfterSalesRequest = strawberry.field(description="The request.")


@strawberry.type(description="A page of after-sales requests (Relay connection).")
class AfterSalesRequestConnection:
    edges: list[AfterSalesRequestEdge] = strawberry.field(
        description="The requests on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many requests match, across all pages.")

    @classmethod
    def from_page(cls, page: AfterSalesPage, *, after: str | None) -> AfterSalesRequestConnection:
        return cls(
            edges=[
                AfterSalesRequestEdge(cursor=cursor, node=AfterSalesRequest.from_record(r))
                for r, cursor in zip(page.requests, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
            total_count=page.total_count,
        )


@strawberry.input(description="Units of one line of the order to return, refund or exchange.")
class AfterSalesLineInput:
    order_line_id: strawberry.ID = strawberry.field(
        description="The order line's id (OrderLine.id)."
    )
    quantity: int = strawberry.field(
        description=("How many units (at least 1, at most those bought and not already requested).")
    )


@strawberry.input(description="What the buyer asks for, on which order's lines, and why.")
class AfterSalesRequestInput:
    order_id: strawberry.ID = strawberry.field(
        description="The order's id (Order.id); it must be the buyer's own and paid."
    )
    kind: AfterSalesKindRecord = strawberry.field(description="Return, refund only or exchange.")
    lines: list[AfterSalesLineInput] = strawberry.field(
        description="The units asked about, by order line (at least one)."
    )
    reason: str = strawberry.field(description="Why, in the buyer's words (not empty).")


@strawberry.type(
    description="The after-sales request as it stands after the mutation, or userErrors."
)
class AfterSalesPayload:
    request: AfterSalesRequest | None = strawberry.field(
        default=None, description="The request; null when userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done: AFTER_SALES_REQUEST_NOT_FOUND, "
            "ORDER_NOT_FOUND, INVALID_INPUT, INVALID_QUANTITY, "
            "INVALID_STATUS_TRANSITION, LOGIN_REQUIRED, IDEMPOTENCY_KEY_REUSED."
        ),
    )
