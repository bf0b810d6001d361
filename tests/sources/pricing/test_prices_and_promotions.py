"""pricing_for_checkout's prices and promotions in one statement (UNION ALL with a part
column): the records, promotions' order included, are those of the single-purpose reads
(prices_by_sku_ids, promotions_for_checkout, coupon_usage), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from sources.common import lean
from sources.common.db import Database
from sources.pricing import models as m
from sources.pricing.engine import CheckoutPricing
from sources.pricing.store import PricingStore
from tests.migrated import upgrade_fresh
from tests.pg import temp_database

from .factories import AT, promotion_row

DAY = timedelta(days=1)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PricingStore]:
    async def fill(db: Database) -> None:
        await upgrade_fresh("pricing", db)
        async with db.begin() as conn:
            await conn.execute(
                insert(m.Promotion),
                [
                    promotion_row(1, coupon_code=None, priority=1, name="Früh ✓"),
                    promotion_row(2, coupon_code=None, ends_at=AT - DAY),
                    promotion_row(3, coupon_code=None, is_active=False),
                    promotion_row(4, coupon_code="WELCOME10", priority=5),
                    promotion_row(5, coupon_code="EARLYBIRD", starts_at=AT + DAY),
                    promotion_row(
                        6,
                        coupon_code=None,
                        priority=5,
                        scope="PRODUCTS",
                        kind="FIXED_AMOUNT",
                        percent=None,
                        amount=Decimal("3.50"),
                        translations={"en": {"name": "Six"}},
                    ),
                    promotion_row(7, coupon_code=None, starts_at=AT - DAY, ends_at=AT + DAY),
                ],
            )
            await conn.execute(
                insert(m.PromotionTarget),
                [
                    {"promotion_id": 6, "product_id": 11, "category_id": None},
                    {"promotion_id": 6, "product_id": None, "category_id": 3},
                    {"promotion_id": 6, "product_id": 12, "category_id": None},
                ],
            )
        for sku, currency, amount in [
            (101, "CNY", "25.00"),
            (102, "CNY", "9.99"),
            (101, "USD", "4.00"),
        ]:
            await PricingStore(db).set_price(
                sku_id=sku,
                currency=currency,
                list_amount=Decimal(amount) + 1,
                sale_amount=Decimal(amount),
                actor="test",
                now=AT,
            )

    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pricing.db'}")
        await fill(db)
        yield PricingStore(db)
        await db.dispose()
        return
    async with temp_database() as url:
        db = Database(url)
        await fill(db)
        yield PricingStore(db)
        await db.dispose()


async def single_purpose(
    store: PricingStore, skus: list[int], currency: str, codes: list[str], customer: int | None
) -> CheckoutPricing:
    prices = await store.prices_by_sku_ids(skus, currency) if skus else {}
    promotions = await store.promotions_for_checkout(codes, AT)
    coupon_ids = [p.id for p in promotions if p.coupon_code is not None]
    usage = await store.coupon_usage(coupon_ids, customer) if coupon_ids else {}
    return CheckoutPricing(prices, promotions, usage)


@pytest.mark.parametrize(
    ("skus", "currency", "codes"),
    [
        ([101, 102, 999], "CNY", []),
        ([101, 102], "USD", []),
        ([101], "CNY", [" welcome10", "EarlyBird", "nope"]),
        ([999], "CNY", ["WELCOME10"]),
        ([], "CNY", []),
    ],
)
async def test_one_statement_makes_the_single_purpose_reads_records(
    store: PricingStore, skus: list[int], currency: str, codes: list[str]
) -> None:
    found = await store.pricing_for_checkout(skus, currency, codes, AT, 10)
    assert found == await single_purpose(store, skus, currency, codes, 10)
    # In the engine's order: priority, then id.
    assert [p.id for p in found.promotions] == [
        p.id for p in sorted(found.promotions, key=lambda p: (-p.priority, p.id))
    ]


async def test_prices_and_promotions_are_one_statement(
    store: PricingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    execute = lean.execute

    async def counting(conn: Any, statement: Any, params: dict[str, Any]) -> Any:
        calls.append(statement)
        return await execute(conn, statement, params)

    monkeypatch.setattr(lean, "execute", counting)
    found = await store.pricing_for_checkout([101, 102], "CNY", [], AT, None)
    assert len(calls) == 1
    assert sorted(found.prices) == [101, 102]
    assert [p.id for p in found.promotions] == [6, 1, 7]
    assert found.promotions[0].product_ids == frozenset({11, 12})
    assert found.promotions[0].category_ids == frozenset({3})
