"""How a refund is spread over the payments that brought the money in: a presale's balance
first, then its deposit, each never past what is left of it, so partial refunds over a
deposit and a balance add up exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.payments.refunding import PaidPart, split_refund
from sources.orders.records import PaymentStage

DEPOSIT = PaidPart(PaymentStage.DEPOSIT, Decimal("100.00"), "alipay", None)
BALANCE = PaidPart(PaymentStage.BALANCE, Decimal("399.00"), "wechat", None)


def shares(
    amount: str, refunded: dict[PaymentStage, Decimal] | None = None
) -> list[tuple[str, str]]:
    split = split_refund(Decimal(amount), [BALANCE, DEPOSIT], refunded or {})
    return [(part.stage.value, str(share)) for part, share in split]


def test_a_refund_comes_out_of_the_balance_first() -> None:
    assert shares("50.00") == [("BALANCE", "50.00")]


def test_a_refund_larger_than_the_balance_reaches_the_deposit() -> None:
    assert shares("450.00") == [("BALANCE", "399.00"), ("DEPOSIT", "51.00")]


def test_a_second_partial_refund_takes_only_what_is_left() -> None:
    refunded = {PaymentStage.BALANCE: Decimal("350.00")}
    assert shares("100.00", refunded) == [("BALANCE", "49.00"), ("DEPOSIT", "51.00")]


def test_never_more_than_was_paid() -> None:
    assert shares("1000.00") == [("BALANCE", "399.00"), ("DEPOSIT", "100.00")]


@given(st.lists(st.integers(min_value=1, max_value=60_000), min_size=1, max_size=8))
def test_refunds_in_any_pieces_add_up_and_stay_within_each_payment(pieces: list[int]) -> None:
    refunded: dict[PaymentStage, Decimal] = {}
    given_back = Decimal("0.00")
    for cents in pieces:
        for part, share in split_refund(Decimal(cents) / 100, [BALANCE, DEPOSIT], refunded):
            refunded[part.stage] = refunded.get(part.stage, Decimal("0.00")) + share
            given_back += share
    assert refunded.get(PaymentStage.BALANCE, Decimal(0)) <= BALANCE.amount
    assert refunded.get(PaymentStage.DEPOSIT, Decimal(0)) <= DEPOSIT.amount
    assert given_back == min(sum(Decimal(c) / 100 for c in pieces), Decimal("499.00"))
