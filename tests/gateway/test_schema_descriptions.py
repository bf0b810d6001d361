"""Every public type, field, argument, enum value and input field carries a description,
because GraphiQL's docs pane and the types a client generates are where a storefront
developer learns the API; a name alone does not say a unit, a format or a permission. A
mutation's description also names the userError codes it answers with, so a client can
write its error handling from the schema alone."""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
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


# A code is an enum value's shape: capitals joined by underscores (INSUFFICIENT_STOCK).
_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def mutations_without_codes(graphql_schema: GraphQLSchema) -> list[str]:
    """Mutations whose payload has ``userErrors`` but whose description names no
    UserErrorCode after the word userErrors, or names one that does not exist (a typo or a
    renamed code); each with the reason."""
    mutation = graphql_schema.mutation_type
    error_codes = graphql_schema.type_map.get("UserErrorCode")
    if mutation is None or not isinstance(error_codes, GraphQLEnumType):
        return []
    # Other enums' values (statuses, permissions) may appear in the prose beside the codes.
    known = {
        value
        for named in graphql_schema.type_map.values()
        if isinstance(named, GraphQLEnumType)
        for value in named.values
    }
    found: list[str] = []
    for name, field in mutation.fields.items():
        payload = get_named_type(field.type)
        if not isinstance(payload, GraphQLObjectType) or "userErrors" not in payload.fields:
            continue
        description = field.description or ""
        _, said, listed = description.partition("userErrors")
        named = _CODE.findall(listed)
        if not said or not set(named) & set(error_codes.values):
            found.append(f"{name}: names no userError code after 'userErrors'")
        for unknown in sorted(set(named) - known):
            found.append(f"{name}: {unknown} is not a UserErrorCode")
    return found


def test_every_mutation_names_the_user_error_codes_it_answers() -> None:
    missing = mutations_without_codes(schema._schema)
    assert not missing, f"{len(missing)} mutations:\n" + "\n".join(missing)


def test_the_walker_sees_a_mutation_that_names_no_codes() -> None:
    from graphql import build_schema

    sdl = """
    enum UserErrorCode { CART_NOT_FOUND INVALID_INPUT }
    type UserError { code: UserErrorCode! }
    type Payload { ok: Boolean userErrors: [UserError!]! }
    type Query { a: Int }
    type Mutation {
      "Named. userErrors: CART_NOT_FOUND."
      named: Payload
      "Says nothing of its errors."
      silent: Payload
      "Mentions CART_NOT_FOUND, but not as its userErrors."
      aside: Payload
      "userErrors: CART_NOT_FOUND, CART_NOT_FOUNDD."
      typo: Payload
      noPayload: Int
    }
    """
    assert mutations_without_codes(build_schema(sdl)) == [
        "silent: names no userError code after 'userErrors'",
        "aside: names no userError code after 'userErrors'",
        "typo: CART_NOT_FOUNDD is not a UserErrorCode",
    ]
