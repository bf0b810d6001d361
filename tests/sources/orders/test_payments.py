"""Payments in the orders source, on SQLite and PostgreSQL: recorded once per stage with the
status move they cause (a history row each), a presale order paid as deposit then balance,
and nothing written when the order is not waiting for that payment.

The factories at the top (``line``, ``place``, ``pay``) build orders with chosen lines for
the shipment, after-sales and ledger tests too."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from sources.orders import models as m
from sources.orders.records import (
    LineDiscount,
    NewOrderLine,
    Order,
    OrderStatus,
    PaymentStage,
    StatusChange,
)
from sources.orders.store import OrdersStore

from .conftest import NOW, STALE_AFTER, count_rows, new_order, place_order

PAID_AT = NOW + timedelta(minutes=10)


def line(
    sku_id: int,
    quantity: int = 1,
    *,
    unit: str = "25.00",
    discounts: tuple[tuple[str, str], ...] = (),
    fulfillment: str = "WAREHOUSE",
    supplier_id: int | None = None,
    deposit: str | None = None,
) -> NewOrderLine:
    """An order line; ``discounts`` are (promotion name, amount) shares of this line, each
    promotion with an id of its own (stable across lines and orders)."""
    subtotal = Decimal(unit) * quantity
    shares = tuple(
        LineDiscount(zlib.crc32(name.encode()) % 10_000, name, Decimal(amount))
        for name, amount in discounts
    )
    return NewOrderLine(
        sku_id=sku_id,
        product_id=sku_id * 10,
        product_name=f"Product {sku_id}",
        sku_name=f"SKU {sku_id}",
        quantity=quantity,
        unit_price=Decimal(unit),
        subtotal=subtotal,
        discounts=shares,
        total=subtotal - sum((s.amount for s in shares), Decimal("0.00")),
        deposit=Decimal(deposit) if deposit else None,
        fulfillment=fulfillment,
        supplier_id=supplier_id,
    )


async def place(
    store: OrdersStore,
    *lines: NewOrderLine,
    customer_id: int = 1,
    now: datetime = NOW,
    deposit_due: str | None = None,
) -> Order:
    """An order with these lines (shipping 10.00), placed as checkout places it."""
    cart = await store.create_cart(customer_id=customer_id, now=now)
    key = f"key-{cart.id}"
    attempt = await store.checkout_attempt(
        customer_id=customer_id,
        idempotency_key=key,
        fingerprint=cart.id,
        now=now,
        stale_after=STALE_AFTER,
    )
    placed = new_order(cart, customer_id=customer_id, order_ref=attempt.order_ref, lines=lines)
    if deposit_due is not None:
        placed = replace(placed, deposit_due=Decimal(deposit_due))
    return await store.create_order(
        placed, idempotency_key=key, actor=f"customer:{customer_id}", now=now
    )


async def pay(store: OrdersStore, order: Order, *, now: datetime = PAID_AT) -> Order:
    """Pays the order in full (PENDING_PAYMENT -> PAID)."""
    paid = await store.record_payment(
        order.id,
        stage=PaymentStage.FULL,
        amount=order.total,
        to=OrderStatus.PAID,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="staff:9",
        now=now,
    )
    assert paid is not None
    return paid


async def test_paying_in_full_makes_the_order_paid_and_says_so_in_its_history(
    store: OrdersStore,
) -> None:
    order = await place_order(store, 1)

    paid = await store.record_payment(
        order.id,
        stage=PaymentStage.FULL,
        amount=order.total,
        to=OrderStatus.PAID,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="staff:9",
        now=PAID_AT,
    )

    assert paid is not None
    assert paid.status is OrderStatus.PAID and paid.updated_at == PAID_AT
    assert await store.orders_by_ids([order.id]) == {order.id: paid}
    payments = await store.payments_by_order_ids([order.id, 999])
    assert payments[999] == []
    assert [(p.order_id, p.stage, p.amount, p.at, p.actor) for p in payments[order.id]] == [
        (order.id, PaymentStage.FULL, order.total, PAID_AT, "staff:9")
    ]
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert history[-1] == StatusChange(
        order.id,
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        PAID_AT,
        "staff:9",
        "payment full",
    )


async def test_racing_payment_notices_record_one_payment(store: OrdersStore) -> None:
    order = await place_order(store, 1)

    results = await asyncio.gather(
        *(
            store.record_payment(
                order.id,
                stage=PaymentStage.FULL,
                amount=order.total,
                to=OrderStatus.PAID,
                allowed_from=[OrderStatus.PENDING_PAYMENT, OrderStatus.PAID],
                actor=f"payment-notice:{n}",
                now=PAID_AT,
            )
            for n in range(8)
        )
    )

    assert len([r for r in results if r is not None]) == 1
    assert await count_rows(store, m.Payment) == 1
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, OrderStatus.PENDING_PAYMENT),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID),
    ]


async def test_a_presale_order_is_paid_as_a_deposit_then_the_balance(store: OrdersStore) -> None:
    order = await place(store, line(301, 2, unit="100.00", deposit="20.00"), deposit_due="40.00")
    balance_at = PAID_AT + timedelta(days=7)

    def deposit_notice(n: int) -> asyncio.Future[Order | None]:
        return asyncio.ensure_future(
            store.record_payment(
                order.id,
                stage=PaymentStage.DEPOSIT,
                amount=Decimal("40.00"),
                to=OrderStatus.PENDING_PAYMENT,
                allowed_from=[OrderStatus.PENDING_PAYMENT],
                actor=f"payment-notice:{n}",
                now=PAID_AT,
            )
        )

    deposits = await asyncio.gather(*(deposit_notice(n) for n in range(4)))
    balance = await store.record_payment(
        order.id,
        stage=PaymentStage.BALANCE,
        amount=order.total - Decimal("40.00"),
        to=OrderStatus.PAID,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="payment-notice:balance",
        now=balance_at,
    )
    late_deposit = await deposit_notice(9)

    kept = [d for d in deposits if d is not None]
    assert len(kept) == 1 and kept[0].status is OrderStatus.PENDING_PAYMENT
    assert balance is not None and balance.status is OrderStatus.PAID
    assert late_deposit is None
    payments = (await store.payments_by_order_ids([order.id]))[order.id]
    assert [(p.stage, p.amount, p.at) for p in payments] == [
        (PaymentStage.DEPOSIT, Decimal("40.00"), PAID_AT),
        (PaymentStage.BALANCE, Decimal("170.00"), balance_at),
    ]
    assert sum(p.amount for p in payments) == order.total
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [(c.from_status, c.to_status, c.reason) for c in history] == [
        (None, OrderStatus.PENDING_PAYMENT, "order placed"),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.PENDING_PAYMENT, "payment deposit"),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, "payment balance"),
    ]


async def test_a_payment_for_an_order_not_waiting_for_it_changes_nothing(
    store: OrdersStore,
) -> None:
    order = await place_order(store, 1)
    cancelled = await store.transition_order(
        order.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="customer:1",
        reason="changed my mind",
        now=NOW + timedelta(minutes=1),
    )
    assert cancelled is not None

    refused = [
        await store.record_payment(
            order_id,
            stage=PaymentStage.FULL,
            amount=Decimal("35.00"),
            to=OrderStatus.PAID,
            allowed_from=[OrderStatus.PENDING_PAYMENT],
            actor="staff:9",
            now=PAID_AT,
        )
        for order_id in (order.id, 999)
    ]

    assert refused == [None, None]
    assert await count_rows(store, m.Payment) == 0
    assert await store.orders_by_ids([order.id]) == {order.id: cancelled}
    assert len((await store.status_history_by_order_ids([order.id]))[order.id]) == 2
    with pytest.raises(ValueError, match="negative"):
        await store.record_payment(
            order.id,
            stage=PaymentStage.FULL,
            amount=Decimal("-1.00"),
            to=OrderStatus.PAID,
            allowed_from=[OrderStatus.CANCELLED],
            actor="staff:9",
            now=PAID_AT,
        )


async def test_payments_are_read_for_many_orders_at_once(store: OrdersStore) -> None:
    first, second, unpaid = [await place_order(store, n) for n in (1, 2, 3)]
    await pay(store, second, now=PAID_AT)
    await pay(store, first, now=PAID_AT + timedelta(minutes=1))

    payments = await store.payments_by_order_ids([unpaid.id, first.id, second.id])

    assert list(payments) == [unpaid.id, first.id, second.id]
    assert payments[unpaid.id] == []
    for order in (first, second):
        assert [(p.order_id, p.stage, p.amount) for p in payments[order.id]] == [
            (order.id, PaymentStage.FULL, order.total)
        ]
