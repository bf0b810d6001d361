"""Search over the demo shop on SQLite FTS5 and PostgreSQL full-text search, in process and
over HTTP: Chinese words, pinyin (full and initials), English with typos, ranked (a word in
the name outranks the description), facet counts that add up, paging that visits every
result once, and bad input answered with an empty result, never an engine error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sources.catalog.records import ProductFilter, SearchSort
from sources.catalog.search import engine
from sources.catalog.store import CatalogStore
from sources.common.db import Database
from sources.common.pagination import InvalidCursor
from tests.remote import adapter_for


@pytest.fixture
async def store(shop_url: str, adapter: str) -> AsyncIterator[CatalogStore]:
    db = Database(shop_url)
    async with adapter_for(adapter, "catalog", CatalogStore(db), shared=True) as handle:
        yield handle
    await db.dispose()


def names(page: object) -> list[str]:
    return [p.name for p in page.products]  # type: ignore[attr-defined]


@pytest.mark.parametrize("query", ["耳机", "erji", "ej", "headset", "headst", "Headsets"])
async def test_chinese_pinyin_english_and_a_typo_all_find_headsets(
    store: CatalogStore, query: str
) -> None:
    page = await store.search_products(query, first=50)

    assert any("Headset" in name for name in names(page)), names(page)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("降噪耳机", "Noise-Cancelling Headphones"),
        ("jiangzao", "Noise-Cancelling Headphones"),
        ("电饭煲", "Rice Cooker"),
        ("dianfanbao", "Rice Cooker"),
        ("wireles headphones", "Wireless Headphones"),
        ("rice cookr", "Rice Cooker"),
    ],
)
async def test_the_product_named_by_the_query_ranks_first(
    store: CatalogStore, query: str, expected: str
) -> None:
    page = await store.search_products(query, first=3)

    assert page.products and expected in page.products[0].name, names(page)


async def test_a_corrected_spelling_is_reported(store: CatalogStore) -> None:
    page = await store.search_products("wireles headphones", first=1)

    assert page.corrected_query == "wireless headphones"
    assert (await store.search_products("wireless", first=1)).corrected_query is None


async def test_a_word_in_the_name_outranks_it_in_the_description(store: CatalogStore) -> None:
    # "installation" names the installation services and is in bundles' descriptions
    page = await store.search_products("installation", first=100)

    ranks = [("Installation" in n) for n in names(page)]
    assert ranks[0]
    assert ranks == sorted(ranks, reverse=True) or ranks.index(False) > 0


@pytest.mark.parametrize(
    "query", ["", "   ", '"', "*", ":", "AND", "-", "NEAR(", "😀😀", "a\x00b", "x" * 1000, "'\\"]
)
async def test_bad_input_is_an_answer_never_an_error(store: CatalogStore, query: str) -> None:
    page = await store.search_products(query, first=5)

    assert page.total_count == len(page.products) or page.total_count > 5
    suggestions = await store.predictive_search(query, limit=5)
    assert len(suggestions.products) <= 5


async def test_unpublished_products_never_appear(store: CatalogStore) -> None:
    every = await store.list_products(first=500, filter=ProductFilter(include_unpublished=True))
    hidden = [p for p in every.products if not p.is_published]
    assert hidden
    for product in hidden[:3]:
        page = await store.search_products(product.name, first=100)
        assert product.id not in {p.id for p in page.products}


async def test_each_facet_adds_up_to_the_total_and_selecting_a_value_gives_its_count(
    store: CatalogStore,
) -> None:
    page = await store.search_products("耳机", first=1)
    facets = {f.name: f for f in page.facets}

    assert {"category", "brand", "price", "kind", "availability"} <= set(facets)
    for name in ("category", "brand", "price", "kind", "availability"):
        assert sum(v.count for v in facets[name].values) == page.total_count, name
    brand = facets["brand"].values[0]
    chosen = await store.search_products(
        "耳机", first=1, filter=ProductFilter(brands=(brand.value,))
    )
    assert chosen.total_count == brand.count
    # the brand facet still counts the other brands (it is not narrowed by its own pick)
    assert {f.name: f for f in chosen.facets}["brand"].values == facets["brand"].values
    band = facets["price"].values[0]
    priced = await store.search_products(
        "耳机", first=1, filter=ProductFilter(price_band=band.value)
    )
    assert priced.total_count == band.count
    spec = next(f for f in page.facets if f.name.startswith("spec:"))
    assert all(v.count <= page.total_count for v in spec.values)


async def test_paging_visits_every_result_once_in_rank_order(store: CatalogStore) -> None:
    whole = await store.search_products("headphones", first=100, with_facets=False)
    seen: list[int] = []
    after = None
    while True:
        page = await store.search_products("headphones", first=4, after=after, with_facets=False)
        seen += [p.id for p in page.products]
        assert page.total_count == whole.total_count
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    assert seen == [p.id for p in whole.products]


@pytest.mark.parametrize("sort", [SearchSort.PRICE_ASC, SearchSort.PRICE_DESC, SearchSort.NEWEST])
async def test_other_sorts_order_the_same_results(store: CatalogStore, sort: SearchSort) -> None:
    ranked = await store.search_products("耳机", first=100, with_facets=False)
    page = await store.search_products("耳机", first=100, sort=sort, with_facets=False)

    assert {p.id for p in page.products} == {p.id for p in ranked.products}
    if sort is SearchSort.NEWEST:
        keys = [p.created_at for p in page.products]
        assert keys == sorted(keys, reverse=True)
    else:
        prices = [p.price_min for p in page.products]
        assert prices == sorted(prices, reverse=sort is SearchSort.PRICE_DESC)  # type: ignore[type-var]


async def test_a_cursor_from_another_sort_is_refused(store: CatalogStore) -> None:
    page = await store.search_products("耳机", first=2, with_facets=False)
    with pytest.raises(InvalidCursor):
        await store.search_products("耳机", first=2, after=page.cursors[-1], sort=SearchSort.NEWEST)


async def test_the_products_listing_search_uses_the_engine(store: CatalogStore) -> None:
    page = await store.list_products(first=50, filter=ProductFilter(search="erji"))

    assert page.total_count == (await store.search_products("erji", first=1)).total_count > 0


async def test_predictive_search_completes_the_word_being_typed(store: CatalogStore) -> None:
    typed = await store.predictive_search("wireless head", limit=5)

    assert "wireless headphones" in typed.queries
    assert typed.products and all("Wireless" in p.name for p in typed.products)
    chinese = await store.predictive_search("耳", limit=5)
    assert chinese.products and chinese.category_ids


@pytest.mark.parametrize("typed", ["e", "耳", "erj", "head", "wireless he", "空气", "dian"])
async def test_suggestions_walked_or_from_the_index_are_the_same(
    shop_url: str, typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's suggestions take their candidates from a walk of the newest documents
    or from the GIN index (engine.py, SUGGESTION_WALK): where the walk reaches every
    document, both give the same suggestions (on SQLite the constants change nothing)."""
    db = Database(shop_url)
    store = CatalogStore(db)
    try:
        walked = await store.predictive_search(typed, limit=8)
        monkeypatch.setattr(engine, "SUGGESTION_FOUND", 10**6)  # never enough: the index
        indexed = await store.predictive_search(typed, limit=8)
    finally:
        await db.dispose()
    assert walked.products
    assert [p.id for p in walked.products] == [p.id for p in indexed.products]
