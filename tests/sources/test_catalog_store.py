"""CatalogStore, the catalog's batch API, on SQLite and PostgreSQL: a batch answers for
exactly the keys asked (unknown ones absent), listings page by keyset without losing or
repeating a product even when every sort key ties, search matches words, and
category pages come one per category, with their totals, from one call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from sources.catalog import models as m
from sources.catalog.records import ProductFilter, ProductKind, ProductPage, ProductSort
from sources.catalog.search.index import rebuild as rebuild_search_index
from sources.catalog.store import CatalogStore
from sources.common.db import Database
from sources.common.pagination import InvalidCursor
from tests.conftest import require_postgres
from tests.migrated import upgrade_fresh
from tests.pg import create_temp_database, drop_database
from tests.remote import adapter_for

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TWINS = range(101, 113)  # twelve products alike in name, price and creation time

# id, slug, parent id, path, position. Ids cross a digit boundary (1/ vs 10/, 2 vs 12) so
# neither a path prefix nor a string sort can pass by luck.
CATEGORIES = [
    (1, "home", None, "1/", 0),
    (10, "garden", None, "10/", 1),
    (2, "kitchen", 1, "1/2/", 1),
    (3, "hall", 1, "1/3/", 0),
    (12, "attic", 1, "1/12/", 2),
    (4, "kettles", 2, "1/2/4/", 0),
    (5, "empty-shed", 10, "10/5/", 0),
]


def product(pk: int, name: str, category: int, **overrides: Any) -> dict[str, Any]:
    price = overrides.pop("price", Decimal("50.00"))
    row = {
        "id": pk,
        "slug": f"p-{pk}",
        "name": name,
        "description": "",
        "kind": "PHYSICAL",
        "fulfillment": "WAREHOUSE",
        "is_published": True,
        "category_id": category,
        "brand_id": 1,
        "supplier_id": None,
        "created_at": T0,
        "currency": "CNY",
        "price_min": price,
        "price_max": price,
        "in_stock": True,
    }
    return row | overrides


PRODUCTS = [
    *(product(pk, "Twin Kettle", 4) for pk in TWINS),
    product(201, "100% Cotton Tee", 2, price=Decimal("19.90"), created_at=T0 + timedelta(hours=1)),
    product(202, "100 Cotton Tee", 2, price=Decimal("29.90"), created_at=T0 + timedelta(hours=2)),
    product(203, "snake_case Mug", 3, price=Decimal("9.90"), description="a mug"),
    product(204, "snakeXcase Mug", 3, price=Decimal("9.90"), description="a mug"),
    product(205, "Back\\slash Poster", 12, price=Decimal("15.00"), supplier_id=1),
    product(206, "Hidden Lamp", 2, price=Decimal("5.00"), is_published=False),
    product(207, "Tent Pitching", 10, kind="SERVICE", price=Decimal("500.00"), in_stock=False),
    product(208, "Discontinued Rake", 10, price_min=None, price_max=None, in_stock=False),
    product(
        209,
        "Attic Sofa Set",
        12,
        kind="BUNDLE",
        price_min=Decimal("100.00"),
        price_max=Decimal("900.00"),
        description="Now 50% off: sofa and installation",
        created_at=T0 - timedelta(days=1),
    ),
    product(210, "Crème Brûlée Torch", 2, price=Decimal("39.00")),
]
PUBLISHED = [p for p in PRODUCTS if p["is_published"]]

# id, product id, code, position, active: product 101 lists its second SKU first.
SKUS = [
    (1001, 101, "TK-101-B", 1, True),
    (1002, 101, "TK-101-A", 0, True),
    (2011, 201, "TEE-201", 0, True),
    (2071, 207, "TENT-207", 0, True),
    (2081, 208, "RAKE-208", 0, False),
]


async def build_catalog(url: str) -> None:
    db = Database(url)
    try:
        await upgrade_fresh("catalog", db)
        async with db.begin() as conn:
            await conn.execute(
                insert(m.Category),
                [
                    {
                        "id": i,
                        "slug": s,
                        "name": s.title(),
                        "parent_id": p,
                        "path": path,
                        "position": pos,
                    }
                    for i, s, p, path, pos in CATEGORIES
                ],
            )
            await conn.execute(insert(m.Brand), [{"id": 1, "name": "Acme"}])
            await conn.execute(insert(m.Supplier), [{"id": 1, "name": "Poster Print Co"}])
            await conn.execute(insert(m.Product), PRODUCTS)
            await conn.execute(
                insert(m.Sku),
                [
                    {
                        "id": i,
                        "product_id": p,
                        "code": c,
                        "name": c,
                        "position": pos,
                        "is_active": active,
                        "purchase_limit": 2 if i == 2011 else None,
                    }
                    for i, p, c, pos, active in SKUS
                ],
            )
            await conn.execute(
                insert(m.BundleItem),
                [
                    {"bundle_product_id": 209, "sku_id": 2011, "quantity": 2},
                    {"bundle_product_id": 209, "sku_id": 1001, "quantity": 1},
                ],
            )
            await conn.execute(
                insert(m.ServiceArea),
                [{"product_id": 207, "region_code": r} for r in ("SH", "BJ")],
            )
            await rebuild_search_index(conn)  # rows written directly, as the demo seed does
    finally:
        await db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def catalog_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated catalog with the rows above, built once per backend (read-only)."""
    if request.param == "sqlite":
        directory: Path = tmp_path_factory.mktemp("catalog")
        url = f"sqlite+aiosqlite:///{directory}/catalog.db"
        asyncio.run(build_catalog(url))
        yield url
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        asyncio.run(build_catalog(url))
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture
async def store(catalog_url: str, adapter: str) -> AsyncIterator[CatalogStore]:
    db = Database(catalog_url)
    async with adapter_for(adapter, "catalog", CatalogStore(db), shared=True) as handle:
        yield handle
    await db.dispose()


def is_sqlite(store: CatalogStore) -> bool:
    return store.db.url.startswith("sqlite")


# ---- batches answer for exactly the keys asked --------------------------------------------


async def test_products_by_ids_returns_the_asked_products_and_omits_unknown_ids(
    store: CatalogStore,
) -> None:
    found = await store.products_by_ids([201, 999, 206, 201, 205])

    assert set(found) == {201, 205, 206}
    assert found[201].name == "100% Cotton Tee"
    assert found[201].price_min == Decimal("19.90")
    assert found[201].created_at == T0 + timedelta(hours=1)
    assert found[206].is_published is False, "visibility is the caller's decision"
    assert found[205].brand == "Acme" and found[205].supplier_id == 1


async def test_products_by_slugs_keys_by_slug(store: CatalogStore) -> None:
    found = await store.products_by_slugs(["p-209", "nope", "p-209"])

    assert list(found) == ["p-209"]
    assert found["p-209"].kind is ProductKind.BUNDLE
    assert (found["p-209"].price_min, found["p-209"].price_max) == (
        Decimal("100.00"),
        Decimal("900.00"),
    )


async def test_an_empty_batch_is_an_empty_answer(store: CatalogStore) -> None:
    assert await store.products_by_ids([]) == {}
    assert await store.products_by_slugs([]) == {}
    assert await store.skus_by_ids([]) == {}
    assert await store.skus_by_product_ids([]) == {}
    assert await store.categories_by_ids([]) == {}
    assert await store.bundle_items_by_product_ids([]) == {}
    assert await store.products_in_categories([], first=5) == {}


async def test_skus_by_ids_omits_unknown_ids(store: CatalogStore) -> None:
    found = await store.skus_by_ids([2011, 5, 2081])

    assert set(found) == {2011, 2081}
    assert found[2011].product_id == 201 and found[2011].purchase_limit == 2
    assert found[2081].is_active is False


async def test_skus_by_product_ids_answers_every_product_in_position_order(
    store: CatalogStore,
) -> None:
    found = await store.skus_by_product_ids([101, 202, 999])

    assert set(found) == {101, 202, 999}
    assert [s.code for s in found[101]] == ["TK-101-A", "TK-101-B"]
    assert found[202] == [] and found[999] == []


async def test_categories_by_ids_bring_their_ancestors_and_omit_unknown_ids(
    store: CatalogStore,
) -> None:
    found = await store.categories_by_ids([4, 999])

    assert 999 not in found
    assert found[4].path == (1, 2, 4) and found[4].parent_id == 2
    assert set(found) <= {1, 2, 4}, "only the asked category and its ancestors"


async def test_all_categories_puts_parents_first_and_siblings_in_position_order(
    store: CatalogStore,
) -> None:
    categories = await store.all_categories()

    ids = [c.id for c in categories]
    assert sorted(ids) == sorted(c[0] for c in CATEGORIES)
    for c in categories:
        if c.parent_id is not None:
            assert ids.index(c.parent_id) < ids.index(c.id)
    position = {i: pos for i, _, _, _, pos in CATEGORIES}
    for parent in {c.parent_id for c in categories}:
        siblings = [c.id for c in categories if c.parent_id == parent]
        assert siblings == sorted(siblings, key=position.__getitem__), parent


async def test_bundle_items_come_with_their_skus_and_products(store: CatalogStore) -> None:
    found = await store.bundle_items_by_product_ids([209, 201])

    assert found[201] == []
    items = {(i.sku.id, i.product.id): i.quantity for i in found[209]}
    assert items == {(2011, 201): 2, (1001, 101): 1}


async def test_suppliers_and_service_areas_answer_in_batches(store: CatalogStore) -> None:
    assert set(await store.suppliers_by_ids([1, 2])) == {1}
    areas = await store.service_areas_by_product_ids([207, 201])
    assert areas == {207: ["BJ", "SH"], 201: []}


async def test_a_carts_catalog_comes_in_one_call_with_only_the_reads_its_products_ask_for(
    store: CatalogStore,
) -> None:
    found = await store.cart_catalog([2011, 2071, 999])

    assert set(found.skus) == {2011, 2071}, "an unknown SKU is absent"
    assert set(found.products) == {201, 207}
    assert found.bundles == {}, "no bundle among them"
    assert found.service_areas == {207: ["BJ", "SH"]}, "only the service's"
    assert set(found.categories) == {1, 2, 10}, "the products' categories and ancestors"
    empty = await store.cart_catalog([])
    assert (empty.skus, empty.products, empty.categories) == ({}, {}, {})


async def test_a_carts_joined_sku_and_product_read_makes_the_single_purpose_reads_records(
    store: CatalogStore,
) -> None:
    wanted = [2011, 2071, 1001, 999]
    found = await store.cart_catalog(wanted)

    assert found.skus == await store.skus_by_ids(wanted)
    product_ids = sorted({sku.product_id for sku in found.skus.values()})
    assert found.products == await store.products_by_ids(product_ids)


# ---- list_products: keyset paging --------------------------------------------------------


async def walk(
    store: CatalogStore, sort: ProductSort, first: int, flt: ProductFilter = ProductFilter()
) -> tuple[list[int], list[ProductPage]]:
    ids: list[int] = []
    pages: list[ProductPage] = []
    after = None
    while True:
        page = await store.list_products(first=first, after=after, filter=flt, sort=sort)
        pages.append(page)
        ids += [p.id for p in page.products]
        assert len(page.cursors) == len(page.products)
        if not page.has_next_page:
            return ids, pages
        assert len(pages) < 100
        after = page.cursors[-1]


def expected_order(sort: ProductSort, rows: list[dict[str, Any]]) -> list[int]:
    """The documented order: the sort key, then the id, both in the sort's direction; a
    product without a price comes after every priced one, whichever way prices sort."""
    if sort in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC):
        priced = [r for r in rows if r["price_min"] is not None]
        unpriced = [r for r in rows if r["price_min"] is None]
        descending = sort is ProductSort.PRICE_DESC
        return [
            r["id"]
            for group in (priced, unpriced)
            for r in sorted(
                group, key=lambda r: (r["price_min"] or Decimal(0), r["id"]), reverse=descending
            )
        ]
    key = {
        ProductSort.NEWEST: lambda r: (r["created_at"], r["id"]),
        ProductSort.NAME: lambda r: (r["name"], r["id"]),
    }[sort]
    return [r["id"] for r in sorted(rows, key=key, reverse=sort is ProductSort.NEWEST)]


@pytest.mark.parametrize("sort", list(ProductSort))
@pytest.mark.parametrize("first", [1, 5, 50])
async def test_keyset_paging_visits_every_product_once_when_sort_keys_tie(
    store: CatalogStore, sort: ProductSort, first: int
) -> None:
    ids, pages = await walk(store, sort, first)

    assert ids == expected_order(sort, PUBLISHED)
    assert all(p.total_count == len(PUBLISHED) for p in pages)
    assert [p.has_next_page for p in pages] == [True] * (len(pages) - 1) + [False]


async def test_first_zero_counts_without_listing(store: CatalogStore) -> None:
    page = await store.list_products(first=0)

    assert page.products == [] and page.cursors == []
    assert page.total_count == len(PUBLISHED)
    assert page.has_next_page is True


async def test_a_cursor_from_another_sort_is_refused(store: CatalogStore) -> None:
    page = await store.list_products(first=2, sort=ProductSort.NAME)

    with pytest.raises(InvalidCursor):
        await store.list_products(first=2, after=page.cursors[-1], sort=ProductSort.PRICE_ASC)
    with pytest.raises(InvalidCursor):
        await store.list_products(first=2, after="not a cursor", sort=ProductSort.NAME)


async def test_include_unpublished_lists_hidden_products_too(store: CatalogStore) -> None:
    everyone = ProductFilter(include_unpublished=True)

    ids, pages = await walk(store, ProductSort.PRICE_ASC, 4, everyone)

    assert ids == expected_order(ProductSort.PRICE_ASC, PRODUCTS)
    assert pages[0].total_count == len(PRODUCTS)


# ---- list_products: filters --------------------------------------------------------------


def published_where(**match: Any) -> set[int]:
    return {p["id"] for p in PUBLISHED if all(p[k] == v for k, v in match.items())}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        # A category includes its subcategories; 1/ is no prefix of 10/.
        (ProductFilter(category_slug="home"), {*TWINS, 201, 202, 203, 204, 205, 209, 210}),
        (ProductFilter(category_slug="kitchen"), {*TWINS, 201, 202, 210}),
        (ProductFilter(category_id=10), {207, 208}),
        (ProductFilter(category_slug="empty-shed"), set()),
        (ProductFilter(kind=ProductKind.SERVICE), {207}),
        (ProductFilter(in_stock=False), {207, 208}),
        # Any of its prices in range: the 100..900 sofa matches 800..1000.
        (ProductFilter(min_price=Decimal("800"), max_price=Decimal("1000")), {209}),
        (ProductFilter(max_price=Decimal("9.90")), {203, 204}),
        (ProductFilter(min_price=Decimal("500")), {207, 209}),
        (
            ProductFilter(category_slug="home", in_stock=True, max_price=Decimal("20")),
            {201, 203, 204, 205},
        ),
    ],
)
async def test_filters_combine_with_and(
    store: CatalogStore, flt: ProductFilter, expected: set[int]
) -> None:
    ids, pages = await walk(store, ProductSort.NAME, 3, flt)

    assert set(ids) == expected and len(ids) == len(expected)
    assert pages[0].total_count == len(expected)


async def test_an_unknown_category_is_an_empty_page(store: CatalogStore) -> None:
    page = await store.list_products(first=5, filter=ProductFilter(category_slug="nowhere"))

    assert (page.products, page.total_count, page.has_next_page) == ([], 0, False)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        # The search engine matches words: punctuation and wildcards are separators.
        ("%", set()),
        ("0%", set()),
        ("100%", {201, 202}),  # '100% Cotton Tee' and '100 Cotton Tee'
        ("_", set()),
        ("snake_case", {203}),  # not snakeXcase
        ("\\", set()),
        ("cotton", {201, 202}),
        ("COTTON TEE", {201, 202}),
        ("  mug  ", {203, 204}),
        ("installation", {209}),  # the description counts too
        ("hidden", set()),  # unpublished
    ],
)
async def test_search_matches_words_in_any_case_and_ignores_query_syntax(
    store: CatalogStore, search: str, expected: set[int]
) -> None:
    ids, pages = await walk(store, ProductSort.NEWEST, 50, ProductFilter(search=search))

    assert set(ids) == expected
    assert pages[0].total_count == len(expected)


async def test_search_folds_the_case_of_accented_letters(
    request: pytest.FixtureRequest, store: CatalogStore
) -> None:

    ids, _ = await walk(store, ProductSort.NEWEST, 50, ProductFilter(search="CRÈME BRÛLÉE"))

    assert ids == [210]


# ---- products_in_categories --------------------------------------------------------------


async def test_each_category_gets_its_own_page_and_total_in_one_call(
    store: CatalogStore,
) -> None:
    pages = await store.products_in_categories([1, 2, 10, 5, 999, 12], first=3)

    assert list(pages) == [1, 2, 10, 5, 999, 12]
    home = {*TWINS, 201, 202, 203, 204, 205, 209, 210}
    totals = {cid: page.total_count for cid, page in pages.items()}
    assert totals == {1: len(home), 2: 15, 10: 2, 5: 0, 999: 0, 12: 2}
    newest = {cid: [p.id for p in page.products] for cid, page in pages.items()}
    assert newest[1] == [202, 201, 210]  # newest first; ties on time go to the higher id
    assert newest[10] == [208, 207]
    assert newest[12] == [205, 209]
    assert newest[5] == newest[999] == []
    assert {cid: page.has_next_page for cid, page in pages.items()} == {
        1: True,
        2: True,
        10: False,
        5: False,
        999: False,
        12: False,
    }


async def test_category_pages_walk_to_the_end_without_repeats(store: CatalogStore) -> None:
    ids: list[int] = []
    after = None
    while True:
        page = (await store.products_in_categories([2], first=4, after=after))[2]
        ids += [p.id for p in page.products]
        if not page.has_next_page:
            break
        after = page.cursors[-1]

    kitchen = [p for p in PUBLISHED if p["category_id"] in (2, 4)]
    assert ids == expected_order(ProductSort.NEWEST, kitchen)


async def test_category_pages_keep_unpublished_products_out(store: CatalogStore) -> None:
    page = (await store.products_in_categories([2], first=50))[2]

    assert 206 not in {p.id for p in page.products}
    assert page.total_count == len(page.products) == 15


async def test_a_category_page_refuses_a_cursor_of_another_sort(store: CatalogStore) -> None:
    listing = await store.list_products(first=1, sort=ProductSort.NAME)

    with pytest.raises(InvalidCursor):
        await store.products_in_categories([1], first=2, after=listing.cursors[0])


def test_the_fixture_rows_are_what_the_tests_assume() -> None:
    """Guards the expectations above against an edit of the rows."""
    assert len({p["id"] for p in PRODUCTS}) == len(PRODUCTS)
    assert published_where(category_id=4) == set(TWINS)


async def test_a_page_without_its_total_is_not_counted(store: CatalogStore) -> None:
    counted = await store.list_products(first=2, sort=ProductSort.NAME)
    uncounted = await store.list_products(first=2, sort=ProductSort.NAME, with_total=False)

    assert uncounted.total_count is None and counted.total_count == len(PUBLISHED)
    assert (uncounted.products, uncounted.cursors) == (counted.products, counted.cursors)
    assert uncounted.has_next_page is counted.has_next_page is True
