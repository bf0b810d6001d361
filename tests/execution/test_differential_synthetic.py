"""The breadth-first executor against graphql-core's standard execution on a schema made
to corner it (tests/execution/synthetic.py): random operations from hypothesis, with
errors in the middle of lists, non-null propagation, nested lists, abstract types,
fragments, aliases and directives. Same data, equivalent errors (tests/execution/compare.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import parse, validate
from hypothesis import HealthCheck, assume, given, settings
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.execution import BreadthFirstExecutor

from . import synthetic
from .compare import assert_same
from .generate import Operation, operations

STANDARD = synthetic.build(StrawberryGraphQLCoreExecutionContext)
BREADTH_FIRST = synthetic.build(BreadthFirstExecutor)
GRAPHQL_SCHEMA = STANDARD._schema

ARGUMENTS = {
    ("Query", "items"): lambda r: f"count: {r.randint(0, 7)}, start: {r.randint(0, 40)}",
    ("Query", "maybeItems"): lambda r: f"count: {r.randint(0, 9)}",
    ("Query", "item"): lambda r: f"n: {r.randint(0, 60)}",
    ("Query", "strictItem"): lambda r: f"n: {r.randint(0, 60)}",
    ("Query", "thing"): lambda r: f"n: {r.randint(0, 60)}",
    ("Query", "things"): lambda r: f"count: {r.randint(0, 8)}",
    ("Query", "hello"): lambda r: r.choice(['name: "a"', 'name: "b"']),
    ("Item", "children"): lambda r: f"count: {r.randint(0, 3)}",
}


def run(schema: Any, operation: Operation) -> dict[str, Any]:
    result = asyncio.run(schema.execute(operation.text, variable_values=operation.variables))
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [e.formatted for e in result.errors]
    return response


def check(operation: Operation) -> None:
    assert_same(run(STANDARD, operation), run(BREADTH_FIRST, operation), operation.text)


@settings(
    max_examples=100,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
@given(operations(GRAPHQL_SCHEMA, ARGUMENTS, max_depth=3))
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_random_operations_answer_as_standard_execution(operation: Operation) -> None:
    assume(not validate(GRAPHQL_SCHEMA, parse(operation.text)))
    check(operation)


@pytest.mark.parametrize(
    "text",
    [
        # a non-null field failing in the middle of a non-null list nulls the whole data
        "{ items(count: 8) { n strict } }",
        # a nullable one nulls only itself, item by item
        "{ items(count: 8) { n broken slow batched huge } }",
        # non-null failing inside a nullable list item: the item goes null
        "{ maybeItems(count: 8) { n missing } }",
        # propagation stops at the nearest nullable parent, two levels up
        "{ item(n: 3) { children(count: 6) { n strictChildren { n strict } } } }",
        "{ items(count: 3) { maybeChildren { n missing parent { n strict } } } }",
        # nested lists, abstract types with fragments on both implementations
        "{ items(count: 3) { grid { n label } things { __typename id ... on Leaf { label }"
        " ... on Item { n broken } } } }",
        "{ things(count: 5) { __typename ...F } } fragment F on Thing { id ... on Item { n } }",
        # aliases, the same field asked twice and merged, arguments per alias
        "{ a: items(count: 2) { n } b: items(count: 3, start: 5) { n x: n n } hello }",
        "{ boom hello }",
    ],
)
def test_edge_cases_answer_as_standard_execution(text: str) -> None:
    check(Operation(text, {}))


def test_directives_with_variables_pick_the_plan_per_value() -> None:
    text = (
        "query Q($a: Boolean!, $b: Boolean!) { items(count: 2) { n @include(if: $a)"
        " name @skip(if: $b) ... on Item @include(if: $b) { shade } } }"
    )
    for a in (True, False):
        for b in (True, False):
            check(Operation(text, {"a": a, "b": b}))


def test_directives_inside_named_fragments_pick_the_plan_per_value() -> None:
    text = (
        "query Q($a: Boolean!) { items(count: 2) { ...F } }"
        " fragment F on Item { n name @include(if: $a) ...G }"
        " fragment G on Item { shade @skip(if: $a) }"
    )
    for a in (True, False, True):
        check(Operation(text, {"a": a}))
