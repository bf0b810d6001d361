"""A CDN in front of the gateway: anonymous GETs carry what an edge cache needs (how long,
which entities), signed-in answers carry "private, no-store", and a write purges exactly
the tags it made stale, so an edge serving a listing shows a new price on the next request."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gateway.cache.cdn import PURGE_ATTEMPTS, PURGE_TIMEOUT_SECONDS
from tests.cache.live import (
    LISTING,
    PRICE_SET,
    cache_settings,
    first_product,
    live_gateway,
    sale_of,
    seed_small_shop,
    staff_token,
)
from tests.conftest import LiveGateway
from tests.gateway.cdn_proxy import EdgeCache, edge_proxy
from tests.remote import free_port

CATALOG_ONLY = "query CatalogOnly { categories { id slug name } }"


def _apq_get(client: httpx.Client, query: str) -> httpx.Response:
    """The GET a mobile client sends: the query's hash (the query too, the first time)."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    response = client.get("/graphql", params={"extensions": extensions})
    if "PersistedQueryNotFound" in response.text:
        response = client.get("/graphql", params={"extensions": extensions, "query": query})
    return response


def _max_age(cache_control: str, name: str) -> int:
    part = next(p for p in cache_control.split(",") if p.strip().startswith(name + "="))
    return int(part.split("=")[1])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return seed_small_shop(tmp_path_factory.mktemp("cdn-shop"))


@pytest.fixture
def gateway(shop: dict[str, str]) -> Iterator[LiveGateway]:
    with live_gateway(shop, cache_settings(response_cache=True)) as live:
        yield live


def test_an_anonymous_get_tells_an_edge_how_long_and_which_entities(
    gateway: LiveGateway,
) -> None:
    _apq_get(gateway.client, LISTING)  # the first answer fills the response cache
    listing = _apq_get(gateway.client, LISTING)
    catalog = _apq_get(gateway.client, CATALOG_ONLY)
    _apq_get(gateway.client, CATALOG_ONLY)
    catalog = _apq_get(gateway.client, CATALOG_ONLY)

    tags = listing.headers["surrogate-key"].split()
    for edge in listing.json()["data"]["products"]["edges"]:
        for sku in edge["node"]["skus"]:  # every price and stock it shows is a tag
            pk = _pk(sku["id"])
            assert f"Price:CNY:{pk}" in tags and f"Stock:{pk}" in tags
    assert {"kind:ProductListing", "kind:Price", "kind:Stock"} <= set(tags)
    assert listing.headers["cache-tag"].split(",") == tags
    control = listing.headers["cache-control"]
    assert control.startswith("public")
    # It shows stock: an edge keeps it no longer than the stock TTL (5 s).
    assert _max_age(control, "s-maxage") <= 5
    assert _max_age(control, "stale-while-revalidate") == 30
    assert "accept-encoding" in listing.headers["vary"].lower()
    # Categories change rarely: minutes at the edge.
    assert _max_age(catalog.headers["cache-control"], "s-maxage") == 300
    assert catalog.headers["surrogate-key"] == "CategoryTree:all kind:CategoryTree"


def test_a_signed_in_answer_is_never_kept_by_a_shared_cache(gateway: LiveGateway) -> None:
    token = staff_token(gateway, "MANAGE_PRICES")
    response = gateway.client.get(
        "/graphql", params={"query": LISTING}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert "surrogate-key" not in response.headers


def test_a_price_change_reaches_the_edge_by_purge(shop: dict[str, str]) -> None:
    port = free_port()
    edge_url = f"http://127.0.0.1:{port}"
    cache = cache_settings(
        response_cache=True,
        cdn_purge_url=f"{edge_url}/purge",
        # A CDN API that takes the tags in a header (Fastly) gets them there too.
        cdn_purge_headers={"Surrogate-Key": "{tags}", "X-Api-Key": "edge-secret"},
        # Long enough that only a purge can explain a fresh answer.
        price_ttl=300,
        stock_ttl=300,
        listing_ttl=300,
        response_ttl=300,
    )
    with (
        live_gateway(shop, cache) as gateway,
        edge_proxy(port, gateway.url) as edge,
        httpx.Client(base_url=edge_url, timeout=30) as storefront,
    ):
        _apq_get(gateway.client, LISTING)  # registered: from now on the hash alone
        first = _apq_get(storefront, LISTING)
        assert first.headers["x-edge"] == "MISS"
        before = gateway.source_calls()
        again = _apq_get(storefront, LISTING)
        assert again.headers["x-edge"] == "HIT"
        assert gateway.source_calls() == before  # the gateway was not even asked
        assert again.json() == first.json()

        node = first_product(gateway)
        sku = node["skus"][0]
        old = sku["price"]["sale"]["amount"]
        new = f"{float(old) - 1:.2f}"
        changed = gateway.query(
            PRICE_SET,
            {"sku": sku["id"], "list": sku["price"]["list"]["amount"], "sale": new},
            token=staff_token(gateway, "MANAGE_PRICES"),
        )
        assert changed["data"]["priceSet"]["userErrors"] == [], changed
        _wait_for(lambda: any(t.startswith("Price:") for p in edge.purges for t in p))
        purged = edge.purges[-1]
        assert {"kind:ProductListing", f"Price:CNY:{_pk(sku['id'])}"} <= set(purged)
        assert edge.purge_headers[-1]["surrogate-key"] == " ".join(purged)
        assert edge.purge_headers[-1]["x-api-key"] == "edge-secret"

        fresh = _apq_get(storefront, LISTING)
        assert fresh.headers["x-edge"] == "MISS"
        assert _sale(fresh.json(), sku["id"]) == new
        assert _apq_get(storefront, LISTING).headers["x-edge"] == "HIT"


@contextmanager
def _edge_in_front(shop: dict[str, str]) -> Iterator[tuple[LiveGateway, EdgeCache, httpx.Client]]:
    """A gateway whose purges go to an edge proxy in front of it, with TTLs long enough
    that only a purge can explain a fresh answer; the listing registered for APQ."""
    port = free_port()
    edge_url = f"http://127.0.0.1:{port}"
    cache = cache_settings(
        response_cache=True,
        cdn_purge_url=f"{edge_url}/purge",
        price_ttl=300,
        stock_ttl=300,
        listing_ttl=300,
        response_ttl=300,
    )
    with (
        live_gateway(shop, cache) as gateway,
        edge_proxy(port, gateway.url) as edge,
        httpx.Client(base_url=edge_url, timeout=30) as storefront,
    ):
        _apq_get(gateway.client, LISTING)
        yield gateway, edge, storefront


def _lower_a_price(gateway: LiveGateway) -> tuple[dict[str, Any], str, float]:
    """Lowers the first listed SKU's sale price by 1: (the SKU, its new price, how long
    the write took to answer)."""
    sku = first_product(gateway)["skus"][0]
    new = f"{float(sku['price']['sale']['amount']) - 1:.2f}"
    started = time.monotonic()
    changed = gateway.query(
        PRICE_SET,
        {"sku": sku["id"], "list": sku["price"]["list"]["amount"], "sale": new},
        token=staff_token(gateway, "MANAGE_PRICES"),
    )
    took = time.monotonic() - started
    assert changed["data"]["priceSet"]["userErrors"] == [], changed
    assert changed["data"]["priceSet"]["sku"]["price"]["sale"]["amount"] == new
    return sku, new, took


def _price_purges(attempts: list[list[str]], sku: dict[str, Any]) -> list[list[str]]:
    return [tags for tags in attempts if f"Price:CNY:{_pk(sku['id'])}" in tags]


def test_a_purge_the_cdn_refuses_is_retried_until_it_lands(shop: dict[str, str]) -> None:
    with _edge_in_front(shop) as (gateway, edge, storefront):
        assert _apq_get(storefront, LISTING).headers["x-edge"] == "MISS"
        assert _apq_get(storefront, LISTING).headers["x-edge"] == "HIT"
        edge.refuse_purges = 2  # the CDN's API is busy: 503, 503, then it accepts
        sku, new, _ = _lower_a_price(gateway)

        _wait_for(lambda: _price_purges(edge.purges, sku))
        tried = _price_purges(edge.purge_attempts, sku)
        assert len(tried) == 3  # two refused, the third landed
        assert tried[0] == tried[1] == tried[2]  # the same purge each time
        fresh = _apq_get(storefront, LISTING)
        assert fresh.headers["x-edge"] == "MISS"
        assert _sale(fresh.json(), sku["id"]) == new


def test_a_slow_or_failing_cdn_never_slows_or_fails_the_write(shop: dict[str, str]) -> None:
    with _edge_in_front(shop) as (gateway, edge, storefront):
        _apq_get(storefront, LISTING)
        # The CDN's API holds every purge unanswered: the write answers anyway, at once.
        edge.purge_gate.clear()
        sku, new, took = _lower_a_price(gateway)
        _wait_for(lambda: _price_purges(edge.purge_attempts, sku))
        assert not _price_purges(edge.purges, sku)  # still held when the write answered
        # Waiting for even one purge attempt would take its whole timeout (the CDN holds
        # it); a write alone takes milliseconds, so this bound is loose, not tight.
        assert took < PURGE_TIMEOUT_SECONDS, took
        assert sale_of(gateway, first_product(gateway)["slug"], sku["id"]) == new
        edge.purge_gate.set()
        _wait_for(lambda: _price_purges(edge.purges, sku))
        assert _sale(_apq_get(storefront, LISTING).json(), sku["id"]) == new

        # The CDN's API refuses every try: the write still succeeds; the hook gives up
        # after its attempts (the edge's copy then lives out its s-maxage).
        _apq_get(storefront, LISTING)
        landed, tried = len(edge.purges), len(edge.purge_attempts)
        edge.refuse_purges = 1_000
        sku, new, _ = _lower_a_price(gateway)
        _wait_for(lambda: len(_price_purges(edge.purge_attempts[tried:], sku)) >= PURGE_ATTEMPTS)
        assert len(edge.purges) == landed
        assert sale_of(gateway, first_product(gateway)["slug"], sku["id"]) == new
        # And the next write's purge lands once the CDN is back.
        edge.refuse_purges = 0
        sku, new, _ = _lower_a_price(gateway)
        _wait_for(lambda: _price_purges(edge.purges[landed:], sku))
        assert _sale(_apq_get(storefront, LISTING).json(), sku["id"]) == new


def _pk(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id).decode().split(":")[1]


def _sale(result: dict[str, Any], sku_id: str) -> str:
    for edge in result["data"]["products"]["edges"]:
        for sku in edge["node"]["skus"]:
            if sku["id"] == sku_id:
                return str(sku["price"]["sale"]["amount"])
    raise AssertionError(f"SKU {sku_id} not in the listing")


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the purge never reached the edge"
        time.sleep(0.02)
