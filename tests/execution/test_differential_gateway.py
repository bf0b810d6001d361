"""The breadth-first executor against standard execution on the gateway's own schema and
the seeded demo shop: every query the gateway tests send (read from their source), the
benchmark screens, and random operations over the schema, as an anonymous buyer, a
customer and staff with every permission; then the listing over a shop whose pricing has
lost some SKUs' prices (a non-null field failing in the middle of lists). Same data,
equivalent errors (tests/execution/compare.py), the same source calls for the screens.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse, validate
from hypothesis import HealthCheck, assume, given, settings
from prometheus_client import CollectorRegistry

from bench.queries import SCENARIOS
from gateway.auth import ANONYMOUS, Permission, Viewer, ViewerKind
from gateway.cache.factory import build_cache
from gateway.execution import BREADTH_FIRST, STANDARD
from gateway.execution.inprocess import InProcess
from gateway.metrics import Metrics
from gateway.sources import Sources
from tests.conftest import settings_for
from tests.gateway.support import global_id

from .compare import assert_same
from .generate import Operation, operations

logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # errors are expected

STAFF = Viewer(ViewerKind.STAFF, "admin", frozenset(Permission))
CUSTOMER = Viewer(ViewerKind.CUSTOMER, "1")
VIEWERS = {"anonymous": ANONYMOUS, "customer": CUSTOMER, "staff": STAFF}
TESTS = Path(__file__).resolve().parent.parent / "gateway"


def suite_queries() -> list[str]:
    """Every string literal in tests/gateway that is a valid query of the schema."""
    from gateway.schema import schema

    found: dict[str, None] = {}
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value.strip()
            if not text.startswith(("{", "query")):
                continue
            try:
                document = parse(text)
            except Exception:
                continue
            operations_ = [
                d for d in document.definitions if isinstance(d, OperationDefinitionNode)
            ]
            if len(operations_) != 1 or operations_[0].operation is not OperationType.QUERY:
                continue
            if not validate(schema._schema, document):
                found[text] = None
    return list(found)


def variables_for(text: str, slug: str) -> dict[str, Any]:
    """Values for whatever variables a query declares, from the seeded shop."""
    pool: dict[str, Any] = {
        "after": None,
        "cart": global_id("Cart", "0f0e0d0c-0000-4000-8000-000000000000"),
        "customer": global_id("Customer", 1),
        "filter": {"categorySlug": "electronics"},
        "first": 5,
        "id": global_id("Product", 3),
        "ids": [
            global_id("Product", 1),
            global_id("Sku", 2),
            global_id("Category", 1),
            global_id("Promotion", 1),
            global_id("Order", 1),
            global_id("Product", 999_999),
        ],
        "order": global_id("Order", 1),
        "search": "phone",
        "slug": slug,
        "sort": "PRICE_ASC",
        "threshold": 50,
    }
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    names = [v.variable.name.value for v in operation.variable_definitions or ()]
    return {name: pool[name] for name in names if name in pool}


class Harness:
    """Both executors over one set of sources, on one event loop for the module."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.runner = asyncio.Runner()
        self.settings = settings_for(urls, max_page_size=250)  # the large bench screen
        self.metrics = Metrics()
        self.sources = Sources.from_settings(self.settings)
        for store in self.sources.stores():
            self.metrics.count_calls(store)
        self.in_process = InProcess(self.settings, self.sources, self.metrics)
        self.now = datetime.now(UTC)

    def execute(
        self, executor: str, text: str, variables: dict[str, Any], viewer: Viewer
    ) -> tuple[dict[str, Any], dict[str, float]]:
        before = self._calls()
        response = self.runner.run(
            self.in_process.execute(executor, text, variables, viewer=viewer, now=self.now)
        )
        after = self._calls()
        return response, {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}

    def _calls(self) -> dict[str, float]:
        counts: dict[str, float] = {}
        for metric in self.metrics.source_calls.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    counts[f"{sample.labels['source']}.{sample.labels['method']}"] = sample.value
        return counts

    def compare(
        self, text: str, variables: dict[str, Any], viewer: Viewer, *, calls: bool = False
    ) -> dict[str, Any]:
        standard, standard_calls = self.execute(STANDARD, text, variables, viewer)
        breadth_first, breadth_first_calls = self.execute(BREADTH_FIRST, text, variables, viewer)
        assert_same(standard, breadth_first, f"{text}\nvariables: {variables}\nviewer: {viewer}")
        if calls:  # never more source calls than standard execution
            assert sum(breadth_first_calls.values()) <= sum(standard_calls.values()), (
                f"{text}: {breadth_first_calls} vs {standard_calls}"
            )
        return breadth_first

    def close(self) -> None:
        self.runner.run(self.sources.close())
        self.runner.close()


@pytest.fixture(scope="module")
def harness(sqlite_shop: dict[str, str]) -> Iterator[Harness]:
    harness = Harness(sqlite_shop)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def detail_slug(harness: Harness) -> str:
    response, _ = harness.execute(
        BREADTH_FIRST,
        "{ products(first: 1, filter: { kind: BUNDLE }) { edges { node { slug } } } }",
        {},
        ANONYMOUS,
    )
    return str(response["data"]["products"]["edges"][0]["node"]["slug"])


QUERIES = suite_queries()


def test_the_suite_has_queries_to_compare() -> None:
    assert len(QUERIES) > 50


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_every_query_of_the_test_suite_answers_as_standard_execution(
    harness: Harness, detail_slug: str, viewer: str
) -> None:
    for text in QUERIES:
        harness.compare(text, variables_for(text, detail_slug), VIEWERS[viewer])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_benchmark_screens_answer_as_standard_execution_with_no_more_source_calls(
    harness: Harness, detail_slug: str, name: str
) -> None:
    scenario = SCENARIOS[name]
    # A back-office screen is staff's only (anyone else is refused it, by either executor).
    for viewer in (STAFF,) if scenario.staff else (ANONYMOUS, STAFF):
        response = harness.compare(
            scenario.query, scenario.variables(detail_slug), viewer, calls=True
        )
        assert "errors" not in response


@pytest.mark.parametrize("name", ["large", "listing-signed-in"])
def test_benchmark_screens_answer_alike_through_a_warm_shared_cache(
    harness: Harness, detail_slug: str, name: str
) -> None:
    """bench/executor.py's caches-on figures: both executors reading through the shared
    cache as the served app does answer as they do from the sources, and once it is warm
    the screen reads no source at all (else the figures would time source calls)."""
    scenario = SCENARIOS[name]
    variables = scenario.variables(detail_slug)
    expected, _ = harness.execute(STANDARD, scenario.query, variables, CUSTOMER)
    served = harness.settings.model_copy(update={"redis_url": None, "redis_cluster_url": None})
    cached = InProcess(
        served, harness.sources, harness.metrics, cache=build_cache(served, CollectorRegistry())
    )
    plain = harness.in_process
    harness.in_process = cached
    try:
        for executor in (STANDARD, BREADTH_FIRST, STANDARD, BREADTH_FIRST):
            response, calls = harness.execute(executor, scenario.query, variables, CUSTOMER)
            assert_same(expected, response, f"{name} through the cache, {executor}")
        assert calls == {}, f"{name}: a warm cache still read {calls}"
    finally:
        harness.in_process = plain


def _arguments(slug: str) -> dict[tuple[str, str], Any]:
    ids = [
        global_id("Product", 5),
        global_id("Sku", 7),
        global_id("Category", 2),
        global_id("Promotion", 1),
        global_id("Order", 1),
        global_id("Customer", 1),
        "not-an-id",
    ]
    return {
        ("Query", "products"): lambda r: r.choice(
            [
                "first: 3",
                "first: 7, sort: PRICE_DESC",
                'first: 4, filter: { search: "pro" }',
                "first: 200",
                'first: 5, after: "bogus"',
                "first: 6, filter: { kind: BUNDLE }",
            ]
        ),
        ("Query", "product"): lambda r: r.choice(
            [f'slug: "{slug}"', f'id: "{ids[0]}"', 'slug: "no-such-product"', f'id: "{ids[1]}"']
        ),
        ("Query", "node"): lambda r: f'id: "{r.choice(ids)}"',
        ("Query", "nodes"): lambda r: (
            "ids: [" + ", ".join(f'"{i}"' for i in r.sample(ids[:-1], r.randint(0, 4))) + "]"
        ),
        ("Query", "lowStock"): lambda r: f"threshold: {r.randint(0, 80)}, first: 5",
        ("Query", "orders"): lambda r: "first: 3",
        ("Query", "afterSalesRequests"): lambda r: "first: 3",
        ("Category", "products"): lambda r: f"first: {r.randint(0, 4)}",
        ("Product", "auditLog"): lambda r: r.choice(["first: 2", "first: 500"]),
        ("Sku", "auditLog"): lambda r: "first: 2",
        ("Customer", "orders"): lambda r: "first: 2",
    }


def _skipped(type_name: str, field_name: str) -> bool:
    # Fields that need arguments the table does not give (a cart id, dates) stay out.
    return (type_name, field_name) in {("Query", "cart"), ("Query", "settlement")}


@pytest.fixture(scope="module")
def generated(detail_slug: str) -> Any:
    from gateway.schema import schema

    return operations(schema._schema, _arguments(detail_slug), max_depth=4, skip_fields=_skipped)


def test_random_operations_answer_as_standard_execution(harness: Harness, generated: Any) -> None:
    from gateway.schema import schema

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(generated, st_viewer())
    def check(operation: Operation, viewer: Viewer) -> None:
        assume(not validate(schema._schema, parse(operation.text)))
        harness.compare(operation.text, operation.variables, viewer)

    check()


def st_viewer() -> Any:
    from hypothesis import strategies as st

    return st.sampled_from(list(VIEWERS.values()))


@pytest.fixture(scope="module")
def shop_missing_prices(
    sqlite_shop: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The demo shop with the prices of every 7th SKU gone from a copy of its pricing."""
    source = Path(sqlite_shop["pricing"].split("///", 1)[1])
    copy = tmp_path_factory.mktemp("missing-prices") / "pricing.db"
    shutil.copy(source, copy)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM prices WHERE sku_id % 7 = 3")
    return {**sqlite_shop, "pricing": f"sqlite+aiosqlite:///{copy}"}


def test_a_sku_without_a_price_nulls_what_the_spec_says_under_both_executors(
    shop_missing_prices: dict[str, str],
) -> None:
    harness = Harness(shop_missing_prices)
    try:
        for text in (
            "{ categories { name products(first: 3) { edges { node { name"
            " skus { code price { sale { amount } } } } } } } }",
            "{ nodes(ids: ["
            + ", ".join(f'"{global_id("Sku", i)}"' for i in range(1, 12))
            + "]) { id ... on Sku { code price { sale { amount } } } } }",
        ):
            response = harness.compare(text, {}, ANONYMOUS)
            assert response.get("errors"), text
    finally:
        harness.close()


def test_the_listing_without_some_prices_answers_where_standard_execution_crashes(
    shop_missing_prices: dict[str, str],
) -> None:
    """Standard execution may not answer this one: when Sku.price (non-null) fails,
    graphql-core cancels the sibling tasks, a cancelled task cancels the DataLoader future
    it waits on, that future is shared (memoised) with other fields, and their
    CancelledError escapes execution. Breadth-first execution cancels nothing: it answers
    what the spec says (Sku.price is non-null up to the non-null root: data is null)."""
    harness = Harness(shop_missing_prices)
    try:
        query = SCENARIOS["listing"].query
        # Whether graphql-core crashes depends on which sibling task the failure meets
        # first (it did alone, not after other modules had warmed the shop's caches): when
        # it answers, it answers as the spec says, like the breadth-first executor always.
        try:
            standard, _ = harness.execute(STANDARD, query, {}, ANONYMOUS)
            assert standard["data"] is None and standard["errors"]
        except asyncio.CancelledError:
            pass
        response, _ = harness.execute(BREADTH_FIRST, query, {}, ANONYMOUS)
        assert response["data"] is None
        [error] = response["errors"]
        assert error["message"].endswith("has no price in CNY")
        assert error["path"][:3] == ["products", "edges", error["path"][2]]
        assert error["path"][-1] == "price"
    finally:
        harness.close()
