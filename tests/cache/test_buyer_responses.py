"""Signed-in buyers browse from the shared response cache too: a customer's listing is the
anonymous listing (the same entry, purged by the same invalidation), sent ``private``;
staff never share it, a staff-only field never reaches a buyer from it, and what is
personal (the cart, the customer's orders) is never in it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
    get_named_type,
)

from gateway.auth import ViewerKind, issue_token
from gateway.cache.responses import BROWSING_FIELDS
from tests.cache.live import (
    LISTING,
    PRICE_SET,
    cache_settings,
    live_gateway,
    seed_small_shop,
    staff_token,
)
from tests.conftest import LiveGateway

ROOT = Path(__file__).resolve().parents[2]

# What a browsing query can reach. A type added under Product, Sku or Category lands here
# only after someone has checked it reads nothing of who the customer is (docs/caching.md:
# the personal fields); a personal type must never be reachable at all.
PUBLIC_TYPES = {
    "AttributeDefinition", "AuditEntry", "BundleItem", "Category", "Dimensions",
    "LocalizedText", "Money", "PageInfo", "Presale", "Price", "PriceRange", "Product",
    "ProductConnection", "ProductEdge", "ProductMedia", "ProductOption", "ProductTranslation",
    "Promotion", "PromotionTranslation", "SelectedOption", "Seo", "Sku", "Specification",
    "StockLevel", "Supplier", "WarehouseStock",
}  # fmt: skip
PERSONAL_TYPES = {"Cart", "CartLine", "Customer", "CustomerAddress", "Order", "OrderLine"}

CART_AND_PRODUCTS = """
query Mixed { products(first: 2) { edges { node { id } } } viewer { id email } }
"""
COST = "query Costs { products(first: 3) { edges { node { id skus { costPrice { amount } } } } } }"


def reachable_types() -> set[str]:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    query = schema.query_type
    assert query is not None
    todo: list[GraphQLNamedType] = [
        get_named_type(query.fields[name].type) for name in BROWSING_FIELDS if name in query.fields
    ]
    seen: set[str] = set()
    while todo:
        named = todo.pop()
        if named.name in seen:
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            todo += [get_named_type(f.type) for f in named.fields.values()]
        if isinstance(named, GraphQLInterfaceType):
            todo += schema.get_possible_types(named)
        if isinstance(named, GraphQLUnionType):
            todo += named.types
    composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
    return {n for n in seen if isinstance(schema.get_type(n), composite)}


def test_a_browsing_query_reaches_no_personal_type() -> None:
    reached = reachable_types()
    assert not reached & PERSONAL_TYPES
    assert reached == PUBLIC_TYPES


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    shop = seed_small_shop(tmp_path_factory.mktemp("buyer-shop"), products=60)
    with live_gateway(shop, cache_settings(response_cache=True)) as live:
        yield live


def customer(gateway: LiveGateway, subject: str = "1") -> dict[str, str]:
    token = issue_token(gateway.settings, kind=ViewerKind.CUSTOMER, subject=subject)
    return {"Authorization": f"Bearer {token}"}


def test_a_signed_in_listing_is_the_anonymous_entry_sent_private(gateway: LiveGateway) -> None:
    anonymous = gateway.client.post("/graphql", json={"query": LISTING})
    before = gateway.source_calls()
    first = gateway.client.post("/graphql", json={"query": LISTING}, headers=customer(gateway))
    other = gateway.client.post("/graphql", json={"query": LISTING}, headers=customer(gateway, "2"))
    after = gateway.source_calls()

    assert first.json() == anonymous.json() == other.json()
    assert first.headers["x-cache"] == other.headers["x-cache"] == "HIT"
    assert after == before  # no source call, no execution
    assert first.headers["cache-control"] == "private, no-store"
    assert "surrogate-key" not in first.headers and "cache-tag" not in first.headers


def test_a_signed_in_buyer_sees_a_price_change_at_once(gateway: LiveGateway) -> None:
    headers = customer(gateway)
    listing = gateway.client.post("/graphql", json={"query": LISTING}, headers=headers).json()
    sku = listing["data"]["products"]["edges"][0]["node"]["skus"][0]
    new_sale = str(Decimal(sku["price"]["sale"]["amount"]) - Decimal("0.01"))
    changed = gateway.query(
        PRICE_SET,
        {"sku": sku["id"], "list": sku["price"]["list"]["amount"], "sale": new_sale},
        token=staff_token(gateway, "MANAGE_PRICES"),
    )
    assert not changed["data"]["priceSet"]["userErrors"]

    again = gateway.client.post("/graphql", json={"query": LISTING}, headers=headers)

    assert again.headers["x-cache"] == "MISS"
    shown = again.json()["data"]["products"]["edges"][0]["node"]["skus"][0]
    assert shown["id"] == sku["id"] and shown["price"]["sale"]["amount"] == new_sale


def costs(body: dict[str, Any]) -> list[Any]:
    edges = body["data"]["products"]["edges"]
    return [s["costPrice"] for e in edges for s in e["node"]["skus"]]


def test_a_staff_only_field_never_reaches_a_buyer(gateway: LiveGateway) -> None:
    """Staff ask first (twice): nothing of theirs is kept; buyers then get the field's
    buyer answer (null), from the entry buyers filled."""
    staff = {"Authorization": f"Bearer {staff_token(gateway, 'MANAGE_PRICES')}"}
    for _ in range(2):
        seen_by_staff = gateway.client.post("/graphql", json={"query": COST}, headers=staff)
        assert "x-cache" not in seen_by_staff.headers
    assert all(c is not None for c in costs(seen_by_staff.json()))

    answers = [
        gateway.client.post("/graphql", json={"query": COST}, headers=headers)
        for headers in (customer(gateway), {}, customer(gateway, "2"))
    ]

    assert [a.headers["x-cache"] for a in answers] == ["MISS", "HIT", "HIT"]
    assert all(c is None for a in answers for c in costs(a.json()))


def test_a_query_with_personal_fields_is_computed_for_its_viewer(gateway: LiveGateway) -> None:
    answers = [
        gateway.client.post(
            "/graphql", json={"query": CART_AND_PRODUCTS}, headers=customer(gateway, subject)
        )
        for subject in ("1", "2", "1")
    ]

    assert all("x-cache" not in a.headers for a in answers)
    ids = [a.json()["data"]["viewer"]["id"] for a in answers]
    assert ids[0] == ids[2] != ids[1]


def test_a_cost_report_is_computed_for_its_viewer(gateway: LiveGateway) -> None:
    """``GraphQL-Cost: report`` answers carry the asker's own figures: never shared."""
    query = "query Reported { products(first: 2) { edges { node { id name } } } }"
    answers = [
        gateway.client.post(
            "/graphql",
            json={"query": query},
            headers={**headers, "GraphQL-Cost": "report"},
        )
        for headers in (customer(gateway), customer(gateway, "2"), {}, {})
    ]

    assert all("x-cache" not in a.headers for a in answers)
    assert all(a.json()["extensions"]["cost"]["requestedQueryCost"] > 0 for a in answers)
    plain = gateway.client.post("/graphql", json={"query": query}, headers=customer(gateway))
    assert "extensions" not in plain.json()
