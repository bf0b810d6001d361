"""Every public type, field, argument, enum value and input field carries a description,
because GraphiQL's docs pane and the types a client generates are where a storefront
developer learns the API; a name alone does not say a unit, a format or a permission."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from gateway.schema import schema

# graphql-core's own scalars: described by the GraphQL specification, not by us.
_SPEC_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Coordinates (``Type.field(arg:)``) of everything public that lacks a description."""
    missing: list[str] = []

    def check(coordinate: str, description: str | None) -> None:
        if not (description or "").strip():
            missing.append(coordinate)

    for name, named in sorted(graphql_schema.type_map.items()):
        if name.startswith("__") or name in _SPEC_SCALARS:
            continue
        if name not in ("Query", "Mutation"):
            check(name, named.description)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                check(f"{name}.{field_name}", field.description)
                for arg_name, arg in field.args.items():
                    check(f"{name}.{field_name}({arg_name}:)", arg.description)
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                check(f"{name}.{field_name}", input_field.description)
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                check(f"{name}.{value_name}", value.description)
    return missing


def test_everything_public_is_described() -> None:
    missing = undescribed(schema._schema)
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_walker_sees_a_missing_description() -> None:
    """The check itself works: a bare schema is reported field by field."""
    from graphql import build_schema

    bare = build_schema('type Query { "Described." a(x: Int): Int  b: Int }')
    assert undescribed(bare) == ["Query.a(x:)", "Query.b"]
