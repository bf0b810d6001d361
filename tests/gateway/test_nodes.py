"""Global ids as a client uses them: any object found by ``node``/``nodes`` round-trips to
the same object; an id of the wrong type reads as not found; a string that is no id is a
typed client error; and an unpublished product is invisible to the anonymous storefront
through every path (by slug, by id, node, nodes, the listing, a category's products)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from sources.catalog import models as catalog
from tests.conftest import LiveGateway

from .support import catalog_rows, error_codes, global_id, unpublished_products, walk

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Product { slug name }
    ... on Sku { code product { slug } }
    ... on Category { slug }
    ... on Promotion { name kind }
  }
}
"""
NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { __typename id ... on Product { slug } ... on Sku { code } }
}
"""
PRODUCT = """
query Product($id: ID, $slug: String) { product(id: $id, slug: $slug) { id slug } }
"""
CATEGORY_PRODUCTS = """
query CategoryProducts($id: ID!) {
  node(id: $id) {
    ... on Category { products(first: 100) { totalCount edges { node { id slug } } } }
  }
}
"""
MALFORMED_IDS = ["!!!", "", base64.b64encode(b"Product:abc").decode(), "Product:1", "é", "AAAA"]


@pytest.fixture(scope="module")
def known(gateway: LiveGateway) -> dict[str, dict[str, Any]]:
    """One product, SKU, category and promotion, as the storefront first shows them."""
    product = gateway.query(
        """{ products(first: 1) { edges { node {
             id slug name
             skus { id code }
             category { id slug }
             promotions { id name kind }
           } } } }"""
    )["data"]["products"]["edges"][0]["node"]
    assert product["skus"] and product["promotions"]
    return {
        "Product": {"id": product["id"], "slug": product["slug"], "name": product["name"]},
        "Sku": {**product["skus"][0], "product": {"slug": product["slug"]}},
        "Category": product["category"],
        "Promotion": product["promotions"][0],
    }


@pytest.mark.parametrize("type_name", ["Product", "Sku", "Category", "Promotion"])
def test_node_finds_each_kind_of_object_by_its_id(
    gateway: LiveGateway, known: dict[str, dict[str, Any]], type_name: str
) -> None:
    expected = known[type_name]

    result = gateway.query(NODE, {"id": expected["id"]})

    assert "errors" not in result, result["errors"]
    assert result["data"]["node"] == {"__typename": type_name, **expected}


def test_nodes_returns_each_object_in_the_order_asked_with_null_for_missing(
    gateway: LiveGateway, known: dict[str, dict[str, Any]]
) -> None:
    product, sku = known["Product"], known["Sku"]
    missing = global_id("Product", 987_654)

    result = gateway.query(NODES, {"ids": [sku["id"], missing, product["id"], product["id"]]})

    assert "errors" not in result, result["errors"]
    assert result["data"]["nodes"] == [
        {"__typename": "Sku", "id": sku["id"], "code": sku["code"]},
        None,
        {"__typename": "Product", "id": product["id"], "slug": product["slug"]},
        {"__typename": "Product", "id": product["id"], "slug": product["slug"]},
    ]


def test_product_by_id_and_by_slug_are_the_same_product(
    gateway: LiveGateway, known: dict[str, dict[str, Any]]
) -> None:
    product = known["Product"]

    by_id = gateway.query(PRODUCT, {"id": product["id"]})["data"]["product"]
    by_slug = gateway.query(PRODUCT, {"slug": product["slug"]})["data"]["product"]

    assert by_id == by_slug == {"id": product["id"], "slug": product["slug"]}


@pytest.mark.parametrize("type_name", ["Sku", "Category", "Promotion"])
def test_an_id_of_another_type_reads_as_no_product(
    gateway: LiveGateway, known: dict[str, dict[str, Any]], type_name: str
) -> None:
    result = gateway.query(PRODUCT, {"id": known[type_name]["id"]})

    assert result == {"data": {"product": None}}


@pytest.mark.parametrize(
    "id", [global_id("Product", 987_654), global_id("Order", 1), global_id("Warehouse", 1)]
)
def test_a_well_formed_id_of_nothing_reads_as_null(gateway: LiveGateway, id: str) -> None:
    assert gateway.query(NODE, {"id": id}) == {"data": {"node": None}}


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (NODE, lambda bad: {"id": bad}),
        (NODES, lambda bad: {"ids": [global_id("Product", 1), bad]}),
        (PRODUCT, lambda bad: {"id": bad}),
    ],
    ids=["node", "nodes", "product"],
)
def test_a_malformed_id_is_invalid_id(
    gateway: LiveGateway, query: str, variables: Any, bad_id: str
) -> None:
    result = gateway.query(query, variables(bad_id))

    assert error_codes(result) == ["INVALID_ID"], result
    assert result["data"] is None or not any(result["data"].values()), "no object for a bad id"


@pytest.mark.parametrize(
    ("pk", "breaks_on"),
    [
        pytest.param("9999999999", {"postgresql"}, id="beyond-int32"),
        pytest.param("99999999999999999999", {"sqlite", "postgresql"}, id="beyond-int64"),
    ],
)
def test_an_id_beyond_any_row_reads_as_null_or_invalid_id(
    request: pytest.FixtureRequest, gateway_on: LiveGateway, pk: str, breaks_on: set[str]
) -> None:

    for query, variables in (
        (NODE, {"id": global_id("Product", pk)}),
        (PRODUCT, {"id": global_id("Product", pk)}),
    ):
        result = gateway_on.query(query, variables)
        if "errors" in result:
            assert error_codes(result) == ["INVALID_ID"], result
        else:
            assert not any(result["data"].values())


@pytest.mark.parametrize("pk", ["01", "\u0661"])
def test_an_object_comes_back_under_the_id_it_was_asked_by(gateway: LiveGateway, pk: str) -> None:
    asked = global_id("Product", pk)

    result = gateway.query(NODE, {"id": asked})

    node = result["data"]["node"]
    assert node is None or node["id"] == asked, f"asked for {asked}, got {node['id']}"


@pytest.mark.parametrize("variables", [{}, {"id": global_id("Product", 1), "slug": "x"}])
def test_product_needs_exactly_one_of_id_and_slug(
    gateway: LiveGateway, variables: dict[str, Any]
) -> None:
    result = gateway.query(PRODUCT, variables)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["data"] == {"product": None}


def test_an_unknown_slug_reads_as_null(gateway: LiveGateway) -> None:
    assert gateway.query(PRODUCT, {"slug": "no-such-product"}) == {"data": {"product": None}}


def test_nodes_refuses_more_than_a_hundred_ids(gateway: LiveGateway) -> None:
    result = gateway.query(NODES, {"ids": [global_id("Product", n) for n in range(1, 102)]})

    assert error_codes(result) == ["BAD_USER_INPUT"]


# ---- unpublished products --------------------------------------------------------------


@pytest.fixture(scope="module")
def unpublished(shop: dict[str, str]) -> list[Any]:
    hidden = unpublished_products(shop["catalog"])
    assert hidden, "the demo shop places unpublished products"
    return hidden


def test_an_unpublished_product_is_not_found_by_slug_id_node_or_nodes(
    gateway_on: LiveGateway, unpublished: list[Any]
) -> None:
    for pk, slug, _, sku_ids in unpublished:
        product_id = global_id("Product", pk)
        assert gateway_on.query(PRODUCT, {"slug": slug}) == {"data": {"product": None}}, slug
        assert gateway_on.query(PRODUCT, {"id": product_id}) == {"data": {"product": None}}
        assert gateway_on.query(NODE, {"id": product_id}) == {"data": {"node": None}}
        sku_node_ids = [global_id("Sku", sku_id) for sku_id in sku_ids]
        result = gateway_on.query(NODES, {"ids": [product_id, *sku_node_ids]})
        assert result == {"data": {"nodes": [None] * (1 + len(sku_ids))}}, slug


def test_the_listing_neither_shows_nor_counts_unpublished_products(
    gateway_on: LiveGateway, shop: dict[str, str], unpublished: list[Any]
) -> None:
    (all_products,) = catalog_rows(shop["catalog"], select(func.count(catalog.Product.id)))[0]

    nodes, pages = walk(gateway_on, first=100)

    hidden = {global_id("Product", pk) for pk, *_ in unpublished}
    assert not hidden & {n["id"] for n in nodes}
    assert pages[0]["totalCount"] == len(nodes) == all_products - len(unpublished)


def test_a_category_neither_shows_nor_counts_its_unpublished_products(
    gateway_on: LiveGateway, shop: dict[str, str], unpublished: list[Any]
) -> None:
    for _, slug, category_id, _skus in unpublished:
        (published_here,) = catalog_rows(
            shop["catalog"],
            select(func.count(catalog.Product.id)).where(
                catalog.Product.category_id == category_id,
                catalog.Product.is_published.is_(True),
            ),
        )[0]
        result = gateway_on.query(CATEGORY_PRODUCTS, {"id": global_id("Category", category_id)})
        products = result["data"]["node"]["products"]
        assert slug not in {e["node"]["slug"] for e in products["edges"]}
        assert products["totalCount"] == len(products["edges"]) == published_here, slug


def test_a_slug_with_a_nul_character_reads_as_null_or_bad_input(
    request: pytest.FixtureRequest, gateway_on: LiveGateway
) -> None:

    result = gateway_on.query(PRODUCT, {"slug": "sofa\x00"})

    if "errors" in result:
        assert error_codes(result) == ["BAD_USER_INPUT"], result
    else:
        assert result == {"data": {"product": None}}
