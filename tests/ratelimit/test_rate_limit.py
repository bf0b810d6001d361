"""Rate limits over real HTTP, in-process and in a private Redis: a viewer over budget gets
429 with Retry-After and RATE_LIMITED and costs no source call; another viewer is served;
checkouts have their own tighter budget; several gateway processes share one budget in
Redis; a Redis that dies lets requests through (counted), never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.auth import ViewerKind, issue_token
from tests.cache.redis_support import PrivateRedis, private_redis
from tests.conftest import LiveGateway, serve, settings_for

pytestmark = pytest.mark.load_sensitive  # tests/conftest.py: run again if the machine made it miss

# Costs 3 + 5 * (1 + 1 + 1) = 18 points (see gateway/limits.py).
QUERY = "{ products(first: 5) { edges { node { id } } } }"
CHECKOUT = """mutation { checkoutComplete(cartId: "Q2FydDo5OTk5OTk=", idempotencyKey: "k",
  expectedTotal: "1.00") { userErrors { code } } }"""


def limited_settings(urls: dict[str, str], **overrides: Any) -> Any:
    rate_limit = {
        "enabled": True,
        "cost_burst": 60,  # three of QUERY at once
        "cost_per_minute": 60,  # then one point a second
        "checkout_burst": 2,
        "checkouts_per_minute": 1,
        **overrides.pop("rate_limit", {}),
    }
    return settings_for(urls, rate_limit=rate_limit, cache={"enabled": False}, **overrides)


def post(gateway: LiveGateway, query: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return gateway.client.post("/graphql", json={"query": query}, headers=headers)


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert retry >= 1
    body = response.json()
    assert "data" not in body or body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry}
    return retry


def metric(gateway: LiveGateway, name: str) -> float:
    for line in gateway.client.get("/metrics").text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def in_process(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(limited_settings(sqlite_shop))


def test_a_viewer_over_budget_waits_and_calls_no_source(in_process: LiveGateway) -> None:
    token = issue_token(in_process.settings, kind=ViewerKind.CUSTOMER, subject="7")
    for _ in range(3):
        assert post(in_process, QUERY, token).status_code == 200
    before = in_process.source_calls()
    retry = assert_limited(post(in_process, QUERY, token))
    assert in_process.source_calls() == before  # refused before execution
    assert 1 <= retry <= 18
    # Someone else (here: anonymous, by address) still has a budget.
    assert post(in_process, QUERY).status_code == 200
    assert metric(in_process, 'gateway_rate_limited_total{bucket="cost"}') >= 1


def test_checkouts_have_a_tighter_budget_of_their_own(in_process: LiveGateway) -> None:
    token = issue_token(in_process.settings, kind=ViewerKind.CUSTOMER, subject="8")
    for _ in range(2):
        response = post(in_process, CHECKOUT, token)
        assert response.status_code == 200
        assert response.json()["data"]["checkoutComplete"]["userErrors"]
    assert_limited(post(in_process, CHECKOUT, token))
    # The query budget is untouched by the refused checkout.
    assert post(in_process, QUERY, token).status_code == 200


def test_a_query_over_the_cost_limit_is_not_charged(sqlite_shop: dict[str, str]) -> None:
    for gateway in serve(limited_settings(sqlite_shop, max_cost=10)):
        for _ in range(5):
            body = post(gateway, QUERY).json()
            assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
        assert post(gateway, "{ categories { id } }").status_code == 200


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


def test_gateways_sharing_redis_share_one_budget(
    sqlite_shop: dict[str, str], redis_server: PrivateRedis
) -> None:
    settings = limited_settings(sqlite_shop, redis_url=redis_server.url)
    token = issue_token(settings, kind=ViewerKind.STAFF, subject="3", permissions=[])
    for first in serve(settings):
        for second in serve(settings):
            assert post(first, QUERY, token).status_code == 200
            assert post(second, QUERY, token).status_code == 200
            assert post(first, QUERY, token).status_code == 200
            assert_limited(post(second, QUERY, token))
            assert_limited(post(first, QUERY, token))
    keys = redis_server.client().keys("*:rl:cost:*")
    assert keys and all(redis_server.client().ttl(k) > 0 for k in keys)  # buckets expire


def test_redis_down_lets_requests_through_and_counts_it(
    sqlite_shop: dict[str, str], redis_server: PrivateRedis
) -> None:
    settings = limited_settings(
        sqlite_shop, redis_url=redis_server.url, rate_limit={"cost_burst": 10_000}
    )
    for gateway in serve(settings):
        assert post(gateway, QUERY).status_code == 200
        redis_server.kill()
        started = time.monotonic()
        for _ in range(10):
            assert post(gateway, QUERY).status_code == 200
        assert time.monotonic() - started < 10  # the breaker stops waiting on a dead Redis
        assert metric(gateway, "gateway_rate_limit_errors_total") >= 1
        redis_server.start()
        time.sleep(settings.cache.breaker_reset + 0.5)
        for _ in range(3):
            assert post(gateway, QUERY).status_code == 200
        assert redis_server.client().keys("*:rl:cost:*")  # counting again
