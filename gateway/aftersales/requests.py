"""afterSalesRequestCreate: a buyer asks to return, be refunded for or exchange units of a
paid order. Every problem is collected (not only the first); the refund is quoted from what
was paid (see refunds.py) and the orders source re-checks the free units inside its
transaction, so two requests racing for the last unit cannot both be written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sources.orders.errors import QuantityAlreadyRequested
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesRequest,
    NewAfterSalesRequest,
    Order,
    OrderStatus,
)

from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .refunds import LineUsage, line_usage, quote_refund

MAX_REASON = 1000
MAX_LINES = 100
# After-sales is for orders the buyer has paid for; a cancelled order was refunded whole.
PAID_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.COMPLETED}
)


@dataclass(frozen=True, slots=True)
class WantedLine:
    """One line of the buyer's request: the id as sent (for userErrors), the order line's
    key when the id was readable, and the units."""

    line_ref: str
    order_line_id: int | None
    quantity: int


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    request: AfterSalesRequest | None
    problems: list[Problem]


def _problem(code: UserErrorCode, message: str, *field: str, line: str | None = None) -> Problem:
    return Problem(code, message, field or None, line)


async def create_request(
    sources: Sources,
    order: Order,
    *,
    kind: AfterSalesKind,
    wanted: Sequence[WantedLine],
    reason: str,
    actor: str,
    now: datetime,
) -> RequestOutcome:
    """``order`` is one the viewer owns (the caller checked); nothing is written unless
    every line is acceptable."""
    problems: list[Problem] = []
    if order.status not in PAID_STATUSES:
        problems.append(
            _problem(
                UserErrorCode.INVALID_STATUS_TRANSITION,
                f"an order that is {order.status.value} has no after-sales; only paid orders do",
                "input",
                "orderId",
            )
        )
    if not reason.strip() or len(reason) > MAX_REASON or "\x00" in reason:
        problems.append(
            _problem(
                UserErrorCode.INVALID_INPUT,
                f"a reason of 1 to {MAX_REASON} characters is required",
                "input",
                "reason",
            )
        )
    if not wanted or len(wanted) > MAX_LINES:
        problems.append(
            _problem(
                UserErrorCode.INVALID_INPUT,
                f"name 1 to {MAX_LINES} order lines",
                "input",
                "lines",
            )
        )
    if order.status not in PAID_STATUSES:
        return RequestOutcome(None, problems)

    orders = sources.orders
    lines = (await orders.order_lines_by_order_ids([order.id]))[order.id]
    existing = (await orders.after_sales_by_order_ids([order.id]))[order.id]
    problems += line_problems(
        lines_by_id={line.id: line.quantity for line in lines},
        usage=line_usage(existing),
        wanted=wanted,
    )
    if problems:
        return RequestOutcome(None, problems)

    units = {w.order_line_id: w.quantity for w in wanted if w.order_line_id is not None}
    quote = quote_refund(order, lines, existing, kind, units)
    try:
        request = await orders.create_after_sales_request(
            NewAfterSalesRequest(
                order_id=order.id,
                customer_id=order.customer_id,
                kind=kind,
                reason=reason.strip(),
                lines=quote.lines,
                refund_amount=quote.refund_amount,
            ),
            actor=actor,
            now=now,
        )
    except QuantityAlreadyRequested as refused:  # another request took them meanwhile
        refs = {w.order_line_id: w.line_ref for w in wanted}
        return RequestOutcome(
            None,
            [
                _problem(
                    UserErrorCode.INVALID_INPUT,
                    "these units were requested meanwhile; none are left to request",
                    "input",
                    "lines",
                    line=refs.get(line_id, str(line_id)),
                )
                for line_id in refused.line_ids
            ],
        )
    return RequestOutcome(request, [])


def line_problems(
    *, lines_by_id: dict[int, int], usage: dict[int, LineUsage], wanted: Sequence[WantedLine]
) -> list[Problem]:
    """Each wanted line must be a line of this order, named once, for 1 to the units not
    yet in a live request."""
    problems: list[Problem] = []
    seen: set[int] = set()
    for index, item in enumerate(wanted):
        field = ("input", "lines", str(index))
        if item.order_line_id is None or item.order_line_id not in lines_by_id:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    "not a line of this order",
                    (*field, "orderLineId"),
                    item.line_ref,
                )
            )
            continue
        if item.order_line_id in seen:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    "this line is named twice; give its units once",
                    (*field, "orderLineId"),
                    item.line_ref,
                )
            )
            continue
        seen.add(item.order_line_id)
        used = usage.get(item.order_line_id)
        free = lines_by_id[item.order_line_id] - (used.requested if used else 0)
        if item.quantity <= 0:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_QUANTITY,
                    "the quantity must be a positive number of units",
                    (*field, "quantity"),
                    item.line_ref,
                )
            )
        elif item.quantity > free:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    f"only {free} unit(s) of this line can still be requested"
                    if free
                    else "every unit of this line is already in a request",
                    (*field, "quantity"),
                    item.line_ref,
                )
            )
    return problems
