"""gateway/schema/arguments.py converts every argument of the schema as strawberry does."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from strawberry.types.unset import UNSET

from gateway.schema import build_schema
from gateway.schema.arguments import _original, compile_arguments, fast_convert_arguments

SCHEMA = build_schema()
REGISTRY = SCHEMA.schema_converter.scalar_registry
CONFIG = SCHEMA.config


def _fields_with_arguments() -> list[tuple[str, Any, Any]]:
    found = []
    for type_name, graphql_type in SCHEMA._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is not None and definition.arguments:
                found.append((f"{type_name}.{name}", field, definition))
    return found


FIELDS = _fields_with_arguments()


def _sample(graphql_type: GraphQLInputType, variant: int, depth: int = 0) -> Any:
    """A value as graphql-core's coercion hands it to a resolver. ``variant`` 0: every
    field given; 1: nullable fields null; 2: nullable fields left out (UNSET at the top)."""
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    if nullable and variant == 1 and depth > 0:
        return None
    if isinstance(graphql_type, GraphQLList):
        return [_sample(graphql_type.of_type, variant, depth + 1) for _ in range(2)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values.values())).value
    if isinstance(graphql_type, GraphQLScalarType):
        return {"Int": 3, "Float": 1.5, "Boolean": True}.get(graphql_type.name, "a-value")
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, field in graphql_type.fields.items():
        if variant == 2 and not isinstance(field.type, GraphQLNonNull):
            continue
        if depth > 4 and not isinstance(field.type, GraphQLNonNull):
            continue
        value[name] = _sample(field.type, variant, depth + 1)
    return value


def _arguments(field: Any, variant: int) -> dict[str, Any]:
    values = {}
    for name, argument in field.args.items():
        if variant == 2 and not isinstance(argument.type, GraphQLNonNull):
            continue
        values[name] = _sample(argument.type, variant, 1 if variant == 1 else 0)
    return values


def test_every_field_of_the_schema_compiles() -> None:
    declined = [
        name for name, _, d in FIELDS if compile_arguments(d.arguments, REGISTRY, CONFIG) is None
    ]
    assert FIELDS and not declined


@pytest.mark.parametrize("variant", [0, 1, 2])
@pytest.mark.parametrize(("name", "field", "definition"), FIELDS, ids=[f[0] for f in FIELDS])
def test_converted_as_strawberry_does(name: str, field: Any, definition: Any, variant: int) -> None:
    value = _arguments(field, variant)
    expected = _original(value, definition.arguments, REGISTRY, CONFIG, None)
    got = fast_convert_arguments(value, definition.arguments, REGISTRY, CONFIG, None)
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_the_checkout_input_and_its_lists_are_fresh_objects() -> None:
    definition = SCHEMA._schema.mutation_type.fields["cartCreate"].extensions[
        "strawberry-definition"
    ]
    codes = ["A", "B"]
    value = {"input": {"couponCodes": codes, "lines": [{"skuId": "U2t1OjE=", "quantity": 2}]}}
    converted = fast_convert_arguments(value, definition.arguments, REGISTRY, CONFIG)
    assert converted == _original(value, definition.arguments, REGISTRY, CONFIG)
    made = converted["input"]
    assert made.coupon_codes == codes and made.coupon_codes is not codes  # a copy, as strawberry
    assert made.shipping_address is None and made.ship_to_default_address is None
    given_unset = fast_convert_arguments({"input": UNSET}, definition.arguments, REGISTRY, CONFIG)
    assert given_unset == {"input": UNSET}


def test_strawberry_resolvers_use_it() -> None:
    import strawberry.schema.schema_converter as converter

    assert converter.convert_arguments is fast_convert_arguments
