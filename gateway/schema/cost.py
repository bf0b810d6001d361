"""The cost analysis in the schema file, as the IBM GraphQL cost directives (``@cost``,
``@listSize``; what Apollo Router's demand control and Hot Chocolate read), from the numbers
gateway/limits.py charges: a client can work out what a query costs from schema.graphql
alone. Undeclared, a field costs 1 (gateway/limits.py FIELD_COST), objects and leaves alike."""

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
)
from strawberry.schema_directive import Location
from strawberry.types.field import StrawberryField

from ..limits import LIST_SIZES, RESOLVER_COST
from ..settings import Settings

DEFAULT_PAGE_SIZE = int(Settings.model_fields["default_page_size"].default)


@strawberry.schema_directive(
    name="cost",
    locations=[
        Location.ARGUMENT_DEFINITION,
        Location.ENUM,
        Location.FIELD_DEFINITION,
        Location.INPUT_FIELD_DEFINITION,
        Location.OBJECT,
        Location.SCALAR,
    ],
    description="IBM GraphQL cost specification: what resolving this costs; fields without "
    "it cost 1. The gateway refuses a query over GATEWAY_MAX_COST (COST_LIMIT_EXCEEDED).",
)
class Cost:
    weight: str


@strawberry.schema_directive(
    name="listSize",
    locations=[Location.FIELD_DEFINITION],
    description="IBM GraphQL cost specification: how many items a list field returns, "
    "multiplying the cost of what is selected in it: the slicing argument's value (at most "
    "GATEWAY_MAX_PAGE_SIZE), else assumedSize.",
)
class ListSize:
    # Unset arguments are left out of the SDL (the specification's defaults apply).
    assumed_size: int | None = strawberry.UNSET
    slicing_arguments: list[str] | None = strawberry.UNSET
    sized_fields: list[str] | None = strawberry.UNSET
    require_one_slicing_argument: bool | None = strawberry.UNSET


def declare_costs(schema: strawberry.Schema) -> None:
    """Put each field's cost and list size on its definition, once (a schema built again
    shares the same field objects)."""
    for type_name, named in schema._schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            continue  # inputs take no cost here: what they hold is priced by the field
        for field_name, field in named.fields.items():
            definition = (getattr(field, "extensions", None) or {}).get("strawberry-definition")
            if not isinstance(definition, StrawberryField):
                continue
            if any(isinstance(d, Cost | ListSize) for d in definition.directives):
                continue
            declared: list[object] = []
            if definition.base_resolver is not None:
                declared.append(Cost(weight=str(RESOLVER_COST)))
            size = _list_size(type_name, field_name, field)
            if size is not None:
                declared.append(size)
            definition.directives = [*definition.directives, *declared]


def _list_size(type_name: str, field_name: str, field: GraphQLField) -> ListSize | None:
    args = field.args
    returns = get_named_type(field.type)
    if "first" in args:
        default = args["first"].default_value
        return ListSize(
            assumed_size=default if isinstance(default, int) else DEFAULT_PAGE_SIZE,
            slicing_arguments=["first"],
            sized_fields=["edges"] if returns.name.endswith("Connection") else strawberry.UNSET,
            require_one_slicing_argument=False,
        )
    if not isinstance(get_nullable_type(field.type), GraphQLList):
        return None
    if field_name == "edges" and type_name.endswith("Connection"):
        return None  # sized by the connection's `first`
    if field_name == "nodes" and type_name == "Query":
        return None  # one lookup per id asked for
    size = LIST_SIZES.get(f"{type_name}.{field_name}") or LIST_SIZES.get(f".{field_name}")
    return ListSize(assumed_size=size if size is not None else DEFAULT_PAGE_SIZE)
