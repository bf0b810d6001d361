"""Refunds are what the buyer paid for the units, to the cent: a line's total spread over
its units by largest remainder, partial returns that always add up to the line total, and
shipping with the request that makes the whole order refunded."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.aftersales.refunds import first_units, quote_refund, unit_shares
from sources.orders.records import AfterSalesKind, AfterSalesStatus

from .factories import line, order, request

CENT = Decimal("0.01")


def test_a_line_total_spreads_over_its_units_to_the_cent() -> None:
    assert unit_shares(Decimal("10.00"), 3) == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert unit_shares(Decimal("0.02"), 3) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]
    assert unit_shares(Decimal("2009.56"), 3) == [
        Decimal("669.86"),
        Decimal("669.85"),
        Decimal("669.85"),
    ]


@given(
    cents=st.integers(min_value=0, max_value=10_000_000),
    quantity=st.integers(min_value=1, max_value=50),
)
def test_units_never_differ_by_more_than_a_cent_and_add_up(cents: int, quantity: int) -> None:
    total = Decimal(cents) * CENT
    shares = unit_shares(total, quantity)
    assert sum(shares, Decimal(0)) == total
    assert max(shares) - min(shares) <= CENT
    assert all(s == s.quantize(CENT) for s in shares)


def test_two_partial_returns_of_one_line_add_up_to_the_line_total() -> None:
    placed = order(total="2009.56")
    lines = [line(1, quantity=3, total="2009.56")]
    first = quote_refund(placed, lines, [], AfterSalesKind.RETURN, {1: 1})
    asked = request(1, AfterSalesKind.RETURN, [(1, 1, str(first.lines[0].refund_amount))])
    second = quote_refund(placed, lines, [asked], AfterSalesKind.RETURN, {1: 2})
    assert first.refund_amount == Decimal("669.86")
    assert second.refund_amount == Decimal("1339.70")
    assert first.refund_amount + second.refund_amount == Decimal("2009.56")


def test_a_rejected_request_gives_its_units_back_without_losing_a_cent() -> None:
    placed = order(total="10.00")
    lines = [line(1, quantity=3, total="10.00")]
    a = request(1, AfterSalesKind.REFUND_ONLY, [(1, 1, "3.34")], status=AfterSalesStatus.REJECTED)
    b = request(2, AfterSalesKind.REFUND_ONLY, [(1, 1, "3.33")], status=AfterSalesStatus.APPROVED)
    c = quote_refund(placed, lines, [a, b], AfterSalesKind.RETURN, {1: 2})
    assert c.refund_amount == Decimal("6.67")  # 10.00 - 3.33: every cent back, none twice


@given(
    cents=st.integers(min_value=1, max_value=1_000_000),
    parts=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6),
)
def test_however_a_line_is_returned_its_refunds_sum_to_its_total(
    cents: int, parts: list[int]
) -> None:
    quantity = sum(parts)
    total = Decimal(cents) * CENT
    placed = order(total=str(total))
    lines = [line(1, quantity=quantity, total=str(total))]
    done: list = []
    for i, units in enumerate(parts):
        quote = quote_refund(placed, lines, done, AfterSalesKind.RETURN, {1: units})
        done.append(request(i + 1, AfterSalesKind.RETURN, [(1, units, str(quote.refund_amount))]))
    assert sum((r.refund_amount for r in done), Decimal(0)) == total


def test_shipping_goes_back_with_the_request_that_returns_the_whole_order() -> None:
    placed = order(total="90.00", shipping="12.00")
    lines = [line(1, quantity=1, total="40.00"), line(2, quantity=2, total="50.00")]
    part = quote_refund(placed, lines, [], AfterSalesKind.RETURN, {2: 2})
    assert (part.refund_amount, part.includes_shipping) == (Decimal("50.00"), False)
    asked = request(1, AfterSalesKind.RETURN, [(2, 2, "50.00")])
    rest = quote_refund(placed, lines, [asked], AfterSalesKind.REFUND_ONLY, {1: 1})
    assert (rest.refund_amount, rest.includes_shipping) == (Decimal("52.00"), True)
    whole = quote_refund(placed, lines, [], AfterSalesKind.RETURN, {1: 1, 2: 2})
    assert whole.refund_amount == Decimal("102.00")


def test_an_exchange_refunds_nothing_and_blocks_the_shipping_refund() -> None:
    placed = order(total="90.00", shipping="12.00")
    lines = [line(1, quantity=1, total="40.00"), line(2, quantity=2, total="50.00")]
    swap = quote_refund(placed, lines, [], AfterSalesKind.EXCHANGE, {1: 1})
    assert swap.refund_amount is None
    assert [a.refund_amount for a in swap.lines] == [Decimal(0)]
    swapped = request(1, AfterSalesKind.EXCHANGE, [(1, 1, "0")])
    rest = quote_refund(placed, lines, [swapped], AfterSalesKind.RETURN, {2: 2})
    assert (rest.refund_amount, rest.includes_shipping) == (Decimal("50.00"), False)


def test_first_units_cost_what_their_shares_add_up_to() -> None:
    assert first_units(Decimal("10.00"), 3, 0) == Decimal(0)
    assert first_units(Decimal("10.00"), 3, 2) == Decimal("6.67")
    assert first_units(Decimal("10.00"), 3, 3) == Decimal("10.00")
