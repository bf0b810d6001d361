"""What a buyer gets back: exactly what they paid for the units in question, to the cent.

Each order line's total (unit price times quantity, minus the discounts allocated to it at
checkout) is spread over its units by largest remainder, so the units of one line never
differ by more than a cent and always add up to the line total. A request for ``k`` more
units of a line refunds ``shares(first r + k units) - what was already refunded on it``:
however a line is returned (one unit at a time, two partial returns, a rejected request in
between), the refunds of all its units sum to the line total exactly. Shipping is refunded
with the request that makes the whole order refunded. Never from today's price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sources.common.money import CENT, quantize
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesLine,
    AfterSalesRequest,
    AfterSalesStatus,
    Order,
    OrderLine,
)

ZERO = Decimal("0.00")
REFUNDING_KINDS = frozenset({AfterSalesKind.RETURN, AfterSalesKind.REFUND_ONLY})
# A REJECTED request gives its units back; every other status keeps them.
LIVE_STATUSES = frozenset(
    {
        AfterSalesStatus.OPEN,
        AfterSalesStatus.AWAITING_SECOND_APPROVAL,
        AfterSalesStatus.APPROVED,
        AfterSalesStatus.COMPLETED,
    }
)


def unit_shares(total: Decimal, quantity: int) -> list[Decimal]:
    """``total`` split over ``quantity`` units in cents; the leftover cents go to the first
    units (all remainders are equal, so this is the largest-remainder split)."""
    if quantity <= 0:
        raise ValueError("a line has at least one unit")
    cents = int(quantize(total) / CENT)
    base, extra = divmod(cents, quantity)
    return [Decimal(base + (1 if i < extra else 0)) * CENT for i in range(quantity)]


def first_units(total: Decimal, quantity: int, units: int) -> Decimal:
    """What the first ``units`` units of a line cost together."""
    if not 0 <= units <= quantity:
        raise ValueError(f"{units} units of a line of {quantity}")
    return sum(unit_shares(total, quantity)[:units], ZERO)


@dataclass(frozen=True, slots=True)
class LineUsage:
    """Where a line stands in the order's live after-sales requests."""

    requested: int  # units in live requests of any kind
    refund_units: int  # units in live RETURN / REFUND_ONLY requests
    refunded: Decimal  # what those requests refund on this line


def is_live(request: AfterSalesRequest) -> bool:
    return request.status in LIVE_STATUSES


def line_usage(requests: Iterable[AfterSalesRequest]) -> dict[int, LineUsage]:
    requested: dict[int, int] = {}
    refund_units: dict[int, int] = {}
    refunded: dict[int, Decimal] = {}
    for request in requests:
        if not is_live(request):
            continue
        for line in request.lines:
            lid = line.order_line_id
            requested[lid] = requested.get(lid, 0) + line.quantity
            if request.kind in REFUNDING_KINDS:
                refund_units[lid] = refund_units.get(lid, 0) + line.quantity
                refunded[lid] = refunded.get(lid, ZERO) + line.refund_amount
    return {
        lid: LineUsage(requested[lid], refund_units.get(lid, 0), refunded.get(lid, ZERO))
        for lid in requested
    }


def shipping_refund(request: AfterSalesRequest) -> Decimal:
    """The part of a request's refund that is not any line's: its shipping."""
    if request.refund_amount is None:
        return ZERO
    return request.refund_amount - sum((line.refund_amount for line in request.lines), ZERO)


@dataclass(frozen=True, slots=True)
class RefundQuote:
    lines: tuple[AfterSalesLine, ...]
    refund_amount: Decimal | None  # None for an exchange
    includes_shipping: bool


def quote_refund(
    order: Order,
    lines: Sequence[OrderLine],
    existing: Iterable[AfterSalesRequest],
    kind: AfterSalesKind,
    wanted: Mapping[int, int],
) -> RefundQuote:
    """The refund for ``wanted`` (order line id -> units) on top of the order's existing
    requests. The caller has checked that every line belongs to the order and that the
    units are still free; this only does the arithmetic."""
    existing = list(existing)
    usage = line_usage(existing)
    by_id = {line.id: line for line in lines}
    if kind not in REFUNDING_KINDS:
        quoted = tuple(AfterSalesLine(lid, qty, ZERO) for lid, qty in sorted(wanted.items()))
        return RefundQuote(quoted, None, False)
    refunds: list[AfterSalesLine] = []
    for lid, qty in sorted(wanted.items()):
        line = by_id[lid]
        used = usage.get(lid, LineUsage(0, 0, ZERO))
        amount = first_units(line.total, line.quantity, used.refund_units + qty) - used.refunded
        refunds.append(AfterSalesLine(lid, qty, max(amount, ZERO)))
    whole_order = all(
        usage.get(line.id, LineUsage(0, 0, ZERO)).refund_units + wanted.get(line.id, 0)
        == line.quantity
        for line in lines
    )
    shipping_done = any(is_live(r) and shipping_refund(r) > 0 for r in existing)
    with_shipping = whole_order and not shipping_done and order.shipping_total > 0
    total = sum((r.refund_amount for r in refunds), ZERO)
    if with_shipping:
        total += order.shipping_total
    return RefundQuote(tuple(refunds), quantize(total), with_shipping)
