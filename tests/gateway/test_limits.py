"""Query limits over real HTTP: each refuses with its stable code and lets through a query
just under it; the cost is computed before execution, so a refused query calls no source;
production hides the schema (no introspection, no "did you mean")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from bench.queries import CATEGORY_TREE, DETAIL, LISTING
from gateway.limits import count_tokens, query_cost
from gateway.schema import schema
from gateway.settings import Settings
from tests.conftest import LiveGateway, serve, settings_for

README = Path(__file__).resolve().parents[2] / "README.md"
PRODUCTION_SECRET = "production-test-secret-0123456789abcdef"


def readme_listing() -> str:
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if "products(first: 2" in b)


def cost_of(query: str, variables: dict[str, Any] | None = None) -> int:
    return query_cost(
        schema._schema, parse(query), variables, None, default_page_size=20, max_page_size=100
    )


def codes(result: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


def refused(result: dict[str, Any], code: str) -> dict[str, Any]:
    assert result.get("data") is None, result
    assert set(codes(result)) == {code}, result
    error: dict[str, Any] = result["errors"][0]
    return error


def accepted(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"]
    return data


@pytest.fixture(scope="module")
def limited(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(
        settings_for(
            sqlite_shop,
            max_depth=3,
            max_aliases=2,
            max_directives=2,
            max_tokens=60,
            max_body_bytes=2048,
        )
    )


@pytest.fixture(scope="module")
def production(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(
        settings_for(sqlite_shop, environment="production", jwt_secret=PRODUCTION_SECRET)
    )


# ---- depth, aliases, directives, tokens ----------------------------------------------------


def test_depth_below_the_root_is_limited(limited: LiveGateway) -> None:
    # products 0, edges 1, node 2, name 3
    accepted(limited.query("{ products(first: 1) { edges { node { name } } } }"))
    error = refused(
        limited.query("{ products(first: 1) { edges { node { category { name } } } } }"),
        "DEPTH_LIMIT_EXCEEDED",
    )
    assert error["extensions"]["limit"] == 3


def test_depth_counts_through_fragments(limited: LiveGateway) -> None:
    query = """
    query Deep { products(first: 1) { edges { ...E } } }
    fragment E on ProductEdge { node { category { name } } }
    """
    refused(limited.query(query), "DEPTH_LIMIT_EXCEEDED")


def test_aliases_are_limited(limited: LiveGateway) -> None:
    two = "{ a: products(first: 1) { totalCount } b: products(first: 1) { totalCount } }"
    accepted(limited.query(two))
    three = two[:-1] + "c: products(first: 1) { totalCount } }"
    refused(limited.query(three), "ALIAS_LIMIT_EXCEEDED")


def test_directives_are_limited(limited: LiveGateway) -> None:
    two = (
        "{ products(first: 1) { totalCount @include(if: true) "
        "pageInfo @skip(if: false) { hasNextPage } } }"
    )
    accepted(limited.query(two))
    three = two.replace("hasNextPage", "hasNextPage @include(if: true)")
    refused(limited.query(three), "DIRECTIVE_LIMIT_EXCEEDED")


def tokens_query(count: int) -> str:
    # `{ products ( first : 1 ) {` ... `} }` is 10 tokens; each totalCount one more.
    return "{ products(first: 1) { " + "totalCount " * (count - 10) + "} }"


def test_tokens_are_limited(limited: LiveGateway) -> None:
    assert count_tokens(tokens_query(60), 1000) == 60
    accepted(limited.query(tokens_query(60)))
    error = refused(limited.query(tokens_query(61)), "TOKEN_LIMIT_EXCEEDED")
    assert error["extensions"]["limit"] == 60


def test_comments_are_not_tokens(limited: LiveGateway) -> None:
    accepted(limited.query("# " + "a comment " * 50 + "\n" + tokens_query(60)))


# ---- body size ---------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    body = b'{"query": "{ products(first: 1) { totalCount } }", "variables": {}}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


def assert_too_large(response: Any) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["PAYLOAD_TOO_LARGE"]


def test_body_over_the_limit_is_413_json(limited: LiveGateway) -> None:
    headers = {"content-type": "application/json"}
    ok = limited.client.post("/graphql", content=padded_body(2048), headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["products"]["totalCount"] > 0

    assert_too_large(limited.client.post("/graphql", content=padded_body(2049), headers=headers))


def test_chunked_body_over_the_limit_is_413_json(limited: LiveGateway) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        body = padded_body(5000)
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    response = limited.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_too_large(response)


# ---- cost --------------------------------------------------------------------------------


def test_bench_queries_cost_under_the_default_limit(gateway: LiveGateway) -> None:
    costs = {
        "listing": cost_of(LISTING),
        "detail": cost_of(DETAIL, {"slug": "x"}),
        "categories": cost_of(CATEGORY_TREE),
    }
    assert costs == {"listing": 4803, "detail": 204, "categories": 1603}
    assert max(costs.values()) < gateway.settings.max_cost
    data = accepted(gateway.query(LISTING))
    assert len(data["products"]["edges"]) == 50


def test_readme_listing_cost_and_refusal_over_budget(sqlite_shop: dict[str, str]) -> None:
    query = readme_listing()
    cost = cost_of(query)
    assert cost == 113  # 3 for products, 55 per product (first: 2; 3 SKUs, 3 promotions)
    for gateway in serve(settings_for(sqlite_shop, max_cost=cost)):
        result, _ = gateway.calls_during(query)
        assert len(accepted(result)["products"]["edges"]) == 2

        raised = query.replace("products(first: 2", "products(first: 3")
        result, calls = gateway.calls_during(raised)
        error = refused(result, "COST_LIMIT_EXCEEDED")
        assert error["extensions"] == {
            "code": "COST_LIMIT_EXCEEDED",
            "cost": cost_of(raised),
            "limit": cost,
        }
        assert cost_of(raised) == 168
        assert calls == {}


def test_cost_resolves_first_from_variables(gateway: LiveGateway) -> None:
    query = (
        LISTING.replace("query BenchListing {", "query BenchListing($n: Int) {")
        .replace("first: 50", "first: $n")
        .replace("kind inStock", "kind inStock bundleItems { quantity }")
    )
    fixed = LISTING.replace("kind inStock", "kind inStock bundleItems { quantity }")
    assert cost_of(query, {"n": 50}) == cost_of(fixed)
    assert cost_of(query, {}) == cost_of(fixed.replace("first: 50", "first: 20"))

    assert cost_of(query, {"n": 10**9}) == cost_of(query, {"n": 100})  # capped at the max page
    result, calls = gateway.calls_during(query, {"n": 100})  # a legal page, over budget
    error = refused(result, "COST_LIMIT_EXCEEDED")
    assert error["extensions"]["cost"] == 10203
    assert error["extensions"]["limit"] == 10_000
    assert calls == {}


def test_lists_without_first_count_their_realistic_size() -> None:
    one_sku = '{ product(slug: "x") { skus { code } } }'
    assert cost_of(one_sku) == 3 + 3 + 3 * 1  # product, skus (both resolved), 3 codes
    two_fields = '{ product(slug: "x") { skus { code name } } }'
    assert cost_of(two_fields) - cost_of(one_sku) == 3  # one more field on each of 3 SKUs
    # Introspection's lists count once: the introspection switch governs introspection.
    assert cost_of("{ __schema { types { fields { args { name } } } } }") < 20
    # A list the table does not name counts as a default page (here every category).
    tree = "{ categories { id name } }"
    assert cost_of(tree) == 3 + 20 * 2
    # A connection's edges are the page `first` already counted.
    page = "{ products(first: 7) { edges { node { id } } } }"
    assert cost_of(page) == 3 + 7 * (1 + 1 + 1)  # edges, node, id: once per item


def test_nested_connections_multiply(gateway: LiveGateway) -> None:
    query = """{ products(first: 100) { edges { node { category {
        products(first: 100) { edges { node { name } } } } } } } }"""
    result, calls = gateway.calls_during(query)
    assert refused(result, "COST_LIMIT_EXCEEDED")["extensions"]["cost"] == cost_of(query)
    assert cost_of(query) > 10_000
    assert calls == {}


# ---- production switches -----------------------------------------------------------------


def test_introspection_on_in_development(gateway: LiveGateway) -> None:
    data = accepted(gateway.query("{ __schema { queryType { name } } }"))
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_introspection_off_in_production(production: LiveGateway) -> None:
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Product") { name } }'):
        refused(production.query(query), "INTROSPECTION_DISABLED")
    accepted(production.query("{ products(first: 1) { totalCount } }"))


def test_suggestions_in_development_not_in_production(
    gateway: LiveGateway, production: LiveGateway
) -> None:
    typo = "{ products(first: 1) { totalCont } }"
    assert "Did you mean" in gateway.query(typo)["errors"][0]["message"]
    message = production.query(typo)["errors"][0]["message"]
    assert message == "Cannot query field 'totalCont' on type 'ProductConnection'."


def test_limits_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (
        defaults.max_depth,
        defaults.max_aliases,
        defaults.max_directives,
        defaults.max_tokens,
        defaults.max_body_bytes,
        defaults.max_cost,
        defaults.introspection,
        defaults.field_suggestions,
    ) == (10, 30, 50, 2000, 102_400, 10_000, True, True)
    for name, value in {
        "GATEWAY_MAX_DEPTH": "7",
        "GATEWAY_MAX_ALIASES": "15",
        "GATEWAY_MAX_DIRECTIVES": "20",
        "GATEWAY_MAX_TOKENS": "1000",
        "GATEWAY_MAX_BODY_BYTES": "65536",
        "GATEWAY_MAX_COST": "3000",
        "GATEWAY_ENV": "production",
        "GATEWAY_JWT_SECRET": PRODUCTION_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (
        settings.max_depth,
        settings.max_aliases,
        settings.max_directives,
        settings.max_tokens,
        settings.max_body_bytes,
        settings.max_cost,
        settings.introspection,
        settings.field_suggestions,
    ) == (7, 15, 20, 1000, 65536, 3000, False, False)
    monkeypatch.setenv("GATEWAY_INTROSPECTION", "true")
    assert Settings().introspection is True


def test_cost_counts_merged_fields_once_and_the_dearest_node_type() -> None:
    once = "{ products(first: 10) { edges { node { name skus { code } } } } }"
    twice = """{ products(first: 10) { edges { node { name skus { code } } } }
        products(first: 10) { edges { node { ...P } } } }
        fragment P on Product { name skus { code } }"""
    assert cost_of(twice) == cost_of(once)

    product = '{ node(id: "x") { ... on Product { name skus { code } } } }'
    both = '{ node(id: "x") { ... on Product { name skus { code } } ... on Sku { code } } }'
    assert cost_of(both) == cost_of(product)  # one id is one type: the dearer one counts


def test_a_kept_cost_is_keyed_by_the_variables_its_walk_read() -> None:
    """A checkout's requests differ in every variable (cart id, idempotency key) but none
    that prices the query: the kept cost is reused across those, never across a page size."""
    from gateway.limits import _keep_cost, _kept_cost, _query_cost

    query = parse(
        "query Q($n: Int, $id: ID!, $m: Int = 7) {"
        " products(first: $n) { edges { node { id } } }"
        " other: products(first: $m) { edges { node { id } } }"
        " cart(id: $id) { id } }"
    )
    cost, read = _query_cost(schema._schema, query, {"n": 10, "id": "a"}, None, 20, 100)
    assert set(read) == {"n", "m"}
    kept: list[Any] = []
    _keep_cost(kept, read, cost)
    assert _kept_cost(kept, {"n": 10, "id": "b"}) == cost
    assert _kept_cost(kept, {"n": 11, "id": "a"}) is None
    assert _kept_cost(kept, {"id": "a"}) is None  # no n: a default page, another cost
    assert _kept_cost(kept, {"n": 10, "m": 7, "id": "a"}) is None  # m given, not defaulted
    for variables in ({"n": 11, "id": "a"}, {"id": "a"}, {"n": 10, "m": 50, "id": "c"}):
        again, read = _query_cost(schema._schema, query, variables, None, 20, 100)
        _keep_cost(kept, read, again)
        assert _kept_cost(kept, {**variables, "id": "z"}) == again
        assert again == cost_of(
            "query Q($n: Int, $id: ID!, $m: Int = 7) {"
            " products(first: $n) { edges { node { id } } }"
            " other: products(first: $m) { edges { node { id } } }"
            " cart(id: $id) { id } }",
            variables,
        )
