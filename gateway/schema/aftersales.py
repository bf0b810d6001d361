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
from .errors import UserError
from .node import Node, encode_id
from .orders import Order, OrderLine, shown_actor

strawberry.enum(AfterSalesKindRecord, name="AfterSalesKind")
strawberry.enum(AfterSalesStatusRecord, name="AfterSalesStatus")

STAFF = (Permission.MANAGE_AFTER_SALES, Permission.MANAGE_ORDERS)


def may_see_request(viewer: Viewer, record: RequestRecord) -> bool:
    """The buyer who asked, or after-sales and order staff; anyone else reads not found."""
    return viewer.customer_id == record.customer_id or any(viewer.has(p) for p in STAFF)


@strawberry.type
class AfterSalesItem:
    line: OrderLine
    quantity: int = strawberry.field(description="Units of the line in this request.")
    refund_amount: Money = strawberry.field(
        description="What the buyer paid for these units (zero for an exchange)."
    )


@strawberry.type
class AfterSalesStatusChange:
    from_status: AfterSalesStatusRecord | None
    to_status: AfterSalesStatusRecord
    at: datetime
    note: str
    record: strawberry.Private[ChangeRecord]

    @strawberry.field(
        description="Who: 'customer', 'staff' or 'system' for the buyer; the staff member or "
        "customer id (e.g. 'staff:7') for order and after-sales staff."
    )
    def actor(self, info: Info) -> str:
        return shown_actor(info.context.viewer, self.record.actor)


@strawberry.type
class AfterSalesRequest(Node):
    kind: AfterSalesKindRecord
    status: AfterSalesStatusRecord
    reason: str
    created_at: datetime
    updated_at: datetime
    resolution_note: str | None
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

    @strawberry.field
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
        description="Still OPEN longer than the shop's after-sales deadline "
        "(GATEWAY_AFTER_SALES_OVERDUE_HOURS)."
    )
    def overdue(self, info: Info) -> bool:
        ctx = info.context
        limit = timedelta(hours=ctx.settings.after_sales_overdue_hours)
        return (
            self.record.status is AfterSalesStatusRecord.OPEN
            and ctx.now - self.record.created_at > limit
        )

    @strawberry.field(description="Every move, oldest first: who (staff only), when, why.")
    async def status_history(self, info: Info) -> list[AfterSalesStatusChange]:
        changes = await info.context.loaders.orders.after_sales_history.load(self.record.id)
        return [
            AfterSalesStatusChange(
                from_status=c.from_status, to_status=c.to_status, at=c.at, note=c.note, record=c
            )
            for c in changes
        ]


@strawberry.type
class AfterSalesRequestEdge:
    cursor: str
    node: AfterSalesRequest


@strawberry.type
class AfterSalesRequestConnection:
    edges: list[AfterSalesRequestEdge]
    page_info: PageInfo
    total_count: int

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


@strawberry.input
class AfterSalesLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input
class AfterSalesRequestInput:
    order_id: strawberry.ID
    kind: AfterSalesKindRecord
    lines: list[AfterSalesLineInput]
    reason: str


@strawberry.type
class AfterSalesPayload:
    request: AfterSalesRequest | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
