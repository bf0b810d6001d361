"""What a storefront's catalog screens cost and show: the listing, a product page and the
category tree each come back complete in one request, and cost one call per source method,
whatever the number of products on the screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sources.catalog import models as catalog
from sources.demo.catalog_data import CATEGORY_TREE, CategoryNode
from tests.conftest import LiveGateway, serve, settings_for

from .support import amount, catalog_slugs

MONEY = re.compile(r"^\d+\.\d{2}$")

LISTING = """
query Listing {
  products(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id slug name kind inStock
        category { id slug name }
        skus {
          id code active
          price { list { amount currency } sale { amount currency } }
          stock { available inStock }
        }
        promotions { id name kind couponRequired }
        priceRange { min { amount currency } max { amount currency } }
      }
    }
  }
}
"""

DETAIL = """
query ProductPage($slug: String!) {
  product(slug: $slug) {
    id slug name description kind fulfillment published brand inStock
    presale { deposit { amount currency } startsAt endsAt shipsFrom }
    category { slug name parent { slug name } }
    skus {
      id code active purchaseLimit
      price { list { amount } sale { amount } }
      stock { available inStock }
    }
    priceRange { min { amount } max { amount } }
    promotions { id name kind startsAt endsAt couponRequired }
    bundleItems {
      quantity
      sku { id code price { sale { amount } } stock { available } product { slug name } }
    }
  }
}
"""

TREE = """
query CategoryTree {
  categories {
    id slug name
    parent { slug }
    products(first: 10) {
      totalCount
      pageInfo { hasNextPage }
      edges {
        node {
          slug
          skus { code price { sale { amount } } stock { available } }
        }
      }
    }
  }
}
"""

# One call per store method, whatever the number of products, SKUs or categories.
LISTING_CALLS = {
    "catalog.list_products": 1,
    "catalog.categories_by_ids": 1,
    "catalog.skus_by_product_ids": 1,
    "inventory.stock_by_sku_ids": 1,
    "pricing.prices_by_sku_ids": 1,
    "pricing.promotions_for_products": 1,
}
DETAIL_CALLS = {
    "catalog.products_by_slugs": 1,
    "catalog.categories_by_ids": 1,
    "catalog.skus_by_product_ids": 1,
    "catalog.bundle_items_by_product_ids": 1,
    "inventory.stock_by_sku_ids": 1,
    "pricing.prices_by_sku_ids": 1,
    "pricing.promotions_for_products": 1,
}
# A bundle's parts (their SKUs and products) come with its bundle items: no extra methods.
BUNDLE_DETAIL_CALLS = DETAIL_CALLS
TREE_CALLS = {
    "catalog.all_categories": 1,
    "catalog.categories_by_ids": 1,
    "catalog.products_in_categories": 1,
    "catalog.skus_by_product_ids": 1,
    "inventory.stock_by_sku_ids": 1,
    "pricing.prices_by_sku_ids": 1,
}


@pytest.fixture(scope="module")
def uncached_on(shop: dict[str, str]) -> Iterator[LiveGateway]:
    """This module's own gateway on each backend, with the shared cache off: the call
    counts pinned here are what a request costs the sources when nothing is cached. The
    whole tree with ten products per category (about 270 products) is over the default
    query cost: it is raised here, as a shop showing such a screen would."""
    yield from serve(settings_for(shop, cache={"enabled": False}, max_cost=20_000))


def assert_money(money: dict[str, Any], currency: str = "CNY") -> Decimal:
    assert MONEY.match(money["amount"]), f"{money['amount']!r} is not a Decimal string"
    if "currency" in money:
        assert money["currency"] == currency
    return amount(money)


def assert_priced_and_stocked(product: dict[str, Any]) -> None:
    """A product as a buyer reads it: every SKU priced and stocked, and the product's
    summary fields (inStock, priceRange) agree with its SKUs."""
    assert product["skus"], f"{product['slug']} has no SKUs"
    for sku in product["skus"]:
        listed = assert_money(sku["price"]["list"])
        sale = assert_money(sku["price"]["sale"])
        assert Decimal(0) < sale <= listed, (product["slug"], sku["code"])
        stock = sku["stock"]
        assert isinstance(stock["available"], int) and stock["available"] >= 0
        assert stock["inStock"] is (stock["available"] > 0)
    active = [s for s in product["skus"] if s["active"]]
    assert product["inStock"] is any(s["stock"]["available"] > 0 for s in active)
    low = assert_money(product["priceRange"]["min"])
    high = assert_money(product["priceRange"]["max"])
    if active:
        sales = [amount(s["price"]["sale"]) for s in active]
        assert (low, high) == (min(sales), max(sales)), product["slug"]


def test_listing_shows_fifty_priced_and_stocked_products_for_one_call_per_method(
    uncached_on: LiveGateway,
) -> None:
    result, calls = uncached_on.calls_during(LISTING, operation_name="Listing")

    assert "errors" not in result, result["errors"]
    listing = result["data"]["products"]
    products = [edge["node"] for edge in listing["edges"]]
    assert len(products) == 50
    assert len({p["id"] for p in products}) == 50
    assert listing["totalCount"] > 50 and listing["pageInfo"]["hasNextPage"] is True
    for product in products:
        assert_priced_and_stocked(product)
        assert product["category"] is not None, product["slug"]
        for promotion in product["promotions"]:
            assert promotion["id"] and promotion["name"] and promotion["kind"]
    assert any(p["promotions"] for p in products), "the demo shop runs promotions"
    assert calls == LISTING_CALLS


@pytest.fixture(scope="module")
def product_pages(shop: dict[str, str]) -> dict[str, str]:
    """A bundle's slug and a presale product's slug in this backend's demo shop."""
    published = catalog.Product.is_published.is_(True)
    bundles = catalog_slugs(shop["catalog"], published, catalog.Product.kind == "BUNDLE")
    presales = catalog_slugs(
        shop["catalog"], published, catalog.Product.presale_deposit.is_not(None)
    )
    assert bundles and presales, "the demo shop places bundles and presales"
    return {"bundle": bundles[0], "presale": presales[0]}


def read_product_page(gateway: LiveGateway, slug: str) -> tuple[dict[str, Any], dict[str, int]]:
    result, calls = gateway.calls_during(DETAIL, {"slug": slug}, operation_name="ProductPage")
    assert "errors" not in result, result["errors"]
    product = result["data"]["product"]
    assert product is not None and product["slug"] == slug
    assert_priced_and_stocked(product)
    assert product["category"]["parent"] is not None, "demo products sit in subcategories"
    assert product["promotions"], "the demo shop's storewide promotions apply to every product"
    return product, calls


def test_bundle_page_shows_its_parts_with_price_and_stock(
    uncached_on: LiveGateway, product_pages: dict[str, str]
) -> None:
    product, calls = read_product_page(uncached_on, product_pages["bundle"])

    assert product["kind"] == "BUNDLE"
    assert product["presale"] is None
    assert len(product["bundleItems"]) >= 2
    for item in product["bundleItems"]:
        assert item["quantity"] >= 1
        assert_money(item["sku"]["price"]["sale"])
        assert item["sku"]["stock"]["available"] >= 0
        assert item["sku"]["product"]["slug"] != product["slug"]
    assert calls == BUNDLE_DETAIL_CALLS


def test_presale_page_shows_the_deposit_and_window(
    uncached_on: LiveGateway, product_pages: dict[str, str]
) -> None:
    product, calls = read_product_page(uncached_on, product_pages["presale"])

    presale = product["presale"]
    assert presale is not None
    assert assert_money(presale["deposit"]) > 0
    assert presale["startsAt"] < presale["endsAt"]
    assert product["bundleItems"] == []
    assert calls == DETAIL_CALLS


def test_bundle_page_costs_one_call_per_store_method(
    uncached_on: LiveGateway, product_pages: dict[str, str]
) -> None:
    # Five in a row: one lucky tick must not pass. The parts' prices and stock share the
    # product's own SKUs' loader calls because the executor folds the attribute-only
    # position bundleItems[] into the level that reached it (gateway/execution/executor.py).
    for _ in range(5):
        _, calls = read_product_page(uncached_on, product_pages["bundle"])
        assert calls == BUNDLE_DETAIL_CALLS


def test_category_tree_with_products_costs_one_call_per_method_not_per_category(
    uncached_on: LiveGateway,
) -> None:
    result, calls = uncached_on.calls_during(TREE, operation_name="CategoryTree")

    assert "errors" not in result, result["errors"]
    categories = result["data"]["categories"]
    assert len(categories) > 10
    seen: set[str] = set()
    for category in categories:
        if category["parent"] is not None:
            assert category["parent"]["slug"] in seen, "parents come before their children"
        seen.add(category["slug"])
        page = category["products"]
        assert len(page["edges"]) == min(10, page["totalCount"])
        assert page["pageInfo"]["hasNextPage"] is (page["totalCount"] > 10)
        for edge in page["edges"]:
            for sku in edge["node"]["skus"]:
                assert_money(sku["price"]["sale"])
                assert sku["stock"]["available"] >= 0
    assert sum(c["products"]["totalCount"] > 0 for c in categories) > 10
    assert calls == TREE_CALLS


def test_a_parent_category_counts_the_products_of_its_subcategories(
    gateway: LiveGateway,
) -> None:
    query = "{ categories { slug parent { slug } products(first: 1) { totalCount } } }"
    categories = gateway.query(query)["data"]["categories"]
    totals = {c["slug"]: c["products"]["totalCount"] for c in categories}
    children: dict[str, list[str]] = {}
    for c in categories:
        if c["parent"] is not None:
            children.setdefault(c["parent"]["slug"], []).append(c["slug"])

    # Demo products sit in leaf categories only, so a parent's total is its children's.
    for parent, kids in children.items():
        assert totals[parent] == sum(totals[k] for k in kids), parent


def _tree_order(nodes: tuple[CategoryNode, ...]) -> dict[str | None, list[str]]:
    order: dict[str | None, list[str]] = {None: [n.slug for n in nodes]}
    for node in nodes:
        order |= {k: v for k, v in _tree_order(node.children).items() if k is not None}
        order[node.slug] = [child.slug for child in node.children]
    return order


def test_categories_list_siblings_in_their_merchandising_order(gateway: LiveGateway) -> None:
    categories = gateway.query("{ categories { slug parent { slug } } }")["data"]["categories"]
    siblings: dict[str | None, list[str]] = {}
    for c in categories:
        parent = c["parent"]["slug"] if c["parent"] else None
        siblings.setdefault(parent, []).append(c["slug"])

    expected = {k: v for k, v in _tree_order(CATEGORY_TREE).items() if v}
    assert siblings == expected


def test_a_listing_counts_only_when_totalcount_is_asked_and_never_answers_a_wrong_count(
    gateway_on: LiveGateway,
) -> None:
    """Counting a big catalog is most of a page's work: a page without ``totalCount`` skips
    it, and a page cached without its count is never served to a query that asks for it
    (directly, aliased or through a fragment)."""
    edges = "edges { node { id } }"
    first = gateway_on.query(f"{{ products(first: 3, sort: NAME) {{ {edges} }} }}")
    asked = [
        f"{{ products(first: 3, sort: NAME) {{ totalCount {edges} }} }}",
        f"{{ products(first: 3, sort: NAME) {{ n: totalCount {edges} }} }}",
        f"""{{ products(first: 3, sort: NAME) {{ ...C {edges} }} }}
            fragment C on ProductConnection {{ totalCount }}""",
    ]
    counts = []
    for query in asked:
        page = gateway_on.query(query)["data"]["products"]
        assert page["edges"] == first["data"]["products"]["edges"]
        counts.append(page.get("totalCount", page.get("n")))
    everything = gateway_on.query(
        "{ products(first: 100) { totalCount pageInfo { hasNextPage } } }"
    )
    total = everything["data"]["products"]["totalCount"]
    assert total > 3 and counts == [total] * 3
