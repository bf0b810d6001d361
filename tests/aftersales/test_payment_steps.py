"""What paying an order records: in full at once, or a presale's deposit then its balance."""

from __future__ import annotations

from decimal import Decimal

from gateway.aftersales.payment import next_payment
from sources.orders.records import OrderStatus, Payment, PaymentStage

from .factories import NOW, order


def _paid(stage: PaymentStage, amount: str) -> Payment:
    return Payment(1, 1, stage, Decimal(amount), NOW, "staff:1")


def test_an_order_is_paid_in_full_once() -> None:
    placed = order(status=OrderStatus.PENDING_PAYMENT, total="120.00", shipping="10.00")
    step = next_payment(placed, [])
    assert step is not None
    assert (step.stage, step.amount, step.to) == (
        PaymentStage.FULL,
        Decimal("130.00"),
        OrderStatus.PAID,
    )
    assert next_payment(placed, [_paid(PaymentStage.FULL, "130.00")]) is None


def test_a_presale_order_pays_its_deposit_then_its_balance() -> None:
    placed = order(status=OrderStatus.PENDING_PAYMENT, total="500.00", deposit_due="50.00")
    deposit = next_payment(placed, [])
    assert deposit is not None
    assert (deposit.stage, deposit.amount, deposit.to) == (
        PaymentStage.DEPOSIT,
        Decimal("50.00"),
        OrderStatus.PENDING_PAYMENT,
    )
    balance = next_payment(placed, [_paid(PaymentStage.DEPOSIT, "50.00")])
    assert balance is not None
    assert (balance.stage, balance.amount, balance.to) == (
        PaymentStage.BALANCE,
        Decimal("450.00"),
        OrderStatus.PAID,
    )
    both = [_paid(PaymentStage.DEPOSIT, "50.00"), _paid(PaymentStage.BALANCE, "450.00")]
    assert next_payment(placed, both) is None


def test_nothing_is_due_on_an_order_that_is_not_awaiting_payment() -> None:
    for status in OrderStatus:
        if status is not OrderStatus.PENDING_PAYMENT:
            assert next_payment(order(status=status), []) is None
