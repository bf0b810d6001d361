"""A product page's options, specifications, SEO text and shipping details, on each
backend, and what a listing asking for them costs the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import LiveGateway, serve, settings_for

PAGE = """
query Page($slug: String!) {
  product(slug: $slug) {
    slug name kind
    options { name values }
    tags weightGrams dimensions { lengthMm widthMm heightMm }
    seo { title description }
    archived
    category { attributes { code name kind unit choices } }
    specifications {
      attribute { code name kind unit choices }
      text number boolean display
    }
    skus { id code selectedOptions { name value } }
  }
}
"""

PICK = """
query Pick($slug: String!, $picks: [SelectedOptionInput!]!) {
  product(slug: $slug) { skuBySelectedOptions(selectedOptions: $picks) { id code } }
}
"""

LISTING_BARE = """
query Listing {
  products(first: 50) { edges { node { id name skus { id code } } } }
}
"""
LISTING_DETAILS = """
query Listing {
  products(first: 50) {
    edges { node {
      id name options { name values } tags weightGrams seo { title }
      specifications { attribute { code } display }
      skus { id code selectedOptions { name value } }
    } }
  }
}
"""


@pytest.fixture(scope="module")
def uncached_on(shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(settings_for(shop, cache={"enabled": False}))


def _listing(gateway: LiveGateway) -> list[dict[str, Any]]:
    result = gateway.query(
        "{ products(first: 100) { edges { node { slug kind options { name values } } } } }"
    )
    assert "errors" not in result, result["errors"]
    return [e["node"] for e in result["data"]["products"]["edges"]]


def _page(gateway: LiveGateway, slug: str) -> dict[str, Any]:
    result = gateway.query(PAGE, {"slug": slug})
    assert "errors" not in result, result["errors"]
    product: dict[str, Any] = result["data"]["product"]
    return product


def test_a_product_page_shows_options_and_each_sku_its_picks(uncached_on: LiveGateway) -> None:
    several = next(
        p for p in _listing(uncached_on) if p["options"] and len(p["options"][0]["values"]) > 1
    )
    page = _page(uncached_on, several["slug"])
    (option,) = page["options"]
    assert option["name"] in {"Colour", "Storage", "Size", "Finish", "Screen Size",
                              "Memory / Storage", "Plan"}  # fmt: skip
    assert [s["selectedOptions"] for s in page["skus"]] == [
        [{"name": option["name"], "value": value}] for value in option["values"]
    ]
    for sku in page["skus"]:
        picked = uncached_on.query(PICK, {"slug": page["slug"], "picks": sku["selectedOptions"]})
        assert picked["data"]["product"]["skuBySelectedOptions"] == {
            "id": sku["id"],
            "code": sku["code"],
        }


@pytest.mark.parametrize(
    "picks",
    [
        [{"name": "Colour", "value": "No Such Colour"}],
        [],
        [{"name": "Nope", "value": "x"}],
    ],
)
def test_picks_that_name_no_sku_read_as_null(
    uncached_on: LiveGateway, picks: list[dict[str, str]]
) -> None:
    slug = next(p["slug"] for p in _listing(uncached_on) if p["options"])
    result = uncached_on.query(PICK, {"slug": slug, "picks": picks})
    assert "errors" not in result, result["errors"]
    assert result["data"]["product"]["skuBySelectedOptions"] is None


def test_specifications_are_typed_and_defined_by_the_category(uncached_on: LiveGateway) -> None:
    phones = uncached_on.query(
        '{ products(first: 5, filter: {categorySlug: "phones-tablets", kind: PHYSICAL})'
        " { edges { node { slug } } } }"
    )
    slug = phones["data"]["products"]["edges"][0]["node"]["slug"]
    page = _page(uncached_on, slug)
    defined = [a["code"] for a in page["category"]["attributes"]]
    # The category's own attributes first, then those of Electronics above it.
    assert defined == ["screen_size", "battery", "has_5g", "model", "warranty"]
    specs = {s["attribute"]["code"]: s for s in page["specifications"]}
    assert set(specs) == set(defined)
    screen = specs["screen_size"]
    assert screen["attribute"]["kind"] == "NUMBER" and screen["attribute"]["unit"] == "in"
    assert Decimal("5.8") <= Decimal(screen["number"]) <= Decimal("12.9")
    assert screen["display"] == f"{screen['number']} in"
    assert screen["text"] is None and screen["boolean"] is None
    five_g = specs["has_5g"]
    assert five_g["attribute"]["kind"] == "BOOLEAN" and isinstance(five_g["boolean"], bool)
    assert five_g["display"] in {"Yes", "No"}
    assert specs["model"]["attribute"]["kind"] == "TEXT" and specs["model"]["text"]


def test_seo_falls_back_to_name_and_description_and_shipping_details_show(
    uncached_on: LiveGateway,
) -> None:
    physical = next(p for p in _listing(uncached_on) if p["kind"] == "PHYSICAL")
    page = _page(uncached_on, physical["slug"])
    assert page["seo"]["title"] == page["name"]
    assert page["seo"]["description"]
    assert page["weightGrams"] > 0
    dims = page["dimensions"]
    assert dims["lengthMm"] >= dims["widthMm"] >= dims["heightMm"] > 0
    assert page["tags"] and page["archived"] is False


def test_a_listing_with_options_and_specifications_costs_one_more_call(
    uncached_on: LiveGateway,
) -> None:
    bare, bare_calls = uncached_on.calls_during(LISTING_BARE)
    full, full_calls = uncached_on.calls_during(LISTING_DETAILS)
    assert "errors" not in bare and "errors" not in full, full.get("errors")
    extra = {k: v for k, v in full_calls.items() if bare_calls.get(k) != v}
    assert extra == {"catalog.specifications_by_product_ids": 1}
    products = [e["node"] for e in full["data"]["products"]["edges"]]
    assert any(p["specifications"] for p in products)
    assert any(p["options"] for p in products)


FACETED = """
query($attributes: [AttributeFilterInput!]) {
  products(first: 100, filter: {categorySlug: "phones-tablets", attributes: $attributes}) {
    totalCount
    edges { node { slug specifications { attribute { code } number boolean text } } }
  }
}"""


def _specs(node: dict[str, Any]) -> dict[str, Any]:
    return {s["attribute"]["code"]: s for s in node["specifications"]}


def test_specifications_filter_a_listing_as_facets(uncached_on: LiveGateway) -> None:
    everything = uncached_on.query(FACETED, {"attributes": None})["data"]["products"]
    assert everything["totalCount"] > 1
    nodes = [e["node"] for e in everything["edges"]]
    with_5g = {n["slug"] for n in nodes if _specs(n).get("has_5g", {}).get("boolean") is True}
    found = uncached_on.query(FACETED, {"attributes": [{"code": "has_5g", "boolean": True}]})
    assert {e["node"]["slug"] for e in found["data"]["products"]["edges"]} == with_5g

    screens = sorted(Decimal(_specs(n)["screen_size"]["number"]) for n in nodes)
    low, high = screens[0], screens[len(screens) // 2]
    ranged = uncached_on.query(
        FACETED, {"attributes": [{"code": "screen_size", "min": str(low), "max": str(high)}]}
    )["data"]["products"]["edges"]
    assert ranged and all(
        low <= Decimal(_specs(e["node"])["screen_size"]["number"]) <= high for e in ranged
    )
    model = _specs(nodes[0])["model"]["text"]
    by_text = uncached_on.query(
        FACETED, {"attributes": [{"code": "model", "values": [model]}, {"code": "has_5g"}]}
    )["data"]["products"]["edges"]
    assert [e["node"]["slug"] for e in by_text] == [nodes[0]["slug"]]
    nothing = uncached_on.query(FACETED, {"attributes": [{"code": "no_such", "values": ["x"]}]})
    assert nothing["data"]["products"]["totalCount"] == 0
