"""The checkout's orders writes that PostgreSQL runs as one statement each (cart_statements.py,
order_statement.py) give what SQLite's transactions give, on both: the same records, the same
refusals, and nothing written when refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sources.orders import models as m
from sources.orders.store import CartClosed, CartNotFound, OrdersStore

from .conftest import ADDRESS, NOW, count_rows, place_order
from .test_order_queries import SHANGHAI, add_regions


async def test_a_cart_created_with_its_buyer_is_the_cart_stored_and_the_buyer_read(
    store: OrdersStore,
) -> None:
    await add_regions(store, SHANGHAI)
    cases = [
        (1, [(103, 2), (101, 1), (102, 5), (101, 2)], ADDRESS),
        (2, [], None),
        (None, [(104, 1)], replace(ADDRESS, region="XX")),
    ]
    for customer_id, lines, address in cases:
        made = await store.create_cart_with_buyer(
            customer_id=customer_id, now=NOW, lines=lines, coupon_codes=["A", "a"], address=address
        )
        stored = (await store.carts_by_ids([made.cart.id]))[made.cart.id]
        assert made.cart == stored
        assert [(line.sku_id, line.quantity) for line in stored.lines] == list(
            _merged(lines).items()
        )
        region = address.region if address else None
        assert made.buyer == await store.cart_buyer(customer_id, region, []), customer_id


def _merged(lines: list[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for sku_id, quantity in lines:
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    return merged


async def test_a_cart_with_a_bad_quantity_is_not_created(store: OrdersStore) -> None:
    with pytest.raises(ValueError):
        await store.create_cart_with_buyer(customer_id=1, now=NOW, lines=[(101, 0)])
    assert await count_rows(store, m.Cart) == 0


async def test_addressing_a_cart_refuses_as_the_cart_stands_and_writes_nothing(
    store: OrdersStore,
) -> None:
    theirs = await store.create_cart(customer_id=2, now=NOW, lines=[(101, 1)])
    order = await place_order(store, 1)
    completed = (await store.carts_by_ids([order.cart_id]))[order.cart_id]

    with pytest.raises(CartNotFound):
        await store.set_owned_cart_address("no-such-cart", 1, ADDRESS, NOW)
    with pytest.raises(CartNotFound):
        await store.set_owned_cart_address(theirs.id, 1, ADDRESS, NOW)
    with pytest.raises(CartClosed):
        await store.set_owned_cart_address(completed.id, 1, ADDRESS, NOW)

    after = await store.carts_by_ids([theirs.id, completed.id])
    assert (after[theirs.id], after[completed.id]) == (theirs, completed)


async def test_an_addressed_anonymous_cart_comes_back_with_its_lines_in_order(
    store: OrdersStore,
) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW, lines=[(102, 1), (101, 3)])

    written = await store.set_owned_cart_address(cart.id, None, ADDRESS, NOW)

    assert written.cart == (await store.carts_by_ids([cart.id]))[cart.id]
    assert written.cart.shipping_address == ADDRESS
    assert [line.sku_id for line in written.cart.lines] == [102, 101]
