"""After-sales: the buyer's afterSalesRequestCreate, staff's afterSalesRequestResolve and
afterSalesRequestComplete (MANAGE_AFTER_SALES), the staff listing and the settlement."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry

from sources.common.pagination import InvalidCursor
from sources.orders.records import AfterSalesRequest as RequestRecord
from sources.orders.records import AfterSalesStatus

from ..aftersales.requests import WantedLine, create_request
from ..aftersales.resolve import ResolveOutcome, complete_request, resolve_request
from ..aftersales.settlement import load_settlement
from ..auth import ViewerKind
from ..errors import Problem, UserErrorCode
from ..schema.aftersales import (
    AfterSalesPayload,
    AfterSalesRequest,
    AfterSalesRequestConnection,
    AfterSalesRequestInput,
    may_see_request,
)
from ..schema.audit import AuditEntry
from ..schema.common import BadUserInput, Info, page_size
from ..schema.errors import user_errors
from ..schema.settlement import Settlement
from .shipments import actor, pk

MAX_SETTLEMENT_PERIOD = timedelta(days=366)


def _refused(code: UserErrorCode, message: str, *field: str) -> AfterSalesPayload:
    return AfterSalesPayload(user_errors=user_errors([Problem(code, message, field or None)]))


def _forget(info: Info, request: RequestRecord) -> None:
    loaders = info.context.loaders.orders
    loaders.after_sales.clear(request.order_id)
    loaders.after_sales_history.clear(request.id)
    loaders.after_sales_request.clear(request.id)
    loaders.after_sales_request.prime(request.id, request)


async def after_sales_request_create(
    info: Info,
    input: Annotated[
        AfterSalesRequestInput,
        strawberry.argument(description="The order, lines, kind and reason."),
    ],
) -> AfterSalesPayload:
    """The order's owner only; anyone else reads the order as not found."""
    ctx = info.context
    viewer = ctx.viewer
    if viewer.kind is ViewerKind.ANONYMOUS:
        return _refused(UserErrorCode.LOGIN_REQUIRED, "sign in to ask for after-sales")
    order_pk = pk(input.order_id, "Order")
    order = await ctx.loaders.orders.order.load(order_pk) if order_pk is not None else None
    if order is None or viewer.customer_id != order.customer_id:
        return _refused(UserErrorCode.ORDER_NOT_FOUND, "no such order", "input", "orderId")
    outcome = await create_request(
        ctx.sources,
        order,
        kind=input.kind,
        wanted=[
            WantedLine(str(line.order_line_id), pk(line.order_line_id, "OrderLine"), line.quantity)
            for line in input.lines
        ],
        reason=input.reason,
        actor=actor(info),
        now=ctx.now,
    )
    if outcome.request is not None:
        _forget(info, outcome.request)
    return AfterSalesPayload(
        request=AfterSalesRequest.from_record(outcome.request) if outcome.request else None,
        user_errors=user_errors(outcome.problems),
    )


def _payload(info: Info, outcome: ResolveOutcome) -> AfterSalesPayload:
    if outcome.request is not None:
        _forget(info, outcome.request)
    return AfterSalesPayload(
        request=AfterSalesRequest.from_record(outcome.request) if outcome.request else None,
        user_errors=user_errors(outcome.problems),
    )


async def after_sales_request_resolve(
    info: Info,
    request_id: Annotated[
        strawberry.ID, strawberry.argument(description="The request's id (AfterSalesRequest.id).")
    ],
    approve: Annotated[bool, strawberry.argument(description="True approves, false rejects.")],
    note: Annotated[str, strawberry.argument(description="Staff's note, shown to the buyer.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it replays the answer."
        ),
    ] = None,
) -> AfterSalesPayload:
    ctx = info.context
    outcome = await resolve_request(
        ctx.sources,
        pk(request_id, "AfterSalesRequest"),
        approve=approve,
        note=note,
        idempotency_key=idempotency_key,
        actor=actor(info),
        now=ctx.now,
        second_approval_above=ctx.settings.refund_second_approval_above,
    )
    return _payload(info, outcome)


async def after_sales_request_complete(
    info: Info,
    request_id: Annotated[
        strawberry.ID, strawberry.argument(description="The request's id (AfterSalesRequest.id).")
    ],
    note: Annotated[
        str, strawberry.argument(description="Staff's note, kept in the request's history.")
    ] = "",
) -> AfterSalesPayload:
    ctx = info.context
    outcome = await complete_request(
        ctx.sources,
        pk(request_id, "AfterSalesRequest"),
        note=note,
        actor=actor(info),
        now=ctx.now,
        cashier=ctx.cashier,
    )
    return _payload(info, outcome)


async def after_sales_requests(
    info: Info,
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
    status: Annotated[
        AfterSalesStatus | None,
        strawberry.argument(
            description="Only requests in this status (OPEN: the queue to work through)."
        ),
    ] = None,
) -> AfterSalesRequestConnection:
    size = page_size(info, first)
    try:
        page = await info.context.sources.orders.list_after_sales(
            first=size, after=after, status=status
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    return AfterSalesRequestConnection.from_page(page, after=after)


async def after_sales_audit_log(
    info: Info,
    request_id: Annotated[
        strawberry.ID, strawberry.argument(description="The request's id (AfterSalesRequest.id).")
    ],
    first: Annotated[
        int,
        strawberry.argument(
            description="How many entries, newest first (at most GATEWAY_MAX_PAGE_SIZE)."
        ),
    ] = 20,
) -> list[AuditEntry] | None:
    key = pk(request_id, "AfterSalesRequest")
    if key is None:
        return []
    entries = await info.context.loaders.orders.after_sales_audit.load(
        (key, page_size(info, first))
    )
    return [AuditEntry.from_record(e) for e in entries]


async def after_sales_node(info: Info, key: int) -> AfterSalesRequest | None:
    """For ``node(id:)``: the buyer who asked, or after-sales and order staff."""
    record = await info.context.loaders.orders.after_sales_request.load(key)
    if record is None or not may_see_request(info.context.viewer, record):
        return None
    return AfterSalesRequest.from_record(record)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def settlement(
    info: Info,
    created_from: Annotated[
        datetime,
        strawberry.argument(
            name="from",
            description="The period's start, included (DateTime, ISO 8601 with a time zone).",
        ),
    ],
    created_to: Annotated[
        datetime,
        strawberry.argument(
            name="to", description="The period's end, excluded; at most 366 days after `from`."
        ),
    ],
) -> Settlement | None:
    """Orders placed in [from, to) that were paid (VIEW_FINANCE)."""
    start, end = _utc(created_from), _utc(created_to)
    if not start < end:
        raise BadUserInput("from must be before to")
    if end - start > MAX_SETTLEMENT_PERIOD:
        raise BadUserInput("a settlement covers at most 366 days")
    ctx = info.context
    record = await load_settlement(
        ctx.sources, created_from=start, created_to=end, currency=ctx.settings.currency
    )
    for order in record.order_records.values():
        ctx.loaders.orders.order.prime(order.id, order)
    return Settlement.from_record(record)
