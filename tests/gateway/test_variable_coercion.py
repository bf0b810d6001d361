"""gateway/execution/variables.py coerces every argument type of the schema as graphql-core
does: the same values for valid variables, graphql-core's own errors for the others."""

from __future__ import annotations

from typing import Any

import graphql.execution.executor as graphql_executor
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    parse,
)

from gateway.execution import variables
from gateway.execution.variables import _original, compiled_variable_values
from gateway.schema import build_schema

SCHEMA = build_schema()
GRAPHQL_SCHEMA = SCHEMA._schema
SCALARS = {
    "Int": 3,
    "Boolean": True,
    "Decimal": "12.50",
    "DateTime": "2026-12-06T10:00:00+00:00",
    "Date": "2026-12-06",
    "JSON": {"a": [1, "b"]},
}


def _sample(graphql_type: GraphQLInputType, variant: int, depth: int = 0) -> Any:
    """A JSON value of the type. ``variant`` 0: every field given; 1: nullable fields
    null; 2: nullable fields left out."""
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    if nullable and variant == 1 and depth > 0:
        return None
    if isinstance(graphql_type, GraphQLList):
        return [_sample(graphql_type.of_type, variant, depth + 1) for _ in range(2)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLScalarType):
        return SCALARS.get(graphql_type.name, "a-value")
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, field in graphql_type.fields.items():
        if variant == 2 and not isinstance(field.type, GraphQLNonNull):
            continue
        if depth > 6:  # a type that contains itself: stop before the recursion does
            continue
        value[name] = _sample(field.type, variant, depth + 1)
    return value


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(name, operation text, argument name -> its type) for every field with arguments."""
    found = []
    for type_name in ("Query", "Mutation"):
        root = GRAPHQL_SCHEMA.type_map[type_name]
        assert isinstance(root, GraphQLObjectType)
        for name, field in root.fields.items():
            if not field.args:
                continue
            definitions = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
            kind = "query" if type_name == "Query" else "mutation"
            text = f"{kind} Op({definitions}) {{ __typename }}"
            found.append(
                (f"{type_name}.{name}", text, {a: arg.type for a, arg in field.args.items()})
            )
    return found


OPERATIONS = _operations()


def _both(text: str, inputs: Any) -> tuple[Any, Any]:
    definitions = parse(text).definitions[0].variable_definitions  # type: ignore[attr-defined]
    ours = compiled_variable_values(GRAPHQL_SCHEMA, definitions, inputs)
    theirs = _original(GRAPHQL_SCHEMA, definitions, inputs)
    return ours, theirs


def _same(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, list):
        assert [e.formatted for e in ours] == [e.formatted for e in theirs]
        return
    assert ours.coerced == theirs.coerced
    assert list(ours.coerced) == list(theirs.coerced)
    assert {
        k: (s.signature.name, str(s.signature.type), s.value) for k, s in ours.sources.items()
    } == {k: (s.signature.name, str(s.signature.type), s.value) for k, s in theirs.sources.items()}


@pytest.mark.parametrize(("name", "text", "types"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_every_argument_type_is_coerced_as_graphql_core_does(
    name: str, text: str, types: dict[str, Any]
) -> None:
    for variant in (0, 1, 2):
        inputs = {a: _sample(t, variant) for a, t in types.items()}
        _same(*_both(text, inputs))
        # left out, null, and a value of the wrong kind: graphql-core's errors (or values)
        for argument in types:
            _same(*_both(text, {k: v for k, v in inputs.items() if k != argument}))
            _same(*_both(text, {**inputs, argument: None}))
            _same(*_both(text, {**inputs, argument: 7.25}))
            _same(*_both(text, {**inputs, argument: ["x", {"y": 1}]}))


def test_the_checkouts_inputs_and_their_mistakes() -> None:
    text = (
        "mutation CartCreate($input: CartCreateInput!) { cartCreate(input: $input) "
        "{ userErrors { code } } }"
    )
    line = {"skuId": "U2t1OjE=", "quantity": 2}
    address = {
        "name": "Wang Wei",
        "phone": "13800138000",
        "country": "CN",
        "region": "CN-SH",
        "city": "Shanghai",
        "line1": "1 Renmin Road",
        "postalCode": "200000",
    }
    good = {"input": {"lines": [line, line], "shippingAddress": address}}
    ours, theirs = _both(text, good)
    assert not isinstance(ours, list)
    _same(ours, theirs)
    for bad in (
        {"input": {"lines": [{"skuId": "U2t1OjE=", "quantity": "two"}]}},
        {"input": {"lines": [{"skuId": "U2t1OjE="}]}},
        {"input": {"lines": [line], "unknown": 1}},
        {"input": {"lines": line}},  # a list of one, as graphql-core allows
        {"input": {"lines": [line, None]}},
        {"input": None},
        {},
    ):
        _same(*_both(text, bad))
    complete = (
        "mutation CheckoutComplete($cartId: ID!, $key: String!, $total: Decimal!) "
        "{ checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) "
        "{ userErrors { code } } }"
    )
    _same(*_both(complete, {"cartId": "Q2FydDph", "key": "k1", "total": "105.00"}))
    _same(*_both(complete, {"cartId": "Q2FydDph", "key": "k1", "total": "1O5"}))
    defaulted = "query Op($first: Int = 5) { __typename }"
    _same(*_both(defaulted, {}))
    _same(*_both(defaulted, {"first": 2}))


async def test_graphql_core_coerces_through_the_installed_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If graphql-core stops looking ``get_variable_values`` up in its executor module, the
    compiled coercer is silently unused: this notices."""
    assert graphql_executor.get_variable_values is compiled_variable_values
    calls: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return compiled_variable_values(*args, **kwargs)

    monkeypatch.setattr(graphql_executor, "get_variable_values", spy)
    # The field's resolver has no context to run with: only the coercion before it counts.
    await SCHEMA.execute(
        "query Op($id: ID!) { node(id: $id) { __typename } }", variable_values={"id": "U2t1OjE="}
    )
    assert len(calls) == 1
    assert variables._kept  # the operation's coercer was kept
