"""Customers in the orders source, on SQLite and PostgreSQL (embedded and over HTTP): one
customer per identity-provider subject whatever the concurrency, address books their
owner's alone, the back office's search, and blocking audited."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import text

from sources.orders import models as m
from sources.orders.errors import CustomerEmailTaken
from sources.orders.records import ShopProfile
from sources.orders.store import OrdersStore

from .conftest import ADDRESS, NOW, count_rows


async def _continue_ids(store: OrdersStore) -> None:
    """The fixture's customers carry explicit ids; PostgreSQL's sequence must go on after
    them (as the demo seed makes it), or a new customer would take id 1."""
    if store.db.is_sqlite:
        return
    async with store.db.begin() as conn:
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('customers', 'id'), max(id)) FROM customers")
        )


async def test_twenty_first_uses_of_one_subject_at_once_make_one_customer(
    store: OrdersStore,
) -> None:
    await _continue_ids(store)
    results = await asyncio.gather(
        *(
            store.customer_for_subject(
                subject="idp|42", email="New@Example.com", name="New", email_verified=False, now=NOW
            )
            for _ in range(20)
        )
    )

    assert len({c.id for c in results}) == 1
    assert results[0].email == "new@example.com"
    assert await count_rows(store, m.Customer) == 4  # the three made by the fixture, and one
    assert (await store.customers_by_subjects(["idp|42"]))["idp|42"] == results[0]


async def test_an_email_taken_by_another_customer_is_refused_unless_vouched_for(
    store: OrdersStore,
) -> None:
    await _continue_ids(store)
    with pytest.raises(CustomerEmailTaken):
        await store.customer_for_subject(
            subject="idp|x", email="customer1@example.com", name="X", email_verified=False, now=NOW
        )
    linked = await store.customer_for_subject(
        subject="idp|x", email="customer1@example.com", name="X", email_verified=True, now=NOW
    )
    with pytest.raises(CustomerEmailTaken):  # customer 1 has a subject now
        await store.customer_for_subject(
            subject="idp|y", email="customer1@example.com", name="Y", email_verified=True, now=NOW
        )

    assert linked.id == 1
    assert await count_rows(store, m.Customer) == 3


async def test_an_address_book_is_its_owners_alone(store: OrdersStore) -> None:
    first = await store.create_address(1, ADDRESS, is_default=False)
    second = await store.create_address(1, replace(ADDRESS, city="Hangzhou"), is_default=True)
    assert first is not None and second is not None

    not_theirs_update = await store.update_address(2, first.id, ADDRESS, is_default=True)
    not_theirs_delete = await store.delete_address(2, first.id)
    books = await store.addresses_by_customer_ids([1, 2])

    assert first.is_default  # a book's first entry is its default
    assert not_theirs_update is None and not not_theirs_delete
    assert [(a.id, a.is_default) for a in books[1]] == [(second.id, True), (first.id, False)]
    assert books[2] == []


async def test_deleting_the_default_makes_the_oldest_the_default(store: OrdersStore) -> None:
    made = [await store.create_address(1, replace(ADDRESS, line1=f"{n} Road"), is_default=False)
            for n in range(3)]  # fmt: skip
    ids = [a.id for a in made if a is not None]
    await store.update_address(1, ids[2], None, is_default=True)

    assert await store.delete_address(1, ids[2])
    book = (await store.addresses_by_customer_ids([1]))[1]

    assert [(a.id, a.is_default) for a in book] == [(ids[0], True), (ids[1], False)]


async def test_customers_are_found_by_part_of_an_email_or_name(store: OrdersStore) -> None:
    everyone = await store.list_customers(first=2)
    rest = await store.list_customers(first=2, after=everyone.cursors[-1])
    found = await store.list_customers(first=10, search="TOMER2")
    literal = await store.list_customers(first=10, search="%")

    assert [c.id for c in everyone.customers] == [3, 2] and everyone.has_next_page
    assert [c.id for c in rest.customers] == [1] and not rest.has_next_page
    assert everyone.total_count == 3
    assert [c.id for c in found.customers] == [2]
    assert literal.total_count == 0


async def test_blocking_is_audited_once_and_unblocking_too(store: OrdersStore) -> None:
    blocked = await store.set_customer_blocked(
        2, blocked=True, actor="staff:s1", reason="chargebacks", now=NOW
    )
    again = await store.set_customer_blocked(
        2, blocked=True, actor="staff:s1", reason="again", now=NOW
    )
    unblocked = await store.set_customer_blocked(
        2, blocked=False, actor="staff:s2", reason="cleared", now=NOW
    )
    missing = await store.set_customer_blocked(
        99, blocked=True, actor="staff:s1", reason="x", now=NOW
    )
    audit = (await store.audit_by_customer_ids([2], 10))[2]

    assert blocked is not None and blocked.is_blocked
    assert again == blocked
    assert unblocked is not None and not unblocked.is_blocked
    assert missing is None
    assert [(e.action, e.actor, e.reason, e.before, e.after) for e in audit] == [
        ("customer.unblock", "staff:s2", "cleared", {"is_blocked": True}, {"is_blocked": False}),
        ("customer.block", "staff:s1", "chargebacks", {"is_blocked": False}, {"is_blocked": True}),
    ]


async def test_the_shop_profile_is_saved_once_and_regions_by_code(store: OrdersStore) -> None:
    from decimal import Decimal

    from sources.orders.records import Region

    profile = ShopProfile("Acme", "USD", ("en", "zh-CN"), Decimal("50.00"))
    regions = [Region("US-CA", "US", "California", True, Decimal("5.00"))]

    assert await store.shop_profile() is None
    assert await store.save_shop_profile(profile, NOW)
    assert not await store.save_shop_profile(profile, NOW)
    first = await store.save_regions(regions)
    second = await store.save_regions(regions)

    assert await store.shop_profile() == profile
    assert (first.added, second.unchanged) == (1, 1)
