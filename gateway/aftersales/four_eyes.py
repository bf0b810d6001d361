"""Four-eyes refunds: a refund above REFUND_SECOND_APPROVAL_ABOVE needs two different staff
members. The first approval moves the request OPEN -> AWAITING_SECOND_APPROVAL; only
someone else moves it on to APPROVED (the orders source checks who, under the request's row
lock, so one person's two approvals never both count, whatever the timing).

Which move an approval makes is decided from the request as read; each move is conditional
on that status, so of two staff approving at once one moves it and the other is refused
(the request never skips a status, and nothing is refunded before APPROVED)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sources.orders.records import AfterSalesRequest, AfterSalesStatus

from .refunds import REFUNDING_KINDS

OPEN = AfterSalesStatus.OPEN
AWAITING = AfterSalesStatus.AWAITING_SECOND_APPROVAL
# Still to be decided by staff: the after-sales queue's work.
UNDECIDED = frozenset({OPEN, AWAITING})


@dataclass(frozen=True, slots=True)
class Move:
    to: AfterSalesStatus
    allowed_from: tuple[AfterSalesStatus, ...]
    distinct_actor: bool = False  # the actor must not be who moved it into its status


REJECTION = Move(AfterSalesStatus.REJECTED, (OPEN, AWAITING))


def needs_second_approval(request: AfterSalesRequest, above: Decimal) -> bool:
    return (
        request.kind in REFUNDING_KINDS
        and request.refund_amount is not None
        and request.refund_amount > above
    )


def approval(request: AfterSalesRequest, above: Decimal) -> Move:
    if not needs_second_approval(request, above):
        # AWAITING too: a request approved once before the shop raised its threshold.
        return Move(AfterSalesStatus.APPROVED, (OPEN, AWAITING))
    if request.status is OPEN:
        return Move(AWAITING, (OPEN,))
    return Move(AfterSalesStatus.APPROVED, (AWAITING,), distinct_actor=True)
