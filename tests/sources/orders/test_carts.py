"""Carts in the orders source, on SQLite and PostgreSQL: one line per SKU, writes that
refuse a missing or completed cart, and adds that all count under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from sources.orders.records import CartLine, CartStatus
from sources.orders.store import (
    CartClosed,
    CartError,
    CartLineNotFound,
    CartNotFound,
    OrdersStore,
)

from .conftest import ADDRESS, NOW, filled_cart, place_order

LATER = NOW + timedelta(minutes=1)


async def test_a_new_cart_is_open_empty_and_has_an_unguessable_id(store: OrdersStore) -> None:
    anonymous = await store.create_cart(customer_id=None, now=NOW)
    owned = await store.create_cart(customer_id=1, now=NOW)

    assert anonymous.status is CartStatus.OPEN
    assert (anonymous.customer_id, owned.customer_id) == (None, 1)
    assert anonymous.lines == () and anonymous.coupon_codes == ()
    assert anonymous.shipping_address is None and anonymous.order_id is None
    assert anonymous.created_at == anonymous.updated_at == NOW
    assert len(anonymous.id) >= 22 and anonymous.id != owned.id
    assert await store.carts_by_ids([anonymous.id, owned.id, "no-such-cart"]) == {
        anonymous.id: anonymous,
        owned.id: owned,
    }


async def test_adding_a_sku_already_in_the_cart_adds_to_its_line(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=None, skus={101: 1, 102: 2})

    cart = await store.add_cart_lines(cart.id, [(102, 3), (103, 1), (103, 4)], LATER)

    assert [(line.sku_id, line.quantity) for line in cart.lines] == [(101, 1), (102, 5), (103, 5)]
    assert [line.id for line in cart.lines] == sorted(line.id for line in cart.lines)
    assert cart.updated_at == LATER
    assert (await store.carts_by_ids([cart.id]))[cart.id] == cart


async def test_concurrent_adds_of_one_sku_all_count(store: OrdersStore) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW)

    await asyncio.gather(*(store.add_cart_lines(cart.id, [(101, 1)], NOW) for _ in range(10)))

    lines = (await store.carts_by_ids([cart.id]))[cart.id].lines
    assert [(line.sku_id, line.quantity) for line in lines] == [(101, 10)]


async def test_a_quantity_below_one_cannot_be_added(store: OrdersStore) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW)

    with pytest.raises(ValueError, match="positive"):
        await store.add_cart_lines(cart.id, [(101, 2), (102, 0)], NOW)

    assert (await store.carts_by_ids([cart.id]))[cart.id].lines == ()


async def test_setting_quantities_updates_lines_and_zero_removes_one(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=None, skus={101: 1, 102: 2, 103: 3})
    first, second, third = cart.lines

    cart = await store.set_cart_line_quantities(cart.id, {first.id: 4, second.id: 0}, LATER)

    assert cart.lines == (CartLine(first.id, 101, 4), third)


async def test_a_line_of_another_cart_cannot_be_changed_and_nothing_changes(
    store: OrdersStore,
) -> None:
    mine = await filled_cart(store, customer_id=None, skus={101: 1})
    theirs = await filled_cart(store, customer_id=None, skus={101: 1})

    with pytest.raises(CartLineNotFound) as refused:
        await store.set_cart_line_quantities(
            mine.id, {mine.lines[0].id: 5, theirs.lines[0].id: 0}, LATER
        )
    assert refused.value.line_ids == (theirs.lines[0].id,)
    with pytest.raises(CartLineNotFound):
        await store.remove_cart_lines(mine.id, [theirs.lines[0].id], LATER)

    after = await store.carts_by_ids([mine.id, theirs.id])
    assert after == {mine.id: mine, theirs.id: theirs}


async def test_negative_quantities_are_refused(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=None, skus={101: 1})

    with pytest.raises(ValueError, match="negative"):
        await store.set_cart_line_quantities(cart.id, {cart.lines[0].id: -1}, LATER)


async def test_removing_lines(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=None, skus={101: 1, 102: 2, 103: 3})

    cart = await store.remove_cart_lines(cart.id, [cart.lines[0].id, cart.lines[2].id], LATER)

    assert [(line.sku_id, line.quantity) for line in cart.lines] == [(102, 2)]
    assert (await store.remove_cart_lines(cart.id, [], LATER)).lines == cart.lines


async def test_coupons_are_kept_as_typed_without_repeats_that_differ_in_case(
    store: OrdersStore,
) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW)

    cart = await store.set_cart_coupons(cart.id, ["Autumn10", "FREESHIP", "autumn10"], LATER)
    assert cart.coupon_codes == ("Autumn10", "FREESHIP")

    cart = await store.set_cart_coupons(cart.id, [], LATER)
    assert cart.coupon_codes == ()


async def test_shipping_address_is_set_and_cleared(store: OrdersStore) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW)

    cart = await store.set_cart_address(cart.id, ADDRESS, LATER)
    assert cart.shipping_address == ADDRESS
    assert (await store.carts_by_ids([cart.id]))[cart.id].shipping_address == ADDRESS

    cart = await store.set_cart_address(cart.id, None, LATER)
    assert cart.shipping_address is None


async def test_an_anonymous_cart_becomes_the_customers(store: OrdersStore) -> None:
    cart = await store.create_cart(customer_id=None, now=NOW)

    cart = await store.attach_cart(cart.id, 1, LATER)
    assert cart.customer_id == 1
    assert (await store.attach_cart(cart.id, 1, LATER)).customer_id == 1

    with pytest.raises(CartNotFound):  # another customer's cart reads as not found
        await store.attach_cart(cart.id, 2, LATER)
    assert (await store.carts_by_ids([cart.id]))[cart.id].customer_id == 1


def _writes(store: OrdersStore, cart_id: str) -> dict[str, Callable[[], Awaitable[object]]]:
    return {
        "add": lambda: store.add_cart_lines(cart_id, [(101, 1)], LATER),
        "set quantities": lambda: store.set_cart_line_quantities(cart_id, {}, LATER),
        "remove": lambda: store.remove_cart_lines(cart_id, [], LATER),
        "coupons": lambda: store.set_cart_coupons(cart_id, ["X"], LATER),
        "address": lambda: store.set_cart_address(cart_id, ADDRESS, LATER),
        "attach": lambda: store.attach_cart(cart_id, 1, LATER),
    }


async def test_every_write_to_a_missing_cart_says_the_cart_does_not_exist(
    store: OrdersStore,
) -> None:
    writes = _writes(store, "no-such-cart")

    assert await _refusals(writes) == dict.fromkeys(writes, CartNotFound)


async def test_a_completed_cart_refuses_every_write(store: OrdersStore) -> None:
    order = await place_order(store, 1, {101: 2})
    before = (await store.carts_by_ids([order.cart_id]))[order.cart_id]
    assert before.status is CartStatus.COMPLETED and before.order_id == order.id
    writes = _writes(store, order.cart_id)

    assert await _refusals(writes) == dict.fromkeys(writes, CartClosed)
    assert (await store.carts_by_ids([order.cart_id]))[order.cart_id] == before


async def _refusals(
    writes: dict[str, Callable[[], Awaitable[object]]],
) -> dict[str, type[CartError] | None]:
    """Which CartError each write raised (None: it went through)."""
    refused: dict[str, type[CartError] | None] = {}
    for name, write in writes.items():
        try:
            await write()
            refused[name] = None
        except CartError as refusal:
            refused[name] = type(refusal)
    return refused


async def test_every_cart_refusal_is_a_cart_error() -> None:
    for refusal in (CartNotFound("c"), CartClosed("c"), CartLineNotFound("c", [1])):
        assert isinstance(refusal, CartError) and refusal.cart_id == "c"
