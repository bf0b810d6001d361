"""Which move an approval makes (gateway/aftersales/four_eyes.py): a refund above the
threshold takes two steps, the second by someone else; the rest one step, as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.aftersales.four_eyes import AWAITING, OPEN, REJECTION, approval
from sources.orders.records import AfterSalesKind, AfterSalesStatus

from .factories import request

ABOVE = Decimal("2000.00")


@pytest.mark.parametrize("kind", [AfterSalesKind.RETURN, AfterSalesKind.REFUND_ONLY])
def test_a_refund_above_the_threshold_is_approved_in_two_steps_by_two_people(
    kind: AfterSalesKind,
) -> None:
    first = approval(request(1, kind, [(1, 1, "2000.01")]), ABOVE)
    assert (first.to, first.allowed_from, first.distinct_actor) == (AWAITING, (OPEN,), False)
    second = approval(request(1, kind, [(1, 1, "2000.01")], status=AWAITING), ABOVE)
    assert (second.to, second.allowed_from, second.distinct_actor) == (
        AfterSalesStatus.APPROVED,
        (AWAITING,),
        True,
    )


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (AfterSalesKind.REFUND_ONLY, "2000.00"),  # at the threshold: one approval
        (AfterSalesKind.RETURN, "0.00"),
        (AfterSalesKind.EXCHANGE, "9999.00"),  # an exchange refunds nothing
    ],
)
def test_anything_else_is_approved_at_once(kind: AfterSalesKind, amount: str) -> None:
    move = approval(request(1, kind, [(1, 1, amount)]), ABOVE)
    assert move.to is AfterSalesStatus.APPROVED
    assert not move.distinct_actor


def test_a_rejection_is_one_step_from_either_undecided_status() -> None:
    assert REJECTION.to is AfterSalesStatus.REJECTED
    assert set(REJECTION.allowed_from) == {OPEN, AWAITING}
