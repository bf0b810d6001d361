"""The gateway as an HTTP service: health and readiness an orchestrator can act on, metrics
an operator can graph, a request id on every response, and requests it cannot run refused
with a client error (never a 500, never an HTML page to an API client)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LiveGateway, serve, settings_for

from .support import serve_uncached

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Nothing listens on port 1: connecting fails at once, as for a source whose database is down.
UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/catalog"


def fresh(gateway: LiveGateway) -> httpx.Client:
    """A client of its own: a request that makes the server drop the connection must not
    break the session's shared client for the tests after it."""
    return httpx.Client(base_url=gateway.url, timeout=30)


def metric_samples(gateway: LiveGateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = gateway.client.get("/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# ---- health, readiness, metrics ----------------------------------------------------------


def test_healthz_says_ok_in_json(gateway: LiveGateway) -> None:
    response = gateway.client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


def test_readyz_names_each_source_ok(gateway: LiveGateway) -> None:
    response = gateway.client.get("/readyz")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["sources"] == dict.fromkeys(["catalog", "inventory", "pricing", "orders"], "ok")


@pytest.fixture(scope="module")
def catalog_down(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    """A gateway whose catalog database cannot be reached; the other sources are fine."""
    yield from serve(settings_for({**sqlite_shop, "catalog": UNREACHABLE}))


def test_readyz_is_503_naming_the_source_that_is_down(catalog_down: LiveGateway) -> None:
    response = catalog_down.client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] != "ok"
    assert body["sources"]["catalog"] != "ok"
    assert {k: v for k, v in body["sources"].items() if k != "catalog"} == dict.fromkeys(
        ["inventory", "pricing", "orders"], "ok"
    )
    assert UNREACHABLE not in response.text, "readiness must not print database URLs"


def test_a_source_down_leaves_the_process_healthy_and_answers_with_errors(
    catalog_down: LiveGateway,
) -> None:
    assert catalog_down.client.get("/healthz").status_code == 200

    response = catalog_down.client.post("/graphql", json={"query": "{ categories { slug } }"})

    assert response.status_code == 200
    body = response.json()
    assert not (body["data"] or {}).get("categories")  # a list degrades to [] + its error
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SOURCE_UNAVAILABLE"]
    assert body["errors"][0]["extensions"]["source"] == "catalog"


@pytest.fixture(scope="module")
def uncached(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve_uncached(sqlite_shop)


def test_metrics_count_requests_by_operation_source_calls_and_loader_batches(
    uncached: LiveGateway,
) -> None:
    gateway = uncached
    before = metric_samples(gateway)

    result = gateway.query(
        "query MetricsProbe { products(first: 20) { edges { node { skus { code } } } } }",
        operation_name="MetricsProbe",
    )

    assert "errors" not in result
    after = metric_samples(gateway)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("gateway_requests_total", operation="MetricsProbe") == 1
    assert grew("gateway_source_calls_total", source="catalog", method="list_products") == 1
    assert grew("gateway_source_calls_total", source="catalog", method="skus_by_product_ids") == 1
    # One batch of the page's 20 products, not 20 batches of one.
    assert grew("gateway_loader_batch_size_count", loader="catalog.skus_by_product") == 1
    assert grew("gateway_loader_batch_size_sum", loader="catalog.skus_by_product") == 20


def test_metrics_are_prometheus_text(gateway: LiveGateway) -> None:
    response = gateway.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"gateway_requests", "gateway_source_calls", "gateway_loader_batch_size"} <= names


# ---- request ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("POST", "/graphql", {"query": "{ categories { slug } }"}),
        ("POST", "/graphql", {"query": "{ nope }"}),
        ("POST", "/graphql", {"query": "{ categories { slug "}),
        ("GET", "/no-such-page", None),
    ],
)
def test_every_response_carries_a_request_id(
    gateway: LiveGateway, method: str, path: str, body: Any
) -> None:
    first = gateway.client.request(method, path, json=body)
    second = gateway.client.request(method, path, json=body)

    for response in (first, second):
        assert SANE_REQUEST_ID.match(response.headers.get("x-request-id", "")), response.headers
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_sane_incoming_request_id_is_echoed(gateway: LiveGateway) -> None:
    response = gateway.client.post(
        "/graphql",
        json={"query": "{ categories { slug } }"},
        headers={"X-Request-ID": "lb-7f3a.trace_01"},
    )

    assert response.headers["x-request-id"] == "lb-7f3a.trace_01"


@pytest.mark.parametrize(
    "incoming", ["has space", "<script>alert(1)</script>", "x" * 65, "", "a/b", "caf\u00e9"]
)
def test_an_insane_incoming_request_id_is_replaced(gateway: LiveGateway, incoming: str) -> None:
    response = gateway.client.get("/healthz", headers=[("X-Request-ID", incoming.encode("utf-8"))])

    echoed = response.headers["x-request-id"]
    assert echoed != incoming
    assert SANE_REQUEST_ID.match(echoed)


# ---- requests the gateway cannot run -----------------------------------------------------

JSON = {"content-type": "application/json"}
BAD_REQUESTS = [
    pytest.param("POST", {"content": b"{not json", "headers": JSON}, id="not-json"),
    pytest.param(
        "POST",
        {
            "content": b'{"query": "{ categories { slug } }"}',
            "headers": {"content-type": "text/plain"},
        },
        id="wrong-content-type",
    ),
    pytest.param("POST", {"content": b"", "headers": JSON}, id="empty-body"),
    pytest.param("GET", {"headers": {"accept": "application/json"}}, id="get-without-query"),
    pytest.param("POST", {"json": {"query": 5}}, id="query-not-a-string"),
    pytest.param("POST", {"json": {"query": None}}, id="query-null"),
    pytest.param("POST", {"json": {"variables": {}}}, id="no-query"),
    pytest.param(
        "POST", {"json": {"query": "{ categories { slug } }", "variables": "x"}}, id="bad-variables"
    ),
    pytest.param("POST", {"json": [{"query": "{ categories { slug } }"}]}, id="batch"),
    pytest.param("POST", {"json": "{ categories { slug } }"}, id="body-a-string"),
    pytest.param("POST", {"json": 5}, id="body-a-number"),
    pytest.param("POST", {"content": b"null", "headers": JSON}, id="body-null"),
    pytest.param("POST", {"json": {"query": "{ categories { slug "}}, id="syntax-error"),
    pytest.param("POST", {"json": {"query": "{ nope }"}}, id="unknown-field"),
    pytest.param(
        "POST", {"json": {"query": '{ products(first: "x") { totalCount } }'}}, id="bad-argument"
    ),
]


@pytest.mark.parametrize(("method", "request_kwargs"), BAD_REQUESTS)
def test_a_request_the_gateway_cannot_run_is_a_client_error_never_a_500(
    gateway: LiveGateway, method: str, request_kwargs: dict[str, Any]
) -> None:
    with fresh(gateway) as client:
        response = client.request(method, "/graphql", **request_kwargs)

    assert response.status_code != 500, response.text
    assert "text/html" not in response.headers.get("content-type", "")
    assert "x-request-id" in response.headers
    if response.status_code == 200:
        body = response.json()
        assert body["errors"] and body.get("data") is None, body
    else:
        assert 400 <= response.status_code < 500


REFUSED_IN_JSON = [
    param
    for param in BAD_REQUESTS
    if param.id not in {"syntax-error", "unknown-field", "bad-argument"}
]


@pytest.mark.parametrize(("method", "request_kwargs"), REFUSED_IN_JSON)
def test_a_refused_request_explains_itself_in_json(
    gateway: LiveGateway, method: str, request_kwargs: dict[str, Any]
) -> None:
    with fresh(gateway) as client:
        response = client.request(method, "/graphql", **request_kwargs)

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["message"]


def test_a_query_over_get_works(gateway: LiveGateway) -> None:
    response = gateway.client.get("/graphql", params={"query": "{categories{name}}"})

    assert response.status_code == 200
    categories = response.json()["data"]["categories"]
    assert categories and all(c["name"] for c in categories)


def test_a_mutation_over_get_is_refused(gateway: LiveGateway) -> None:
    response = gateway.client.get("/graphql", params={"query": "mutation { __typename }"})

    assert 400 <= response.status_code < 500
    assert '"data"' not in response.text


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_graphql_answers_only_get_and_post(gateway: LiveGateway, method: str) -> None:
    response = gateway.client.request(method, "/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    assert "x-request-id" in response.headers
