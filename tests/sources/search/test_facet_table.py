"""A result page counted in process (sources/catalog/search/facet_table.py) answers exactly
what the SQL statements answer: the same products in the same order, the same total, the
same facet counts, for every sort, facet selection and page; and it follows every write,
this process's or another's (a second connection writing plain SQL), on the next request."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from sources.catalog.records import (
    AttributeCondition,
    CategoryFields,
    ProductFields,
    ProductFilter,
    ProductKind,
    SearchPage,
    SearchSort,
)
from sources.catalog.search import FacetTables, engine, matched_ids
from sources.catalog.search.text import parse_query
from sources.catalog.store import CatalogStore
from sources.common.db import Database

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


class _FromSql(FacetTables):
    """Never a table: every page answered by the SQL statements (the reference)."""

    async def current(self, conn: Any) -> None:
        return None


@pytest.fixture
async def stores(shop_url: str) -> AsyncIterator[tuple[CatalogStore, CatalogStore]]:
    db = Database(shop_url)
    in_process, from_sql = CatalogStore(db), CatalogStore(db)
    from_sql.facet_tables = _FromSql(db)
    yield in_process, from_sql
    await db.dispose()


def _shown(page: SearchPage) -> tuple[Any, ...]:
    return (
        [p.id for p in page.products],
        page.cursors,
        page.has_next_page,
        page.total_count,
        page.corrected_query,
        page.facets,
    )


async def _same(stores: tuple[CatalogStore, CatalogStore], query: str, **kwargs: Any) -> SearchPage:
    in_process, from_sql = stores
    before = in_process.facet_tables.answered
    page = await in_process.search_products(query, **kwargs)
    assert in_process.facet_tables.answered == before + 1, "answered from SQL"
    expected = await from_sql.search_products(query, **kwargs)
    assert _shown(page) == _shown(expected), (query, kwargs)
    return page


QUERIES = ["耳机", "headphones", "erji", "headst", "sofa", "手机", "wireless he",
           "cheap headphones", "headphones under 1500", "电视 2000到6000元"]  # fmt: skip


@pytest.mark.parametrize("sort", list(SearchSort))
@pytest.mark.parametrize("query", QUERIES)
async def test_every_query_and_sort_answers_as_sql_does(
    stores: tuple[CatalogStore, CatalogStore], query: str, sort: SearchSort
) -> None:
    await _same(stores, query, first=7, sort=sort)


async def test_every_facet_selection_answers_as_sql_does(
    stores: tuple[CatalogStore, CatalogStore],
) -> None:
    page = await _same(stores, "耳机", first=5)
    facets = {f.name: f for f in page.facets}
    spec = next(f for f in page.facets if f.name.startswith("spec:"))
    selections = [
        ProductFilter(brands=(facets["brand"].values[0].value,)),
        ProductFilter(brands=tuple(v.value for v in facets["brand"].values[:2])),
        ProductFilter(category_slugs=(facets["category"].values[0].value,)),
        ProductFilter(price_band=facets["price"].values[0].value),
        ProductFilter(in_stock=True),
        ProductFilter(in_stock=False),
        ProductFilter(kind=ProductKind.PHYSICAL),
        ProductFilter(include_unpublished=True),
        ProductFilter(min_price=Decimal(200), max_price=Decimal(900)),
        ProductFilter(attributes=(AttributeCondition(spec.name[5:], (spec.values[0].value,)),)),
        ProductFilter(category_slug=facets["category"].values[0].value),
        ProductFilter(brands=("no such brand",)),
        ProductFilter(category_slugs=("no-such-category",)),
    ]
    for flt in selections:
        await _same(stores, "耳机", first=5, filter=flt)
        both = replace(flt, in_stock=True, price_band=facets["price"].values[-1].value)
        await _same(stores, "headphones", first=5, filter=both, sort=SearchSort.PRICE_ASC)


async def test_later_pages_answer_as_sql_does(
    stores: tuple[CatalogStore, CatalogStore],
) -> None:
    after = None
    pages = 0
    while True:
        page = await _same(stores, "耳机", first=3, after=after, with_facets=False)
        pages += 1
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    assert pages > 2


@pytest.mark.parametrize("share", [4, 2])  # PostgreSQL: candidates read by key; rescanned
@pytest.mark.parametrize("query", ["耳机", "headphones", "ej"])
async def test_relevance_ranks_the_newest_candidates_then_the_rest_newest_first(
    stores: tuple[CatalogStore, CatalogStore],
    query: str,
    share: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond RANKED_CANDIDATES matches only the newest that many are scored (engine.py);
    both paths answer the same order, every page, and it is the order the rule says."""
    in_process, _ = stores
    async with in_process.db.connect() as conn:
        parsed = parse_query(query)
        every = await matched_ids(conn, parsed, ranked=False)
        ranked_all = await matched_ids(conn, parsed, ranked=True)
        bound = len(every) // share
        monkeypatch.setattr(engine, "RANKED_CANDIDATES", bound)
        bounded = await matched_ids(conn, parsed, ranked=True)
    assert bound >= 3
    newest = sorted(every, reverse=True)
    # The candidates in the order the full ranking gives them, then the rest newest first.
    assert bounded[:bound] == [i for i in ranked_all if i in set(newest[:bound])]
    assert bounded[bound:] == newest[bound:]
    shown: list[int] = []
    after = None
    while True:
        page = await _same(stores, query, first=3, after=after, with_facets=after is None)
        shown += [p.id for p in page.products]
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    published = {p.id for p in (await in_process.search_products(query, first=500)).products}
    assert shown == [i for i in bounded if i in published]


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
async def test_another_process_writes_are_counted_on_the_next_request(fresh_url: str) -> None:
    db, other = Database(fresh_url), Database(fresh_url)
    store = CatalogStore(db)
    # Read again within the request however long it takes (a loaded machine's read can
    # take longer than the production bound; the background read has its own test).
    store.facet_tables.inline_rebuild_s = float("inf")
    try:
        category = await store.create_category(
            CategoryFields(slug="audio", name="Audio"), actor="staff", now=NOW
        )
        ids = []
        for n in range(3):
            created = await store.create_product(
                ProductFields(name=f"Kestrel Headset {n}", slug=f"kestrel-{n}",
                              category_id=category.id, brand="Kestrel", is_published=True),
                currency="CNY", actor="staff", now=NOW,
            )  # fmt: skip
            assert created.id is not None
            ids.append(created.id)

        async def shown() -> tuple[int, dict[str, int], list[int]]:
            before = store.facet_tables.answered
            page = await store.search_products("headset", first=10)
            assert store.facet_tables.answered == before + 1
            stock = {v.value: v.count for f in page.facets if f.name == "availability"
                     for v in f.values}  # fmt: skip
            return page.total_count, stock, sorted(p.id for p in page.products)

        total, _, found = await shown()
        assert (total, found) == (3, ids)
        # Another process (its own connections), writing plain SQL: no call of ours.
        async with other.begin() as conn:
            await conn.execute(
                text("UPDATE products SET is_published = :no WHERE id = :id"),
                {"no": False, "id": ids[0]},
            )
        total, _, found = await shown()
        assert (total, found) == (2, ids[1:])
        async with other.begin() as conn:
            await conn.execute(
                text("UPDATE products SET in_stock = :yes WHERE id = :id"),
                {"yes": True, "id": ids[1]},
            )
        total, stock, found = await shown()
        assert (total, found) == (2, ids[1:])
        assert stock.get("IN_STOCK") == 1, stock
        created = await store.create_product(
            ProductFields(name="Kestrel Headset 9", slug="kestrel-9", category_id=category.id,
                          brand="Kestrel", is_published=True),
            currency="CNY", actor="staff", now=NOW,
        )  # fmt: skip
        total, _, found = await shown()
        assert (total, found) == (3, sorted([*ids[1:], created.id]))
    finally:
        await db.dispose()
        await other.dispose()


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_slow_table_is_read_again_in_the_background_and_sql_answers_meanwhile(
    fresh_url: str,
) -> None:
    db = Database(fresh_url)
    store = CatalogStore(db)
    try:
        created = await store.create_product(
            ProductFields(name="Kestrel Headset", slug="kestrel", brand="Kestrel",
                          is_published=True),
            currency="CNY", actor="staff", now=NOW,
        )  # fmt: skip
        assert (await store.search_products("headset", first=5)).total_count == 1
        answered = store.facet_tables.answered
        assert answered == 1
        store.facet_tables.last_read_s = 1.0  # as a catalogue of 100,000 products takes
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE products SET is_published = :no WHERE id = :id"),
                {"no": False, "id": created.id},
            )
        # Behind: answered from SQL (exact), the table read again in the background.
        assert (await store.search_products("headset", first=5)).total_count == 0
        assert store.facet_tables.answered == answered
        reading = store.facet_tables._reading
        assert reading is not None
        await reading
        assert (await store.search_products("headset", first=5)).total_count == 0
        assert store.facet_tables.answered == answered + 1
    finally:
        store.facet_tables.close()
        await db.dispose()


@pytest.mark.parametrize("share", [4, 2])  # many matches (read by key), few (one scan)
@pytest.mark.parametrize("query", ["耳机", "headphones", "ej"])
async def test_postgresql_branches_by_the_remembered_count_answer_alike(
    postgres_shop: dict[str, str],
    query: str,
    share: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL runs one branch for a query whose match count it remembers (engine.py):
    each branch, and a remembered count that is wrong (a catalogue write since), answers
    the order the statement that counts first does."""
    db = Database(postgres_shop["catalog"])
    try:
        await _branches_answer_alike(db, query, share, monkeypatch)
    finally:
        await db.dispose()


async def _branches_answer_alike(
    db: Database, query: str, share: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.connect() as conn:
        parsed = parse_query(query)
        every = await matched_ids(conn, parsed, ranked=False)
        bound = len(every) // share
        monkeypatch.setattr(engine, "RANKED_CANDIDATES", bound)
        monkeypatch.setattr(engine, "_pg_match_counts", OrderedDict())
        pg = engine.PostgresEngine()
        first = (await pg.matched_ids(conn, parsed, ranked=True),
                 await pg.match_rows(conn, parsed, scored=True))  # fmt: skip
        (expression,) = engine._pg_match_counts
        assert engine._pg_match_counts[expression] == len(every)
        assert engine._pg_branch(expression) == ("many" if share == 4 else "few")
        for branch in ("few", "many"):
            monkeypatch.setattr(engine, "_pg_branch", lambda _e, b=branch: b)
            answer = (await pg.matched_ids(conn, parsed, ranked=True),
                      await pg.match_rows(conn, parsed, scored=True))  # fmt: skip
            assert answer == first, branch
    assert len(first[0]) == len(every) and bound >= 3
