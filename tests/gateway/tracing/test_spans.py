"""The spans of a listing and of a checkout, as an operator reads them: one trace from the
storefront's ``traceparent`` through the GraphQL operation, each source batch call (as many
as gateway_source_calls_total counts), each step of the checkout saga, down to the SQL, and
on through a remote source's service when the sources run as services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from bench.queries import LISTING, LISTING_PERSONAL
from tests.conftest import LiveGateway, seeded_shop_urls, settings_for
from tests.gateway.checkout_helpers import BACKENDS, CHECKOUT, Goods, Shop

from .support import CLIENT_SPAN_ID, TRACEPARENT, Spans, traced_gateway

PRODUCTS = 60


@pytest.fixture(scope="module", params=BACKENDS)
def shop_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    yield from seeded_shop_urls(request.param, tmp_path_factory.mktemp("traced-shop"), PRODUCTS)


@pytest.fixture(scope="module")
def spans() -> Spans:
    return Spans()


@pytest.fixture(scope="module")
def shop(shop_urls: dict[str, str], spans: Spans) -> Iterator[Shop]:
    settings = settings_for(shop_urls, sweep_interval_seconds=0, db_pool_size=2)
    with traced_gateway(settings, spans) as live:
        yield Shop("traced", shop_urls, live)


def _post(
    live: LiveGateway, query: str, variables: dict[str, Any], token: str, name: str
) -> dict[str, Any]:
    response = live.client.post(
        "/graphql",
        json={"query": query, "variables": variables, "operationName": name},
        headers={"Authorization": f"Bearer {token}", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body


def _source_calls(spans: Spans) -> dict[str, int]:
    counted: dict[str, int] = {}
    for span in spans.of_trace():
        if span.name.startswith("source "):
            key = span.name.removeprefix("source ")
            counted[key] = counted.get(key, 0) + 1
    return counted


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_a_listing_is_one_trace_from_the_storefront_down_to_the_sql(
    shop: Shop, spans: Spans
) -> None:
    token = shop.customer_token(1)
    spans.clear()
    before = shop.live.source_calls()
    _post(shop.live, LISTING, {}, token, "BenchListing")
    after = shop.live.source_calls()
    counted = {
        f"{s}.{m}": int(n - before.get((s, m), 0))
        for (s, m), n in after.items()
        if n - before.get((s, m), 0) > 0
    }

    server = spans.one("POST /graphql")
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None and format(server.parent.span_id, "016x") == CLIENT_SPAN_ID
    operation = spans.one("graphql.operation BenchListing")
    assert spans.parent_of(operation) is server
    attributes = _attributes(operation)
    assert attributes["graphql.operation.name"] == "BenchListing"
    assert attributes["graphql.operation.type"] == "query"
    assert isinstance(attributes["graphql.operation.cost"], int)
    assert attributes["graphql.operation.cost"] > 50
    # A signed-in buyer shares the browsing cache; asked for the first time, it executes.
    assert attributes["gateway.response_cache"] == "miss"

    # One span per counted batch call, each under the operation, saying how many keys.
    assert _source_calls(spans) == counted
    for span in spans.of_trace():
        if span.name.startswith("source "):
            assert operation.name in spans.ancestors(span), span.name
            source, method = span.name.removeprefix("source ").split(".")
            assert _attributes(span)["gateway.source"] == source
            assert _attributes(span)["gateway.source.method"] == method
    batches = [s for s in spans.of_trace() if "gateway.source.keys" in _attributes(s)]
    assert batches and all(_attributes(s)["gateway.source.keys"] >= 1 for s in batches)
    # The SQL statements hang under the source call that made them.
    statements = [s for s in spans.of_trace() if s.kind is SpanKind.CLIENT and s.name != "POST"]
    assert statements
    assert all(any(a.startswith("source ") for a in spans.ancestors(s)) for s in statements)


def test_a_listing_again_says_which_keys_the_shared_cache_answered(
    shop: Shop, spans: Spans
) -> None:
    # With the customer's own account beside it: executed (its answer is personal), the
    # catalog part from the shared entity cache.
    token = shop.customer_token(2)
    _post(shop.live, LISTING_PERSONAL, {}, token, "BenchListingPersonal")  # fills the cache
    spans.clear()
    _post(shop.live, LISTING_PERSONAL, {}, token, "BenchListingPersonal")
    operation = spans.one("graphql.operation BenchListingPersonal")
    lookups = [e for s in spans.of_trace() for e in s.events if e.name == "cache lookup"]
    assert lookups, "no cache lookups recorded"
    assert any(dict(e.attributes or {})["hits"] != 0 for e in lookups)
    for span in spans.of_trace():  # what still reaches a source says how many keys it was spared
        if "gateway.cache.hits" in _attributes(span):
            assert operation.name in spans.ancestors(span)


def test_a_checkout_shows_each_saga_step_with_its_source_calls(shop: Shop, spans: Spans) -> None:
    goods = Goods(shop.plain_skus())
    token = shop.customer_token(3)
    created = shop.create_cart([(goods.take().id, 1)], token=token)
    assert created["userErrors"] == []
    cart = created["cart"]
    spans.clear()
    variables = {"cartId": cart["id"], "key": "traced-1", "total": cart["cost"]["total"]["amount"]}
    placed = _post(shop.live, CHECKOUT, variables, token, "CheckoutComplete")
    assert placed["data"]["checkoutComplete"]["userErrors"] == []

    operation = spans.one("graphql.operation CheckoutComplete")
    assert _attributes(operation)["graphql.operation.type"] == "mutation"
    steps = sorted(
        (s for s in spans.of_trace() if s.name.startswith("checkout.")),
        key=lambda s: s.start_time or 0,
    )
    assert [s.name for s in steps] == [
        "checkout.claim_key",
        "checkout.snapshot",
        "checkout.reserve_stock",  # no coupon: CONFIRMED as it is made, no confirmation step
        "checkout.create_order",
    ]
    assert all(spans.parent_of(s) is operation for s in steps)
    for step, call in (
        ("checkout.claim_key", "source orders.checkout_start"),
        ("checkout.reserve_stock", "source inventory.reserve"),
        ("checkout.create_order", "source orders.create_order_with_lines"),
    ):
        parent = spans.parent_of(spans.one(call))
        assert parent is not None and parent.name == step, (call, parent and parent.name)
    assert _attributes(spans.one("source inventory.reserve"))["gateway.source.keys"] == 1


@pytest.fixture(scope="module")
def remote_shop(shop_urls: dict[str, str], spans: Spans) -> Iterator[Shop]:
    settings = settings_for(shop_urls, sweep_interval_seconds=0, db_pool_size=2)
    with traced_gateway(settings, spans, remote=True) as live:
        yield Shop("traced-remote", shop_urls, live)


def test_a_remote_source_continues_the_trace_in_its_service(
    remote_shop: Shop, spans: Spans
) -> None:
    token = remote_shop.customer_token(4)
    spans.clear()
    _post(remote_shop.live, LISTING, {}, token, "BenchListing")
    call = spans.one("source catalog.list_products")
    (outgoing,) = [s for s in spans.of_trace() if spans.parent_of(s) is call]
    assert outgoing.kind is SpanKind.CLIENT  # the client's span: it sent traceparent along
    (served,) = [s for s in spans.of_trace() if spans.parent_of(s) is outgoing]
    assert served.kind is SpanKind.SERVER
    assert served.name == "POST /v1/catalog/list_products"
    sql = [s for s in spans.of_trace() if spans.parent_of(s) is served]
    assert sql and all(s.kind is SpanKind.CLIENT for s in sql)
    # Every source call of the listing reached its service inside this one trace.
    services = {s.name for s in spans.of_trace() if s.kind is SpanKind.SERVER}
    for name in _source_calls(spans):
        source, method = name.split(".")
        assert f"POST /v1/{source}/{method}" in services
