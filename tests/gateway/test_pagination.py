"""Walking the product listing as a storefront does: every sort and page size visits each
published product once, in order, with honest page info; filters agree with filtering the
whole catalogue by hand; bad paging arguments are typed client errors, never a 500."""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from tests.conftest import LiveGateway, serve, settings_for

from .support import PAGE_QUERY, amount, created_at_by_slug, error_codes, walk

SORTS = ["NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME"]
Node = dict[str, Any]


@pytest.fixture(scope="module")
def gateway_on(shop: dict[str, str]) -> Iterator[LiveGateway]:
    """The session shop's gateway answering in English, the base text: sort NAME orders
    the base names (docs/search.md#languages), which these tests compare with."""
    yield from serve(settings_for(shop, languages={"default": "en"}))


@pytest.fixture(scope="module")
def created_at(shop: dict[str, str]) -> dict[str, datetime]:
    return created_at_by_slug(shop["catalog"])


@pytest.fixture(scope="module")
def catalogue(gateway_on: LiveGateway) -> list[Node]:
    """Every published product, newest first, as the listing shows them."""
    nodes, pages = walk(gateway_on, first=100, query=PAGE_QUERY)
    assert len(nodes) == pages[0]["totalCount"] > 100
    return nodes


@pytest.fixture(scope="module")
def ancestors(gateway_on: LiveGateway) -> dict[str, set[str]]:
    """Each category's slug with those of every category above it."""
    categories = gateway_on.query("{ categories { slug parent { slug } } }")["data"]["categories"]
    parent = {c["slug"]: c["parent"]["slug"] if c["parent"] else None for c in categories}
    lineage: dict[str, set[str]] = {}
    for slug in parent:
        chain, at = set(), slug
        while at is not None:
            chain.add(at)
            at = parent[at]
        lineage[slug] = chain
    return lineage


def has_active_sku(node: Node) -> bool:
    return any(sku["active"] for sku in node["skus"])


def sort_key(sort: str, created_at: dict[str, datetime]) -> Callable[[Node], Any]:
    if sort == "NEWEST":
        return lambda n: created_at[n["slug"]]
    if sort == "NAME":
        return lambda n: n["name"]
    return lambda n: amount(n["priceRange"]["min"])


def assert_in_order(nodes: list[Node], sort: str, created_at: dict[str, datetime]) -> None:
    """The fields a buyer sees follow the sort. Price sorts are checked over products a buyer
    can buy (see test_a_price_sorted_listing_is_in_price_range_order for the others)."""
    if sort in ("PRICE_ASC", "PRICE_DESC"):
        nodes = [n for n in nodes if has_active_sku(n)]
    keys = [sort_key(sort, created_at)(n) for n in nodes]
    descending = sort in ("NEWEST", "PRICE_DESC")
    for i, (a, b) in enumerate(itertools.pairwise(keys)):
        assert (a >= b) if descending else (a <= b), (
            f"{sort}: {nodes[i]['slug']} ({a}) before {nodes[i + 1]['slug']} ({b})"
        )


def assert_honest_pages(nodes: list[Node], pages: list[dict[str, Any]]) -> None:
    total = pages[0]["totalCount"]
    assert len(nodes) == total
    assert len({n["id"] for n in nodes}) == total, "a product showed up twice"
    assert all(p["totalCount"] == total for p in pages)
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)


@pytest.mark.parametrize("sort", SORTS)
def test_every_page_of_each_sort_shows_each_product_once_in_order(
    gateway_on: LiveGateway,
    catalogue: list[Node],
    created_at: dict[str, datetime],
    sort: str,
) -> None:
    small, small_pages = walk(gateway_on, first=7, sort=sort)
    large, large_pages = walk(gateway_on, first=50, sort=sort)

    for nodes, pages in ((small, small_pages), (large, large_pages)):
        assert_honest_pages(nodes, pages)
        assert_in_order(nodes, sort, created_at)
    assert {n["id"] for n in small} == {n["id"] for n in catalogue}
    assert len(small_pages) == -(-len(catalogue) // 7)
    # Ties (same name, same price) break the same way whatever the page size.
    assert [n["id"] for n in small] == [n["id"] for n in large]


def test_a_price_sorted_listing_is_in_price_range_order(gateway_on: LiveGateway) -> None:
    """Products a buyer can price come in priceRange order; those with no active SKU (no
    price to sort by, priceRange 0.00) come after all of them, in either direction."""
    for sort, descending in (("PRICE_ASC", False), ("PRICE_DESC", True)):
        nodes, _ = walk(gateway_on, first=100, sort=sort, query=PAGE_QUERY)
        priceable = [any(s["active"] for s in n["skus"]) for n in nodes]
        assert priceable == sorted(priceable, reverse=True), "unpriced products sort last"
        prices = [
            amount(n["priceRange"]["min"]) for n, ok in zip(nodes, priceable, strict=True) if ok
        ]
        assert prices == sorted(prices, reverse=descending)
        assert all(
            amount(n["priceRange"]["min"]) == 0
            for n, ok in zip(nodes, priceable, strict=True)
            if not ok
        )


def test_resuming_after_any_edge_continues_right_after_it(gateway: LiveGateway) -> None:
    first = gateway.query(PAGE_QUERY, {"first": 10, "sort": "NAME"})["data"]["products"]
    edges = first["edges"]
    assert first["pageInfo"]["startCursor"] == edges[0]["cursor"]
    assert first["pageInfo"]["endCursor"] == edges[-1]["cursor"]

    resumed = gateway.query(PAGE_QUERY, {"first": 5, "sort": "NAME", "after": edges[3]["cursor"]})
    assert [e["node"]["id"] for e in resumed["data"]["products"]["edges"]] == [
        e["node"]["id"] for e in edges[4:9]
    ]


def test_first_zero_is_an_empty_page_that_still_counts(
    gateway: LiveGateway, catalogue: list[Node]
) -> None:
    result = gateway.query(PAGE_QUERY, {"first": 0})

    connection = result["data"]["products"]
    assert connection["edges"] == []
    assert connection["totalCount"] == len(catalogue)
    assert connection["pageInfo"]["startCursor"] is None
    assert connection["pageInfo"]["endCursor"] is None
    assert connection["pageInfo"]["hasNextPage"] is True


def search_matches(needle: str) -> Callable[[Node, dict[str, set[str]]], bool]:
    """The search engine matches words (punctuation separates them, and matches nothing)."""
    word = needle.strip().lower()

    def match(n: Node, _: dict[str, set[str]]) -> bool:
        text = f"{n['name']} {n['description']}".lower()
        return bool(word.isalnum()) and word in re.findall(r"[a-z0-9]+", text)

    return match


def in_category(slug: str) -> Callable[[Node, dict[str, set[str]]], bool]:
    return lambda n, lineage: n["category"] is not None and slug in lineage[n["category"]["slug"]]


def priced_between(
    low: str | None, high: str | None
) -> Callable[[Node, dict[str, set[str]]], bool]:
    """Any of its active SKUs' prices in the range: [min, max] overlaps [low, high]."""

    def match(n: Node, _: dict[str, set[str]]) -> bool:
        if not has_active_sku(n):
            return False
        lo, hi = amount(n["priceRange"]["min"]), amount(n["priceRange"]["max"])
        return (low is None or hi >= Decimal(low)) and (high is None or lo <= Decimal(high))

    return match


def all_of(
    *predicates: Callable[[Node, dict[str, set[str]]], bool],
) -> Callable[[Node, dict[str, set[str]]], bool]:
    return lambda n, lineage: all(p(n, lineage) for p in predicates)


FILTERS = [
    pytest.param({"categorySlug": "electronics"}, "NAME", in_category("electronics"), id="parent"),
    pytest.param({"categorySlug": "audio"}, "PRICE_ASC", in_category("audio"), id="mid-level"),
    pytest.param({"categorySlug": "speakers"}, "NEWEST", in_category("speakers"), id="leaf"),
    pytest.param({"kind": "SERVICE"}, "PRICE_DESC", lambda n, _: n["kind"] == "SERVICE", id="svc"),
    pytest.param({"kind": "BUNDLE"}, "NAME", lambda n, _: n["kind"] == "BUNDLE", id="bundle"),
    pytest.param({"inStock": True}, "PRICE_ASC", lambda n, _: n["inStock"], id="in-stock"),
    pytest.param({"inStock": False}, "NEWEST", lambda n, _: not n["inStock"], id="sold-out"),
    pytest.param({"search": "Wireless"}, "NAME", search_matches("wireless"), id="search"),
    pytest.param({"search": "  KETTLE "}, "NEWEST", search_matches("kettle"), id="search-case"),
    pytest.param({"search": "%"}, "NAME", search_matches("%"), id="search-percent"),
    pytest.param({"search": "_"}, "NAME", search_matches("_"), id="search-underscore"),
    pytest.param(
        {"minPrice": "100", "maxPrice": "500"}, "PRICE_ASC", priced_between("100", "500"), id="band"
    ),
    pytest.param({"minPrice": "5000"}, "PRICE_DESC", priced_between("5000", None), id="min"),
    pytest.param({"maxPrice": "99.90"}, "NAME", priced_between(None, "99.90"), id="max"),
    pytest.param(
        {"categorySlug": "home-appliances", "inStock": True, "minPrice": "200"},
        "PRICE_DESC",
        all_of(
            in_category("home-appliances"), lambda n, _: n["inStock"], priced_between("200", None)
        ),
        id="combined",
    ),
]


@pytest.mark.parametrize(("filter", "sort", "matches"), FILTERS)
def test_filtered_listing_agrees_with_filtering_the_whole_catalogue(
    gateway_on: LiveGateway,
    catalogue: list[Node],
    ancestors: dict[str, set[str]],
    created_at: dict[str, datetime],
    filter: dict[str, Any],
    sort: str,
    matches: Callable[[Node, dict[str, set[str]]], bool],
) -> None:
    expected = [n["slug"] for n in catalogue if matches(n, ancestors)]
    # Several pages either way; small pages for small sets keep the walk cheap.
    nodes, pages = walk(gateway_on, first=7 if len(expected) < 60 else 40, sort=sort, filter=filter)

    assert sorted(n["slug"] for n in nodes) == sorted(expected)
    assert_honest_pages(nodes, pages)
    assert_in_order(nodes, sort, created_at)
    if filter.get("search") not in ("%", "_"):
        assert expected, "a filter case that matches nothing proves little"


def test_a_parent_category_listing_includes_its_subcategories(gateway: LiveGateway) -> None:
    parent, _ = walk(gateway, first=50, filter={"categorySlug": "electronics"}, query=PAGE_QUERY)
    leaves = {n["category"]["slug"] for n in parent}

    assert leaves >= {"headphones", "speakers", "tvs"}, "grandchildren count too"
    assert "electronics" not in leaves, "the demo shop files products under leaves only"


def test_category_products_page_the_same_way_as_the_filtered_listing(
    gateway_on: LiveGateway,
) -> None:
    category = gateway_on.query("{ categories { id slug } }")["data"]["categories"][0]
    query = """
    query($id: ID!, $after: String) {
      node(id: $id) {
        ... on Category {
          products(first: 7, after: $after) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { node { id slug } }
          }
        }
      }
    }"""
    nodes: list[Node] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        result = gateway_on.query(query, {"id": category["id"], "after": after})
        assert "errors" not in result, result["errors"]
        connection = result["data"]["node"]["products"]
        nodes += [e["node"] for e in connection["edges"]]
        pages.append(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    listing, _ = walk(gateway_on, first=50, filter={"categorySlug": category["slug"]})
    assert_honest_pages(nodes, pages)
    assert [n["id"] for n in nodes] == [n["id"] for n in listing], "both newest first"


# ---- bad paging arguments ----------------------------------------------------------------


def cursor_of(*parts: Any) -> str:
    """A cursor with chosen contents, spelled the way the gateway spells its own."""
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def assert_client_error(result: dict[str, Any], code: str) -> None:
    assert result["data"] is None, "an error must not come with a partial listing"
    assert error_codes(result) == [code], result["errors"]
    message = result["errors"][0]["message"]
    assert "SELECT" not in message and "Traceback" not in message, message


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "",
        "é",
        base64.b64encode(b"not json").decode(),
        cursor_of(1, 2, 3),
        cursor_of("NEWEST", "yesterday", 1),
        cursor_of("NEWEST", None, 1),
        cursor_of("NEWEST", "2024-01-01T00:00:00+00:00", "1"),
    ],
)
def test_a_malformed_cursor_is_invalid_cursor(gateway: LiveGateway, cursor: str) -> None:
    result = gateway.query(PAGE_QUERY, {"first": 5, "after": cursor})

    assert_client_error(result, "INVALID_CURSOR")


@pytest.mark.parametrize(
    ("made_by", "used_with"), [("NAME", "PRICE_ASC"), ("PRICE_DESC", "NEWEST")]
)
def test_a_cursor_from_another_sort_is_invalid_cursor(
    gateway: LiveGateway, made_by: str, used_with: str
) -> None:
    page = gateway.query(PAGE_QUERY, {"first": 3, "sort": made_by})["data"]["products"]

    result = gateway.query(
        PAGE_QUERY, {"first": 3, "sort": used_with, "after": page["pageInfo"]["endCursor"]}
    )
    assert_client_error(result, "INVALID_CURSOR")


def test_a_malformed_category_cursor_is_invalid_cursor(gateway: LiveGateway) -> None:
    result = gateway.query(
        "query($after: String) { categories { products(first: 2, after: $after) { totalCount } } }",
        {"after": "garbage"},
    )

    assert_client_error(result, "INVALID_CURSOR")


FORGED = [
    # (sort, cursor contents, backends where today it leaks a database error)
    pytest.param(
        "NEWEST", ("NEWEST", "2024-01-01T00:00:00", 1), {"sqlite", "postgresql"}, id="naive-time"
    ),
    pytest.param("NAME", ("NAME", "A", 9_999_999_999), {"postgresql"}, id="id-beyond-int32"),
    pytest.param("PRICE_ASC", ("PRICE_ASC", "1e999999", 1), {"postgresql"}, id="huge-price"),
    pytest.param("PRICE_ASC", ("PRICE_ASC", "NaN", 1), set(), id="nan-price"),
    pytest.param("NAME", ("NAME", "", 1), set(), id="empty-name"),
]


@pytest.mark.parametrize(("sort", "contents", "leaks_on"), FORGED)
def test_a_forged_cursor_never_reaches_the_database_as_an_error(
    request: pytest.FixtureRequest,
    gateway_on: LiveGateway,
    sort: str,
    contents: tuple[Any, ...],
    leaks_on: set[str],
) -> None:
    """A cursor the client tampered with is either refused (INVALID_CURSOR) or read as a
    position in the listing; it never becomes a driver error that quotes our SQL."""

    result = gateway_on.query(PAGE_QUERY, {"first": 3, "sort": sort, "after": cursor_of(*contents)})

    if "errors" in result:
        assert_client_error(result, "INVALID_CURSOR")
    else:
        assert result["data"]["products"]["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize("first", [101, -1, 10_000])
def test_a_page_size_out_of_range_is_refused(gateway: LiveGateway, first: int) -> None:
    result = gateway.query(PAGE_QUERY, {"first": first})

    assert_client_error(result, "PAGE_SIZE_OUT_OF_RANGE")


@pytest.mark.parametrize(
    "filter",
    [
        {"minPrice": "500", "maxPrice": "100"},
        {"minPrice": "-1"},
        {"maxPrice": "NaN"},
        {"search": "x" * 201},
    ],
)
def test_a_nonsensical_filter_is_bad_user_input(
    gateway: LiveGateway, filter: dict[str, Any]
) -> None:
    result = gateway.query(PAGE_QUERY, {"first": 5, "filter": filter})

    assert_client_error(result, "BAD_USER_INPUT")


def test_an_unknown_category_is_an_empty_listing(gateway: LiveGateway) -> None:
    result = gateway.query(PAGE_QUERY, {"first": 5, "filter": {"categorySlug": "no-such-aisle"}})

    assert "errors" not in result
    connection = result["data"]["products"]
    assert connection["edges"] == []
    assert connection["totalCount"] == 0
    assert connection["pageInfo"]["hasNextPage"] is False


def test_a_search_with_a_nul_character_is_refused_or_searched_never_a_database_error(
    request: pytest.FixtureRequest, gateway_on: LiveGateway
) -> None:

    result = gateway_on.query(PAGE_QUERY, {"first": 3, "filter": {"search": "sofa\x00"}})

    if "errors" in result:
        assert_client_error(result, "BAD_USER_INPUT")
