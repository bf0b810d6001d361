"""schema.graphql alone tells a client what a query costs: its ``@cost`` and ``@listSize``
(IBM cost specification) carry the numbers gateway/limits.py charges, so a cost worked out
from the file equals the cost the gateway computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
    parse,
    value_from_ast_untyped,
)

from gateway.limits import query_cost
from gateway.schema import schema

SDL = build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())
DEFAULT_PAGE, MAX_PAGE = 20, 100


def _directive(field: GraphQLField, name: str) -> dict[str, Any] | None:
    node = field.ast_node
    for directive in (node.directives if node else ()) or ():
        if directive.name.value == name:
            return {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments}
    return None


def _sdl_cost(sdl: GraphQLSchema, selection: SelectionSetNode, type_name: str) -> int:
    """A client's reading of the directives: a field costs its @cost weight (else 1), plus
    its selection times its @listSize: the slicing argument given (at most the largest
    page), else assumedSize; a sized field (a connection's edges) counts once."""
    parent = sdl.get_type(type_name)
    total = 0
    for node in selection.selections:
        assert isinstance(node, FieldNode)
        if node.name.value == "__typename":
            continue
        field = parent.fields[node.name.value]  # type: ignore[union-attr]
        cost = _directive(field, "cost")
        own = int(cost["weight"]) if cost else 1
        if node.selection_set is None:
            total += own
            continue
        size = _directive(field, "listSize") or {}
        given = {a.name.value: value_from_ast_untyped(a.value) for a in node.arguments or ()}
        times = 1
        for argument in size.get("slicingArguments") or ():
            if argument in given:
                times = min(int(given[argument]), MAX_PAGE)
                break
        else:
            times = size.get("assumedSize") or 1
        child = get_named_type(field.type).name
        total += own + times * _sdl_cost(sdl, node.selection_set, child)
    return total


QUERIES = [
    "{ products(first: 5) { edges { node { id } } } }",
    "{ products(first: 40) { edges { node { name skus { code price { sale { amount } } } } } } }",
    "{ products { edges { node { media { url } } } } }",
    '{ cart(id: "x") { lines { quantity sku { code stock { available } } } '
    "cost { total { amount } } } }",
    "{ categories { slug products(first: 3) { edges { node { slug } } } } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_schema_file_prices_a_query_as_the_gateway_does(query: str) -> None:
    document = parse(query)
    [operation] = document.definitions
    assert isinstance(operation, OperationDefinitionNode)

    served = query_cost(
        schema._schema, document, None, None, default_page_size=DEFAULT_PAGE, max_page_size=MAX_PAGE
    )

    assert _sdl_cost(SDL, operation.selection_set, "Query") == served
