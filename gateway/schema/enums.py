"""Words for the values of the sources' enums. The schema registers the sources' own enums
(one list of values, no mapping to drift), so a value's description cannot sit on the value
itself without putting GraphQL into a source; it sits here, next to the schema instead."""

from collections.abc import Mapping
from enum import Enum

from strawberry.types.enum import StrawberryEnumDefinition


def describe_values(enum: type[Enum], descriptions: Mapping[str, str]) -> None:
    """Give each GraphQL value of an enum already registered with ``strawberry.enum`` its
    description; a name that is not a value is a typo, refused at import."""
    definition = getattr(enum, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryEnumDefinition):
        raise TypeError(f"{enum.__name__} is not registered with strawberry.enum")
    unknown = set(descriptions) - {value.name for value in definition.values}
    if unknown:
        raise ValueError(f"{definition.name} has no value {sorted(unknown)}")
    for value in definition.values:
        value.description = descriptions.get(value.name, value.description)
