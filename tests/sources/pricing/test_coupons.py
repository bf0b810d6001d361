"""Coupon usage in the pricing store, on SQLite and PostgreSQL: limits hold under concurrent
checkouts, recording is all or nothing and idempotent by order, release happens once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from sources.common.db import Database
from sources.pricing import models as m
from sources.pricing.engine import CouponUsage
from sources.pricing.store import PricingStore
from tests.migrated import upgrade_fresh
from tests.pg import temp_database
from tests.remote import adapter_for

from .factories import AT, promotion_row

LATER = AT + timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'pricing.db'}")
        await upgrade_fresh("pricing", database)
        yield database
        await database.dispose()
        return
    async with temp_database() as url:
        database = Database(url)
        await upgrade_fresh("pricing", database)
        yield database
        await database.dispose()


@pytest.fixture
async def store(db: Database, adapter: str) -> AsyncIterator[PricingStore]:
    async with adapter_for(adapter, "pricing", PricingStore(db)) as handle:
        yield handle


async def add_promotions(db: Database, *rows: dict[str, Any]) -> None:
    async with db.begin() as conn:
        await conn.execute(insert(m.Promotion), list(rows))


async def uses_in_database(db: Database) -> list[tuple[int, int, str, bool]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            select(
                m.CouponUse.promotion_id,
                m.CouponUse.customer_id,
                m.CouponUse.order_ref,
                m.CouponUse.released_at.is_not(None),
            ).order_by(m.CouponUse.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


# Reading what checkout needs ----------------------------------------------------------------


async def test_checkout_sees_live_automatic_promotions_and_every_typed_coupon(
    db: Database, store: PricingStore
) -> None:
    day = timedelta(days=1)
    await add_promotions(
        db,
        promotion_row(1, coupon_code=None),
        promotion_row(2, coupon_code=None, ends_at=AT - day),
        promotion_row(3, coupon_code=None, is_active=False),
        promotion_row(4, coupon_code="WELCOME10"),
        promotion_row(5, coupon_code="EARLYBIRD", starts_at=AT + day),
        promotion_row(6, coupon_code="PAUSED", is_active=False),
        promotion_row(7, coupon_code="NOT-TYPED"),
    )

    found = await store.promotions_for_checkout([" welcome10", "EarlyBird", "paused", "x"], AT)
    automatic_only = await store.promotions_for_checkout([], AT)

    assert sorted(p.id for p in found) == [1, 4, 5, 6]
    assert [p.id for p in automatic_only] == [1]
    paused = next(p for p in found if p.id == 6)
    assert (paused.is_active, paused.is_live(AT)) == (False, False)


async def test_usage_counts_all_customers_and_this_one_without_released_uses(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1), promotion_row(2))
    for order, customer in [("o1", 10), ("o2", 10), ("o3", 11)]:
        assert (
            await store.record_coupon_uses(
                order_ref=order, customer_id=customer, promotion_ids=[1], at=AT
            )
            == []
        )
    await store.release_coupon_uses("o2", LATER)

    assert await store.coupon_usage([1, 2], 10) == {1: CouponUsage(2, 1), 2: CouponUsage(0, 0)}
    assert await store.coupon_usage([1], 12) == {1: CouponUsage(2, 0)}
    assert await store.coupon_usage([1], None) == {1: CouponUsage(2, 0)}
    assert await store.coupon_usage([], 10) == {}


async def test_a_carts_prices_promotions_and_coupon_usage_come_in_one_call(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(
        db, promotion_row(1, coupon_code=None), promotion_row(4, coupon_code="WELCOME10")
    )
    await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[4], at=AT)
    await store.set_price(
        sku_id=101,
        currency="CNY",
        list_amount=Decimal("30.00"),
        sale_amount=Decimal("25.00"),
        actor="test",
        now=AT,
    )

    found = await store.pricing_for_checkout([101, 102], "CNY", ["welcome10"], AT, 10)
    plain = await store.pricing_for_checkout([101], "CNY", [], AT, 10)

    assert set(found.prices) == {101} and found.prices[101].sale_amount == Decimal("25.00")
    assert sorted(p.id for p in found.promotions) == [1, 4]
    assert found.coupon_usage == {4: CouponUsage(1, 1)}
    assert [p.id for p in plain.promotions] == [1] and plain.coupon_usage == {}


# Recording ----------------------------------------------------------------------------------


async def test_recording_takes_one_use_of_each_coupon_and_ignores_automatic_promotions(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1), promotion_row(2), promotion_row(3, coupon_code=None))

    refused = await store.record_coupon_uses(
        order_ref="o1", customer_id=10, promotion_ids=[3, 2, 1, 2], at=AT
    )

    assert refused == []
    assert await uses_in_database(db) == [(2, 10, "o1", False), (1, 10, "o1", False)]


async def test_a_coupon_at_its_usage_limit_refuses_the_order_and_records_nothing(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, usage_limit=2), promotion_row(2))
    for order, customer in [("o1", 10), ("o2", 11)]:
        await store.record_coupon_uses(
            order_ref=order, customer_id=customer, promotion_ids=[1], at=AT
        )

    refused = await store.record_coupon_uses(
        order_ref="o3", customer_id=12, promotion_ids=[2, 1], at=AT
    )

    assert refused == [1]
    assert [use[2] for use in await uses_in_database(db)] == ["o1", "o2"]


async def test_a_customer_at_the_per_customer_limit_is_refused_but_others_are_not(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, per_customer_limit=1, usage_limit=100))
    assert (
        await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1], at=AT)
        == []
    )

    again = await store.record_coupon_uses(order_ref="o2", customer_id=10, promotion_ids=[1], at=AT)
    other = await store.record_coupon_uses(order_ref="o3", customer_id=11, promotion_ids=[1], at=AT)

    assert (again, other) == ([1], [])
    assert await store.coupon_usage([1], 10) == {1: CouponUsage(2, 1)}


async def test_every_coupon_over_its_limit_is_named(db: Database, store: PricingStore) -> None:
    await add_promotions(
        db,
        promotion_row(1, usage_limit=1),
        promotion_row(2, per_customer_limit=1),
        promotion_row(3, usage_limit=0),
        promotion_row(4),
    )
    await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1, 2], at=AT)

    refused = await store.record_coupon_uses(
        order_ref="o2", customer_id=10, promotion_ids=[4, 3, 2, 1], at=AT
    )

    assert refused == [3, 2, 1]
    assert await store.coupon_usage([4], 10) == {4: CouponUsage(0, 0)}


async def test_recording_the_same_order_again_changes_nothing(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, usage_limit=1, per_customer_limit=1))
    first = await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1], at=AT)

    retry = await store.record_coupon_uses(
        order_ref="o1", customer_id=10, promotion_ids=[1], at=LATER
    )

    assert (first, retry) == ([], [])  # a retry is not refused by its own use
    assert await uses_in_database(db) == [(1, 10, "o1", False)]


async def test_a_released_order_does_not_take_its_coupons_back_on_a_retry(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1))
    await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1], at=AT)
    await store.release_coupon_uses("o1", LATER)

    assert (
        await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1], at=LATER)
        == []
    )
    assert await store.coupon_usage([1], 10) == {1: CouponUsage(0, 0)}


async def test_nothing_to_record_is_not_an_error(db: Database, store: PricingStore) -> None:
    await add_promotions(db, promotion_row(1, coupon_code=None))

    nothing = await store.record_coupon_uses(order_ref="o1", customer_id=1, promotion_ids=[], at=AT)
    automatic_or_unknown = await store.record_coupon_uses(
        order_ref="o1", customer_id=1, promotion_ids=[1, 99], at=AT
    )

    assert (nothing, automatic_or_unknown) == ([], [])
    assert await uses_in_database(db) == []


# Releasing ----------------------------------------------------------------------------------


async def test_release_happens_exactly_once_and_frees_the_coupon(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, usage_limit=1), promotion_row(2))
    await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1, 2], at=AT)
    assert await store.record_coupon_uses(
        order_ref="o2", customer_id=11, promotion_ids=[1], at=AT
    ) == [1]

    released = await store.release_coupon_uses("o1", LATER)
    again = await store.release_coupon_uses("o1", LATER)
    unknown = await store.release_coupon_uses("nope", LATER)

    assert (released, again, unknown) == (2, 0, 0)
    assert (
        await store.record_coupon_uses(order_ref="o2", customer_id=11, promotion_ids=[1], at=LATER)
        == []
    )


async def test_concurrent_releases_of_one_order_release_it_once(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1), promotion_row(2))
    await store.record_coupon_uses(order_ref="o1", customer_id=10, promotion_ids=[1, 2], at=AT)

    released = await asyncio.gather(*(store.release_coupon_uses("o1", LATER) for _ in range(10)))

    assert sorted(released) == [0] * 9 + [2]


# Races --------------------------------------------------------------------------------------


async def test_thirty_buyers_racing_for_a_coupon_limited_to_five_get_exactly_five_uses(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, usage_limit=5, per_customer_limit=1))

    results = await asyncio.gather(
        *(
            store.record_coupon_uses(
                order_ref=f"order-{n}", customer_id=100 + n, promotion_ids=[1], at=AT
            )
            for n in range(30)
        )
    )

    assert sorted(map(tuple, results)) == [()] * 5 + [(1,)] * 25
    assert await store.coupon_usage([1], None) == {1: CouponUsage(5, 0)}


async def test_one_buyer_racing_with_itself_stays_within_the_per_customer_limit(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1, per_customer_limit=2))

    results = await asyncio.gather(
        *(
            store.record_coupon_uses(order_ref=f"o{n}", customer_id=7, promotion_ids=[1], at=AT)
            for n in range(12)
        )
    )

    assert sum(1 for refused in results if not refused) == 2
    assert await store.coupon_usage([1], 7) == {1: CouponUsage(2, 2)}


async def test_the_same_order_recorded_concurrently_counts_once(
    db: Database, store: PricingStore
) -> None:
    await add_promotions(db, promotion_row(1), promotion_row(2))

    results = await asyncio.gather(
        *(
            store.record_coupon_uses(order_ref="o1", customer_id=7, promotion_ids=[2, 1], at=AT)
            for _ in range(10)
        )
    )

    assert results == [[]] * 10
    assert sorted(await uses_in_database(db)) == [(1, 7, "o1", False), (2, 7, "o1", False)]
