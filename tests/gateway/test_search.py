"""Search as a storefront uses it, over HTTP on both backends: ranked products with facet
counts and suggestions, one call to the catalog's search whatever the page size, the same
batched calls as a listing for what the products show, and bad input answered cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveGateway, serve, settings_for

SEARCH = """
query Search($query: String!, $first: Int, $after: String, $filter: ProductFilter,
             $sort: SearchSort) {
  search(query: $query, first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount correctedQuery
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id slug name brand priceRange { min { amount } } } }
    facets { name label values { value label count selected } }
  }
}
"""

PREDICTIVE = """
query Predict($query: String!) {
  predictiveSearch(query: $query, limit: 5) { queries products { name } categories { slug } }
}
"""

SEARCH_CALLS = {
    "catalog.search_products": 1,
    "catalog.skus_by_product_ids": 1,
    "pricing.prices_by_sku_ids": 1,
}


@pytest.fixture(scope="module")
def gateway(shop: dict[str, str]) -> Iterator[LiveGateway]:
    # Names as the catalogue writes them (English); test_languages.py reads them in Chinese.
    yield from serve(settings_for(shop, cache={"enabled": False}, languages={"default": "en"}))


def search(gateway: LiveGateway, query: str, **variables: Any) -> dict[str, Any]:
    result = gateway.query(SEARCH, {"query": query, **variables})
    assert "errors" not in result, result
    found: dict[str, Any] = result["data"]["search"]
    return found


@pytest.mark.parametrize("query", ["耳机", "erji", "ej", "headset", "headst"])
def test_a_buyer_finds_headsets_in_chinese_pinyin_english_or_with_a_typo(
    gateway: LiveGateway, query: str
) -> None:
    found = search(gateway, query, first=20)

    assert any("Headset" in e["node"]["name"] for e in found["edges"])
    assert found["correctedQuery"] == ("headset" if query == "headst" else None)


def test_a_result_page_costs_one_search_and_the_listings_batches(gateway: LiveGateway) -> None:
    small, small_calls = gateway.calls_during(SEARCH, {"query": "耳机", "first": 2})
    large, large_calls = gateway.calls_during(SEARCH, {"query": "耳机", "first": 20})

    assert "errors" not in large
    assert len(large["data"]["search"]["edges"]) > len(small["data"]["search"]["edges"])
    assert small_calls == large_calls == SEARCH_CALLS


def test_facets_add_up_and_a_selected_value_narrows_to_its_count(gateway: LiveGateway) -> None:
    found = search(gateway, "headphones")
    facets = {f["name"]: f for f in found["facets"]}
    assert sum(v["count"] for v in facets["brand"]["values"]) == found["totalCount"]
    brand = facets["brand"]["values"][0]

    chosen = search(gateway, "headphones", filter={"brands": [brand["value"]]})

    assert chosen["totalCount"] == brand["count"]
    assert {e["node"]["brand"] for e in chosen["edges"]} == {brand["value"]}
    values = {v["value"]: v for f in chosen["facets"] if f["name"] == "brand" for v in f["values"]}
    assert values[brand["value"]]["selected"]
    category = facets["category"]["values"][0]
    narrowed = search(gateway, "headphones", filter={"categorySlugs": [category["value"]]})
    assert narrowed["totalCount"] == category["count"]


def test_pages_follow_each_other_without_repeats(gateway: LiveGateway) -> None:
    first = search(gateway, "耳机", first=3)
    second = search(gateway, "耳机", first=3, after=first["pageInfo"]["endCursor"])

    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(ids) == len(set(ids)) == 6
    whole = search(gateway, "耳机", first=6)
    assert [e["node"]["id"] for e in whole["edges"]] == ids


def test_sorting_by_price(gateway: LiveGateway) -> None:
    found = search(gateway, "耳机", first=20, sort="PRICE_ASC")

    prices = [float(e["node"]["priceRange"]["min"]["amount"]) for e in found["edges"]]
    assert prices == sorted(prices)


@pytest.mark.parametrize("query", ["", "   ", '"*:AND-', "NEAR(a b)", "😀", "' OR 1=1 --"])
def test_query_syntax_and_blank_queries_are_answers(gateway: LiveGateway, query: str) -> None:
    found = search(gateway, query)

    assert found["totalCount"] >= len(found["edges"])


@pytest.mark.parametrize("query", ["x" * 1000, "a\x00b"])
def test_an_overlong_query_or_a_nul_is_bad_user_input(gateway: LiveGateway, query: str) -> None:
    result = gateway.query(SEARCH, {"query": query})

    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    predicted = gateway.query(PREDICTIVE, {"query": query})
    assert predicted["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_cursor_of_another_sort_is_invalid(gateway: LiveGateway) -> None:
    page = search(gateway, "耳机", first=2)
    result = gateway.query(
        SEARCH, {"query": "耳机", "after": page["pageInfo"]["endCursor"], "sort": "NEWEST"}
    )

    assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_predictive_search_suggests_while_typing(gateway: LiveGateway) -> None:
    result = gateway.query(PREDICTIVE, {"query": "wireless head"})

    assert "errors" not in result, result
    found = result["data"]["predictiveSearch"]
    assert "wireless headphones" in found["queries"]
    assert found["products"]
    chinese = gateway.query(PREDICTIVE, {"query": "耳"})["data"]["predictiveSearch"]
    assert "headphones" in [c["slug"] for c in chinese["categories"]]


def test_the_products_search_filter_is_ranked_by_the_engine(gateway: LiveGateway) -> None:
    result = gateway.query(
        "query($q: String) { products(first: 5, filter: {search: $q}) "
        "{ totalCount edges { node { name } } } }",
        {"q": "dianfanbao"},
    )

    assert "errors" not in result, result
    names = [e["node"]["name"] for e in result["data"]["products"]["edges"]]
    assert names and all("Rice Cooker" in n for n in names)
