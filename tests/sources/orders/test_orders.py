"""Orders in the orders source, on SQLite and PostgreSQL: placed in one transaction (all or
nothing, one per cart), read in batches, paged newest first, and moved between statuses
exactly once."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from sources.common.wire_errors import RemoteSourceError
from sources.orders import models as m
from sources.orders.records import (
    AttemptState,
    CartStatus,
    LineDiscount,
    Order,
    OrderStatus,
    StatusChange,
)
from sources.orders.store import CartClosed, CartNotFound, CheckoutAttemptLost, OrdersStore

from .conftest import (
    ADDRESS,
    NOW,
    STALE_AFTER,
    count_rows,
    filled_cart,
    new_order,
    order_line,
    place_order,
)

ORDER_TABLES = (m.Order, m.OrderLine, m.OrderLineDiscount, m.OrderStatusChange)


async def test_placing_an_order_keeps_what_was_bought_and_completes_the_cart(
    store: OrdersStore,
) -> None:
    cart = await filled_cart(store, customer_id=None, skus={101: 2, 102: 1})
    attempt = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )
    lines = (order_line(101, 2, discount="5.00"), order_line(102, 1))
    placed = new_order(cart, customer_id=1, order_ref=attempt.order_ref, lines=lines)

    order = await store.create_order(placed, idempotency_key="k", actor="customer:1", now=NOW)

    assert re.fullmatch(r"SO-20261125-\d{6}", order.number)
    assert order.number.endswith(f"{order.id:06d}")
    assert (order.customer_id, order.cart_id, order.order_ref) == (1, cart.id, attempt.order_ref)
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        Decimal("75.00"),
        Decimal("5.00"),
        Decimal("10.00"),
        Decimal("80.00"),
    )
    assert order.shipping_address == ADDRESS and order.deposit_due is None
    assert order.created_at == order.updated_at == NOW
    assert await store.orders_by_ids([order.id, 999]) == {order.id: order}

    stored = await store.order_lines_by_order_ids([order.id, 999])
    assert stored[999] == []
    assert [(line.sku_id, line.quantity, line.total) for line in stored[order.id]] == [
        (101, 2, Decimal("45.00")),
        (102, 1, Decimal("25.00")),
    ]
    assert stored[order.id][0].discounts == (LineDiscount(7, "Autumn sale", Decimal("5.00")),)
    assert stored[order.id][1].discounts == ()
    assert all(line.order_id == order.id for line in stored[order.id])

    assert await store.status_history_by_order_ids([order.id, 999]) == {
        order.id: [
            StatusChange(
                order.id, None, OrderStatus.PENDING_PAYMENT, NOW, "customer:1", "order placed"
            )
        ],
        999: [],
    }
    completed = (await store.carts_by_ids([cart.id]))[cart.id]
    assert completed.status is CartStatus.COMPLETED
    assert (completed.order_id, completed.customer_id) == (order.id, 1)  # anonymous -> attached
    again = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )
    assert (again.state, again.order_id) == (AttemptState.DONE, order.id)


async def test_an_orders_lines_keep_their_order_and_their_own_discounts(
    store: OrdersStore,
) -> None:
    # One INSERT of all the lines (sources/orders/orders.py): the ids it returns are matched
    # to the lines by their order, so each discount must land on its own line.
    skus = {105: 1, 101: 2, 104: 1, 102: 3, 103: 1}
    cart = await filled_cart(store, customer_id=1, skus=skus)
    attempt = await store.checkout_attempt(
        customer_id=1, idempotency_key="lines", fingerprint=cart.id, now=NOW,
        stale_after=STALE_AFTER,
    )  # fmt: skip
    discounts = {101: "5.00", 102: "1.25", 103: "0.50"}
    lines = tuple(
        order_line(sku, qty, discount=discounts.get(sku, "0.00")) for sku, qty in skus.items()
    )
    placed = new_order(cart, customer_id=1, order_ref=attempt.order_ref, lines=lines)

    order = await store.create_order(placed, idempotency_key="lines", actor="customer:1", now=NOW)

    stored = (await store.order_lines_by_order_ids([order.id]))[order.id]
    assert [line.id for line in stored] == sorted(line.id for line in stored)
    assert [(line.sku_id, line.quantity, line.product_name) for line in stored] == [
        (sku, qty, f"Product {sku}") for sku, qty in skus.items()
    ]
    assert {line.sku_id: line.discounts for line in stored} == {
        sku: (LineDiscount(7, "Autumn sale", Decimal(discounts[sku])),) if sku in discounts else ()
        for sku in skus
    }


async def test_a_failure_midway_through_placing_an_order_leaves_nothing(
    store: OrdersStore,
) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1, 102: 1})
    attempt = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )
    # The second line breaks a constraint after the order and its first line were written.
    broken = (order_line(101, 1, discount="1.00"), order_line(102, 0))
    placed = new_order(cart, customer_id=1, order_ref=attempt.order_ref, lines=broken)

    # Over HTTP the database's refusal is the service's failure (a 500, never retried).
    with pytest.raises((IntegrityError, RemoteSourceError)):
        await store.create_order(placed, idempotency_key="k", actor="customer:1", now=NOW)

    for model in ORDER_TABLES:
        assert await count_rows(store, model) == 0, model.__tablename__
    assert (await store.carts_by_ids([cart.id]))[cart.id] == cart
    retry = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )
    assert retry.state is AttemptState.IN_PROGRESS

    fixed = new_order(cart, customer_id=1, order_ref=attempt.order_ref)
    order = await store.create_order(fixed, idempotency_key="k", actor="customer:1", now=NOW)
    assert (await store.carts_by_ids([cart.id]))[cart.id].order_id == order.id


async def test_an_order_whose_attempt_was_swept_is_not_placed(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1})
    attempt = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )
    assert await store.forget_checkout_attempt(attempt.order_ref)

    with pytest.raises(CheckoutAttemptLost):
        await store.create_order(
            new_order(cart, customer_id=1, order_ref=attempt.order_ref),
            idempotency_key="k",
            actor="customer:1",
            now=NOW,
        )

    for model in ORDER_TABLES:
        assert await count_rows(store, model) == 0, model.__tablename__
    assert (await store.carts_by_ids([cart.id]))[cart.id].status is CartStatus.OPEN


async def test_one_cart_gives_one_order_when_two_checkouts_race(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1})
    attempts = [
        await store.checkout_attempt(
            customer_id=1,
            idempotency_key=key,
            fingerprint=cart.id,
            now=NOW,
            stale_after=STALE_AFTER,
        )
        for key in ("tab-1", "tab-2")
    ]

    results = await asyncio.gather(
        *(
            store.create_order(
                new_order(cart, customer_id=1, order_ref=attempt.order_ref),
                idempotency_key=key,
                actor="customer:1",
                now=NOW,
            )
            for key, attempt in zip(("tab-1", "tab-2"), attempts, strict=True)
        ),
        return_exceptions=True,
    )

    orders = [r for r in results if isinstance(r, Order)]
    refusals = [r for r in results if not isinstance(r, Order)]
    assert len(orders) == 1 and len(refusals) == 1
    assert isinstance(refusals[0], CartClosed)
    assert await count_rows(store, m.Order) == 1
    assert await count_rows(store, m.OrderLine) == 1


async def test_a_completed_cart_cannot_be_ordered_again(store: OrdersStore) -> None:
    """Nothing is written when refused, and the key's attempt stays open: on PostgreSQL the
    attempt is finished first in the order's one statement (order_statement.py), so a
    refused cart must undo that too."""
    order = await place_order(store, 1)
    cart = (await store.carts_by_ids([order.cart_id]))[order.cart_id]
    attempt = await store.checkout_attempt(
        customer_id=1,
        idempotency_key="again",
        fingerprint=cart.id,
        now=NOW,
        stale_after=STALE_AFTER,
    )

    with pytest.raises(CartClosed):
        await store.create_order(
            new_order(cart, customer_id=1, order_ref=attempt.order_ref),
            idempotency_key="again",
            actor="customer:1",
            now=NOW,
        )
    assert await count_rows(store, m.Order) == 1
    assert await count_rows(store, m.OrderStatusChange) == 1
    again = await store.checkout_attempt(
        customer_id=1,
        idempotency_key="again",
        fingerprint=cart.id,
        now=NOW,
        stale_after=STALE_AFTER,
    )
    assert again.state is AttemptState.IN_PROGRESS and again.order_ref == attempt.order_ref
    assert (await store.carts_by_ids([cart.id]))[cart.id].status is CartStatus.COMPLETED


async def test_another_customers_cart_cannot_be_ordered(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=2, skus={101: 1})
    attempt = await store.checkout_attempt(
        customer_id=1, idempotency_key="k", fingerprint=cart.id, now=NOW, stale_after=STALE_AFTER
    )

    with pytest.raises(CartNotFound):
        await store.create_order(
            new_order(cart, customer_id=1, order_ref=attempt.order_ref),
            idempotency_key="k",
            actor="customer:1",
            now=NOW,
        )
    assert await count_rows(store, m.Order) == 0


async def test_an_order_needs_a_line(store: OrdersStore) -> None:
    cart = await store.create_cart(customer_id=1, now=NOW)
    placed = replace(new_order(cart, customer_id=1, order_ref="chk_x"), lines=())

    with pytest.raises(ValueError, match="at least one line"):
        await store.create_order(placed, idempotency_key="k", actor="customer:1", now=NOW)


async def test_concurrent_cancellations_cancel_an_order_once(store: OrdersStore) -> None:
    order = await place_order(store, 1)
    later = NOW + timedelta(minutes=5)

    results = await asyncio.gather(
        *(
            store.transition_order(
                order.id,
                to=OrderStatus.CANCELLED,
                allowed_from=[OrderStatus.PENDING_PAYMENT, OrderStatus.PAID],
                actor=f"staff:{n}",
                reason="duplicate",
                now=later,
            )
            for n in range(10)
        )
    )

    changed = [r for r in results if r is not None]
    assert len(changed) == 1
    assert changed[0].status is OrderStatus.CANCELLED and changed[0].updated_at == later
    history = (await store.status_history_by_order_ids([order.id]))[order.id]
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, OrderStatus.PENDING_PAYMENT),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED),
    ]
    assert history[1].reason == "duplicate" and history[1].at == later


async def test_a_transition_from_a_status_not_allowed_changes_nothing(store: OrdersStore) -> None:
    order = await place_order(store, 1)

    refused = await store.transition_order(
        order.id,
        to=OrderStatus.SHIPPED,
        allowed_from=[OrderStatus.PAID],
        actor="staff:1",
        reason="",
        now=NOW + timedelta(hours=1),
    )
    missing = await store.transition_order(
        999,
        to=OrderStatus.CANCELLED,
        allowed_from=list(OrderStatus),
        actor="staff:1",
        reason="",
        now=NOW,
    )

    assert refused is None and missing is None
    assert await store.orders_by_ids([order.id]) == {order.id: order}
    assert len((await store.status_history_by_order_ids([order.id]))[order.id]) == 1


async def test_an_orders_number_is_its_id_padded_to_six_digits_and_longer_beyond(
    store: OrdersStore,
) -> None:
    """On PostgreSQL the number is made in the INSERT from the id the sequence gives (no
    UPDATE after it), on SQLite by ``order_number`` after the insert: the same text."""
    from sqlalchemy import text

    from sources.orders.orders import order_number

    first = await place_order(store, 1, {101: 1})
    assert first.number == order_number(first.id, NOW) == f"SO-20261125-{first.id:06d}"
    if not store.db.url.startswith("postgresql"):
        return  # SQLite numbers an order with order_number itself, after the insert
    async with store.db.begin() as conn:  # the next id has seven digits
        await conn.execute(text("SELECT setval(pg_get_serial_sequence('orders', 'id'), 1234566)"))
    later = await place_order(store, 2, {102: 1}, now=NOW + timedelta(days=1))
    assert later.id == 1234567
    assert later.number == order_number(later.id, NOW + timedelta(days=1)) == "SO-20261126-1234567"
