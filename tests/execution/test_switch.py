"""GATEWAY_EXECUTOR over HTTP: both executors answer a client the same, a bad value stops
the process with one line, and /metrics counts what each executor ran (a mutation of one
root field is planned too, gateway/mutation_plans.py; one of two root fields goes to
standard execution, with the reason)."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigurationError, load_settings
from tests.conftest import serve, settings_for

LISTING = """
query Listing { products(first: 5, sort: PRICE_ASC) { totalCount edges { cursor node {
  id name inStock category { name } priceRange { min { amount } }
  skus { code price { sale { amount currency } } stock { available } }
  promotions { name } } } } }
"""
MUTATION = "mutation { cartCreate(input: {}) { cart { id } userErrors { code } } }"
TWO_FIELDS = """mutation { a: cartCreate(input: {}) { cart { id } userErrors { code } }
  b: cartCreate(input: {}) { cart { id } userErrors { code } } }"""


def _executions(metrics_text: str) -> dict[tuple[str, str], float]:
    counts = {}
    for line in metrics_text.splitlines():
        if line.startswith("gateway_executions_total{"):
            labels, value = line.split("} ")
            parts = dict(p.split("=") for p in labels.split("{", 1)[1].split(","))
            counts[(parts["executor"].strip('"'), parts["reason"].strip('"'))] = float(value)
    return counts


def test_both_executors_answer_a_client_the_same_and_metrics_say_which_ran(
    sqlite_shop: dict[str, str],
) -> None:
    answers = {}
    for executor in ("standard", "breadth-first"):
        for gateway in serve(settings_for(sqlite_shop, executor=executor)):
            answers[executor] = gateway.query(LISTING)
            created = gateway.query(MUTATION)
            assert created["data"]["cartCreate"]["userErrors"] == []
            both = gateway.query(TWO_FIELDS)["data"]
            assert both["a"]["cart"]["id"] != both["b"]["cart"]["id"]
            counts = _executions(gateway.client.get("/metrics").text)
            if executor == "breadth-first":
                assert counts[("breadth-first", "")] == 2  # the listing, the mutation
                assert counts[("standard", "mutation")] == 1  # the two-field mutation
            else:
                assert counts == {}  # the standard executor is not counted as a fallback
    assert "errors" not in answers["standard"]
    assert answers["standard"] == answers["breadth-first"]


def test_an_unknown_executor_stops_the_process_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_EXECUTOR", "fastest")
    with pytest.raises(ConfigurationError, match="GATEWAY_EXECUTOR"):
        load_settings()
