"""Reading orders from the orders source, on SQLite and PostgreSQL: each customer's orders
and the back office's listing, newest first with keyset cursors and totals; what a
customer has bought; delivery regions by code."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from sources.common.pagination import InvalidCursor, encode_cursor
from sources.orders import models as m
from sources.orders.records import AttemptState, OrderStatus, Region
from sources.orders.store import OrdersStore

from .conftest import ADDRESS, NOW, place_order


async def test_each_customer_pages_through_their_orders_newest_first(store: OrdersStore) -> None:
    # Customer 1: five orders, two placed at the same instant (the id breaks the tie).
    times = [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=1), NOW + timedelta(hours=1)]
    times.append(NOW + timedelta(days=1))
    mine = [await place_order(store, 1, now=t) for t in times]
    theirs = [await place_order(store, 2, now=NOW + timedelta(minutes=n)) for n in range(2)]
    newest_first = sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True)

    pages = await store.orders_for_customers([1, 2, 3], first=2)

    assert pages[1].orders == newest_first[:2] and pages[1].has_next_page
    assert pages[2].orders == theirs[::-1] and not pages[2].has_next_page
    assert pages[3].orders == [] and pages[3].total_count == 0
    assert (pages[1].total_count, pages[2].total_count) == (5, 2)

    seen = list(pages[1].orders)
    cursor = pages[1].cursors[-1]
    while True:
        page = (await store.orders_for_customers([1], first=2, after=cursor))[1]
        seen += page.orders
        assert page.total_count == 5
        if not page.has_next_page:
            break
        cursor = page.cursors[-1]
    assert seen == newest_first
    assert await store.orders_for_customers([], first=2) == {}


async def test_staff_list_all_orders_newest_first_by_status(store: OrdersStore) -> None:
    placed = [await place_order(store, 1 + n % 3, now=NOW + timedelta(minutes=n)) for n in range(5)]
    cancelled = await store.transition_order(
        placed[1].id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="staff:1",
        reason="customer called",
        now=NOW + timedelta(hours=1),
    )
    assert cancelled is not None

    first = await store.list_orders(first=3)
    assert [o.id for o in first.orders] == [o.id for o in placed[::-1][:3]]
    assert (first.total_count, first.has_next_page) == (5, True)
    rest = await store.list_orders(first=3, after=first.cursors[-1])
    assert [o.id for o in rest.orders] == [placed[1].id, placed[0].id]
    assert not rest.has_next_page

    pending = await store.list_orders(first=10, status=OrderStatus.PENDING_PAYMENT)
    assert pending.total_count == 4 and cancelled.id not in {o.id for o in pending.orders}
    only_cancelled = await store.list_orders(first=10, status=OrderStatus.CANCELLED)
    assert only_cancelled.orders == [cancelled]


async def test_a_cursor_from_another_listing_is_refused(store: OrdersStore) -> None:
    with pytest.raises(InvalidCursor):
        await store.list_orders(first=2, after=encode_cursor("NEWEST", NOW.isoformat(), 1))
    with pytest.raises(InvalidCursor):
        await store.orders_for_customers([1], first=2, after="not a cursor")
    with pytest.raises(InvalidCursor):
        await store.list_orders(first=2, after=encode_cursor("ORDERS_NEWEST", "yesterday", 1))


async def test_purchased_quantities_count_orders_that_are_not_cancelled(
    store: OrdersStore,
) -> None:
    await place_order(store, 1, {101: 2, 102: 1})
    await place_order(store, 1, {101: 3})
    cancelled = await place_order(store, 1, {101: 10, 103: 1})
    await place_order(store, 2, {101: 7})
    await store.transition_order(
        cancelled.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="customer:1",
        reason="changed my mind",
        now=NOW,
    )

    assert await store.purchased_quantities(1, [101, 102, 103, 104]) == {
        101: 5,
        102: 1,
        103: 0,
        104: 0,
    }


SHANGHAI = {
    "code": "CN-SH",
    "country": "CN",
    "name": "Shanghai",
    "is_deliverable": True,
    "shipping_rate": Decimal("10.00"),
}
TIBET = {
    "code": "CN-XZ",
    "country": "CN",
    "name": "Tibet",
    "is_deliverable": False,
    "shipping_rate": None,
}


async def add_regions(store: OrdersStore, *regions: dict[str, object]) -> None:
    async with store.db.begin() as conn:
        await conn.execute(insert(m.Region), list(regions))


async def test_regions_by_codes(store: OrdersStore) -> None:
    await add_regions(store, SHANGHAI, TIBET)

    assert await store.regions_by_codes(["CN-SH", "CN-XZ", "XX"]) == {
        "CN-SH": Region("CN-SH", "CN", "Shanghai", True, Decimal("10.00")),
        "CN-XZ": Region("CN-XZ", "CN", "Tibet", False, None),
    }


async def test_a_carts_buyer_region_and_purchases_come_in_one_call(store: OrdersStore) -> None:
    await add_regions(store, SHANGHAI)
    await place_order(store, 1, {101: 2})

    buyer = await store.cart_buyer(1, "CN-SH", [101, 102])
    assert buyer.customer is not None and buyer.customer.id == 1
    assert buyer.region == Region("CN-SH", "CN", "Shanghai", True, Decimal("10.00"))
    assert buyer.purchased == {101: 2, 102: 0}
    nobody = await store.cart_buyer(None, "XX", [101])
    assert (nobody.customer, nobody.region, nobody.purchased) == (None, None, {})
    unlimited = await store.cart_buyer(1, None, [])
    assert unlimited.region is None and unlimited.purchased == {}
    customers = await store.customers_by_ids([1])
    assert buyer.customer == unlimited.customer == customers[1], "the single read's customer"
    unknown_region = await store.cart_buyer(1, "XX", [])
    assert (unknown_region.customer, unknown_region.region) == (customers[1], None)
    unknown_customer = await store.cart_buyer(999_999, "CN-SH", [])
    assert (unknown_customer.customer, unknown_customer.region) == (None, buyer.region)
    neither = await store.cart_buyer(999_999, "XX", [101])
    assert (neither.customer, neither.region, neither.purchased) == (None, None, {101: 0})


async def test_a_checkouts_claim_reads_the_buyer_and_region_the_single_read_gives(
    store: OrdersStore,
) -> None:
    """``checkout_start`` and ``set_owned_cart_address`` read the customer and the cart's
    region joined onto their cart read: the records ``cart_buyer`` gives, for a known, an
    unknown and no region."""
    await add_regions(store, SHANGHAI)
    cases = {"CN-SH": "CN-SH", "XX": "XX", None: None}
    for n, region in enumerate(cases):
        cart = await store.create_cart(customer_id=1, now=NOW, lines=[(101, 1)])
        if region is not None:
            written = await store.set_owned_cart_address(
                cart.id, 1, replace(ADDRESS, region=region), NOW
            )
            assert written.buyer == await store.cart_buyer(1, region, []), region
            assert written.cart.shipping_address == replace(ADDRESS, region=region)
        start = await store.checkout_start(
            cart_id=cart.id,
            customer_id=1,
            idempotency_key=f"buyer-{n}",
            now=NOW,
            stale_after=timedelta(minutes=5),
        )
        assert start.attempt is not None and start.attempt.state is AttemptState.CLAIMED
        assert start.buyer == await store.cart_buyer(1, region, []), region
    anonymous = await store.create_cart(customer_id=None, now=NOW, lines=[(101, 1)])
    someone = await store.checkout_start(
        cart_id=anonymous.id,
        customer_id=2,
        idempotency_key="anonymous",
        now=NOW,
        stale_after=timedelta(minutes=5),
    )
    assert someone.buyer == await store.cart_buyer(2, None, [])
