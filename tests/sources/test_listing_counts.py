"""A listing's totalCount comes from the count table the database keeps (sources/catalog/
counts.py) and stays exact after every write that moves a product between listings:
create, publish, archive, a category moved under another parent, stock running out, a
row written by SQL (an import, the seed), on SQLite and PostgreSQL; the sweeper's folding
of PostgreSQL's rows changes no total, even beside concurrent writers, and no writer
waits on another's count. A category page, merged from its subcategories' indexes, lists
what the whole listing lists there, in its order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from sources.catalog import models as m
from sources.catalog.records import (
    FulfillmentMode,
    ListingUpdate,
    ProductFields,
    ProductFilter,
    ProductKind,
    ProductSort,
)
from sources.catalog.store import CatalogStore
from sources.common.db import Database
from tests.conftest import require_postgres
from tests.migrated import upgrade_fresh
from tests.pg import create_temp_database, drop_database
from tests.remote import adapter_for
from tests.sources.test_catalog_store import CATEGORIES, PRODUCTS

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
BY_ID = {p["id"]: p for p in PRODUCTS}

FILTERS = [
    ProductFilter(),
    ProductFilter(include_unpublished=True),
    *(ProductFilter(category_slug=slug) for _, slug, *_ in CATEGORIES),
    ProductFilter(category_id=1, in_stock=True),
    ProductFilter(category_slug="home", kind=ProductKind.BUNDLE),
    ProductFilter(in_stock=False),
    ProductFilter(kind=ProductKind.SERVICE, include_unpublished=True),
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CatalogStore]:
    """A catalog migrated to head, then given the store tests' rows by SQL (so the
    triggers, not the backfill, count them)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/catalog.db"
    else:
        require_postgres()
        url = await create_temp_database()
    db = Database(url)
    try:
        await upgrade_fresh("catalog", db)
        async with db.begin() as conn:
            await conn.execute(
                insert(m.Category),
                [
                    {"id": i, "slug": s, "name": s, "parent_id": p, "path": path, "position": pos}
                    for i, s, p, path, pos in CATEGORIES
                ],
            )
            await conn.execute(insert(m.Brand), [{"id": 1, "name": "Acme"}])
            await conn.execute(insert(m.Supplier), [{"id": 1, "name": "Poster Print Co"}])
            await conn.execute(insert(m.Product), PRODUCTS)
        yield CatalogStore(db)
    finally:
        await db.dispose()
        if request.param == "postgresql":
            await drop_database(url)
        if request.param == "postgresql":
            await drop_database(url)


async def counted(store: CatalogStore, flt: ProductFilter) -> int:
    """The total the slow way: the listing's own rows, every page of them."""
    total, after = 0, None
    while True:
        page = await store.list_products(first=100, after=after, filter=flt, with_total=False)
        total += len(page.products)
        if not page.has_next_page:
            return total
        after = page.cursors[-1]


async def assert_exact(store: CatalogStore) -> dict[str, int]:
    totals = {}
    for flt in FILTERS:
        page = await store.list_products(first=1, filter=flt)
        expected = await counted(store, flt)
        assert page.total_count == expected, flt
        totals[repr(flt)] = expected
    return totals


async def test_counts_match_the_rows_as_written(store: CatalogStore) -> None:
    totals = await assert_exact(store)

    published = sum(1 for p in PRODUCTS if p["is_published"])
    assert totals[repr(ProductFilter())] == published
    assert totals[repr(ProductFilter(include_unpublished=True))] == len(PRODUCTS)


async def test_counts_follow_create_publish_and_archive(store: CatalogStore) -> None:
    before = await store.list_products(first=1, filter=ProductFilter(category_slug="hall"))
    fields = ProductFields(
        name="Hall Bench",
        slug="hall-bench",
        kind=ProductKind.PHYSICAL,
        fulfillment=FulfillmentMode.WAREHOUSE,
        category_id=3,
        is_published=True,
    )
    made = await store.create_product(fields, currency="CNY", actor="t", now=NOW)
    assert made.id is not None
    after_create = await store.list_products(first=1, filter=ProductFilter(category_slug="hall"))
    assert after_create.total_count == (before.total_count or 0) + 1
    await assert_exact(store)

    await store.set_published(product_id=made.id, published=False, actor="t", now=NOW)
    await assert_exact(store)
    await store.set_published(product_id=made.id, published=True, actor="t", now=NOW)
    await store.archive_product(made.id, actor="t", now=NOW)
    await store.archive_product(203, actor="t", now=NOW)
    after_archive = await store.list_products(first=1, filter=ProductFilter(category_slug="hall"))
    assert after_archive.total_count == (before.total_count or 0) - 1
    await assert_exact(store)


async def test_counts_follow_category_moves_and_product_moves(store: CatalogStore) -> None:
    home = await store.list_products(first=1, filter=ProductFilter(category_slug="home"))
    kitchen = await store.list_products(first=1, filter=ProductFilter(category_slug="kitchen"))

    moved = await store.move_category(2, 10, None, actor="t", now=NOW)  # kitchen under garden
    assert moved.refusal is None

    home_after = await store.list_products(first=1, filter=ProductFilter(category_slug="home"))
    assert home_after.total_count == (home.total_count or 0) - (kitchen.total_count or 0)
    await assert_exact(store)

    await store.update_product(203, ProductFields(category_id=5), actor="t", now=NOW)
    await store.update_product(205, ProductFields(kind=ProductKind.SERVICE), actor="t", now=NOW)
    await assert_exact(store)


async def test_counts_follow_stock_and_writes_by_sql(store: CatalogStore) -> None:
    await store.update_listings(
        [ListingUpdate(product_id=pk, in_stock=False) for pk in (201, 202, 204)]
    )
    await store.update_listing(207, in_stock=True)
    await assert_exact(store)

    async with store.db.begin() as conn:  # an import or a seed writes rows directly
        await conn.execute(
            insert(m.Product),
            [
                PRODUCTS[0] | {"id": 900 + i, "slug": f"extra-{i}", "category_id": 4}
                for i in range(5)
            ],
        )
        await conn.execute(update(m.Product).where(m.Product.id >= 902).values(is_published=False))
    await assert_exact(store)


async def test_folding_keeps_every_total_beside_concurrent_writers(store: CatalogStore) -> None:
    async def flip(pk: int, rounds: int) -> None:
        for i in range(rounds):
            await store.update_listing(pk, in_stock=i % 2 == 0)

    async def fold(rounds: int) -> None:
        for _ in range(rounds):
            await store.compact_listing_counts()

    await asyncio.gather(flip(201, 15), flip(203, 15), flip(205, 14), fold(10))
    totals = await assert_exact(store)
    await store.compact_listing_counts()
    assert await assert_exact(store) == totals
    async with store.db.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(m.ProductCount))
        keys = await conn.scalar(
            select(func.count()).select_from(
                select(m.ProductCount.category_id, m.ProductCount.kind)
                .group_by(
                    m.ProductCount.category_id,
                    m.ProductCount.kind,
                    m.ProductCount.in_stock,
                    m.ProductCount.is_published,
                )
                .subquery()
            )
        )
    assert rows == keys, "folded: one row per key"


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_a_writer_never_waits_for_another_on_the_same_count(store: CatalogStore) -> None:
    """PostgreSQL: two products of one key written by two open transactions. Had the
    second to wait for the first's count row, a bulk update and a checkout could
    deadlock (sources/catalog/counts.py); SQLite has one writer at a time anyway."""
    async with store.db.begin() as held:  # product 201's key: kitchen, physical, in stock
        await held.execute(update(m.Product).where(m.Product.id == 201).values(in_stock=False))
        await asyncio.wait_for(store.update_listing(202, in_stock=False), timeout=10)
    await assert_exact(store)
    kitchen = ProductFilter(category_slug="kitchen", in_stock=False)
    assert (await store.list_products(first=1, filter=kitchen)).total_count == 2


async def test_the_sweeper_folds_the_counts_over_http_too(store: CatalogStore) -> None:
    """A catalog served apart (``gateway source serve catalog``) is folded by the
    gateway's sweeper through its HTTP API."""
    await store.update_listings([ListingUpdate(product_id=pk, in_stock=False) for pk in (201, 202)])
    async with adapter_for("http", "catalog", store, shared=True) as remote:
        folded = await remote.compact_listing_counts()
        page = await remote.list_products(first=1, filter=ProductFilter(in_stock=False))
    assert folded >= 0
    assert page.total_count == await counted(store, ProductFilter(in_stock=False))


@pytest.mark.parametrize("sort", list(ProductSort))
async def test_a_category_page_lists_what_the_whole_listing_lists_there(
    store: CatalogStore, sort: ProductSort
) -> None:
    """A category page merges its subcategories' pages (one index each): page by page, by
    cursor, it lists exactly the category's products in the whole listing's order, ties in
    the sort key (the twelve twin kettles) included."""

    async def walk(flt: ProductFilter) -> list[int]:
        ids: list[int] = []
        after = None
        while True:
            page = await store.list_products(
                first=2, after=after, filter=flt, sort=sort, with_total=False
            )
            ids += [p.id for p in page.products]
            if not page.has_next_page:
                return ids
            after = page.cursors[-1]

    everything = await walk(ProductFilter())
    for _, slug, _, path, _ in CATEGORIES:
        inside = {i for i, _, _, p, _ in CATEGORIES if p.startswith(path)}
        expected = [pid for pid in everything if BY_ID[pid]["category_id"] in inside]
        assert await walk(ProductFilter(category_slug=slug)) == expected, slug
