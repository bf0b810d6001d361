"""Price words in a query: a bound ("under 300", "500元以下", "2000到6000元") filters the
results and their facets as a picked price would; "cheap" / "便宜" keeps the cheaper half of
what was searched for; a number that is no price ("iphone 15") is matched as a word."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from sources.catalog.search.prices import price_words
from sources.catalog.store import CatalogStore
from sources.common.db import Database


@pytest.mark.parametrize(
    ("query", "text", "low", "high", "cheap"),
    [
        ("headphones under 300", "headphones", None, "300", False),
        ("below $100 earbuds", "earbuds", None, "100", False),
        ("500元以下 耳机", "耳机", None, "500", False),
        ("耳机 低于500元", "耳机", None, "500", False),
        ("空气炸锅 300以内", "空气炸锅", None, "300", False),
        ("1000元以上 电视", "电视", "1000", None, False),
        ("headphones over 500", "headphones", "500", None, False),
        ("sofa between 1000 and 3000", "sofa", "1000", "3000", False),
        ("tv 3000到5000元", "tv", "3000", "5000", False),
        ("¥100-300 耳机", "耳机", "100", "300", False),
        ("cheap headphones", "headphones", None, None, True),
        ("便宜耳机", "耳机", None, None, True),
        ("sony wh-1000xm5", "sony wh-1000xm5", None, None, False),
        ("iphone 15", "iphone 15", None, None, False),
        ("cover 50", "cover 50", None, None, False),
    ],
)
def test_a_query_is_read_for_its_price_words(
    query: str, text: str, low: str | None, high: str | None, cheap: bool
) -> None:
    found = price_words(query)

    assert found.text == text
    assert found.low == (Decimal(low) if low else None)
    assert found.high == (Decimal(high) if high else None)
    assert found.cheap is cheap


@pytest.fixture
async def store(shop_url: str) -> AsyncIterator[CatalogStore]:
    db = Database(shop_url)
    yield CatalogStore(db)
    await db.dispose()


async def test_a_price_bound_filters_the_results_and_their_facets(store: CatalogStore) -> None:
    every = await store.search_products("耳机", first=100)
    bounded = await store.search_products("耳机 1000元以下", first=100)

    assert 0 < bounded.total_count < every.total_count
    assert all(p.price_min is not None and p.price_min <= 1000 for p in bounded.products)
    prices = {f.name: f for f in bounded.facets}["price"]
    assert sum(v.count for v in prices.values) == bounded.total_count
    assert {v.value for v in prices.values} <= {"0-100", "100-300", "300-1000"}
    english = await store.search_products("headphones under 1000", first=100)
    assert {p.id for p in english.products} <= {p.id for p in every.products}


async def test_cheap_keeps_the_cheaper_half_of_what_was_searched_for(
    store: CatalogStore,
) -> None:
    every = await store.search_products("耳机", first=100)
    cheap = await store.search_products("便宜 耳机", first=100)

    prices = sorted(p.price_min for p in every.products if p.price_min is not None)
    median = prices[(len(prices) - 1) // 2]
    assert 0 < cheap.total_count < every.total_count
    assert all(p.price_min is not None and p.price_min <= median for p in cheap.products)
    assert (await store.search_products("cheap headphones", first=1)).total_count > 0


async def test_price_words_alone_are_matched_as_words(store: CatalogStore) -> None:
    page = await store.search_products("under 50", first=5)

    assert page.total_count == len(page.products) or page.total_count > 5
