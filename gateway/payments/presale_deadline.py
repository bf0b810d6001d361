"""A presale's balance deadline: the balance falls due when the presale ends and must be
paid within ORDER_BALANCE_TTL of it; past that the sweeper cancels the order and the shop
keeps the deposit (定金不退, the terms the product page shows as Presale.balanceDueAt).

One rule, used by the product page, by paying (refused past the deadline with
PRESALE_BALANCE_OVERDUE) and by the sweeper (expiry.py), so none of them can disagree."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import Problem, UserErrorCode


def balance_due_at(presale_ends_at: datetime, balance_ttl: timedelta) -> datetime:
    """When the balance of an order of this presale must be paid by."""
    return presale_ends_at + balance_ttl


def is_overdue(presale_ends_at: datetime | None, balance_ttl: timedelta, now: datetime) -> bool:
    return presale_ends_at is not None and now >= balance_due_at(presale_ends_at, balance_ttl)


def overdue(presale_ends_at: datetime, balance_ttl: timedelta) -> Problem:
    due = balance_due_at(presale_ends_at, balance_ttl)
    return Problem(
        UserErrorCode.PRESALE_BALANCE_OVERDUE,
        f"the balance was due by {due.isoformat()}; the order is cancelled and the deposit "
        "is kept, as the presale's terms say",
        ("orderId",),
    )
