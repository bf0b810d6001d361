"""A client sees what its queries cost and what is left of its budget before it hits the
wall: ``GraphQL-Cost: report`` (Hot Chocolate's header) adds ``extensions.cost`` with the
query's cost, the most one may cost, and Shopify's throttleStatus of the rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.auth import ViewerKind, issue_token
from tests.conftest import LiveGateway, serve, settings_for

from .test_rate_limit import QUERY, limited_settings

REPORT = {"GraphQL-Cost": "report"}


def _post(gateway: LiveGateway, headers: dict[str, str]) -> httpx.Response:
    return gateway.client.post("/graphql", json={"query": QUERY}, headers=headers)


@pytest.fixture(scope="module")
def limited(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(limited_settings(sqlite_shop))


@pytest.fixture(scope="module")
def unlimited(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(settings_for(sqlite_shop, rate_limit={"enabled": False}))


def test_a_report_shows_the_cost_and_the_budget_left(limited: LiveGateway) -> None:
    token = issue_token(limited.settings, kind=ViewerKind.CUSTOMER, subject="31")
    headers = {**REPORT, "Authorization": f"Bearer {token}"}

    first = _post(limited, headers)
    second = _post(limited, headers)

    costs: list[dict[str, Any]] = [r.json()["extensions"]["cost"] for r in (first, second)]
    for cost in costs:
        assert cost["requestedQueryCost"] == 18  # the figure the cost limit computes
        assert cost["maximumQueryCost"] == limited.settings.max_cost
        throttle = cost["throttleStatus"]
        assert (throttle["maximumAvailable"], throttle["restoreRate"]) == (60, 1.0)
    # 60 - 18, then 18 more taken (and at most a few seconds' refill at 1 point a second)
    assert 42 <= costs[0]["throttleStatus"]["currentlyAvailable"] <= 45
    assert 24 <= costs[1]["throttleStatus"]["currentlyAvailable"] <= 28
    assert first.headers["cache-control"] == "private, no-store"


def test_without_asking_the_answer_is_unchanged(limited: LiveGateway) -> None:
    answer = _post(limited, {}).json()

    assert "extensions" not in answer
    assert answer["data"]["products"]["edges"]


def test_without_a_rate_limit_the_report_has_no_throttle(unlimited: LiveGateway) -> None:
    cost = _post(unlimited, REPORT).json()["extensions"]["cost"]

    assert cost == {
        "requestedQueryCost": 18,
        "maximumQueryCost": unlimited.settings.max_cost,
        "throttleStatus": None,
    }
