"""A field's arguments converted to their Python values by a converter made once per field.

Why: strawberry's ``convert_arguments`` works out, on every call, what each argument's type
is: for an input object it resolves every field's annotation again (``resolve_type``),
asks whether the type is a scalar, an enum, generic, lazy, ``Maybe``, and builds the input
from there, about 26 such steps for ``cartCreate``'s input (3 lines and an address):
114-226 µs of CPU per request on this machine (4 µs compiled), the largest piece of a
checkout's GraphQL work that depends only on the schema (docs/checkout-performance.md,
"The gateway's per-request fixed costs").

How: the first call for a field's argument list walks those types once and keeps a plain
function per type (dict lookups and the input class's constructor); later calls run it.
Only what the walk can prove it converts exactly as strawberry does is compiled: scalars
other than ``GlobalID``, enums, lists, optionals, and input classes without ``from_input``
(their fields' types as strawberry resolves them, ``resolve_type``); a ``Maybe``, a
``GlobalID``, a custom ``from_input`` or anything else leaves the whole field to
strawberry's own function, as before. ``install()`` puts it where strawberry's resolvers
call ``convert_arguments`` (a module global of ``strawberry.schema.schema_converter``; it
also leans on ``_is_leaf_type`` and ``_is_optional_leaf_type``, strawberry 0.341 as pinned
by uv.lock); tests/gateway/test_argument_conversion.py compares the two for every argument
of the schema, and fails if strawberry stops calling through that global.
"""

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import strawberry.schema.schema_converter as _schema_converter
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import (
    StrawberryArgument,
    _is_leaf_type,
    _is_optional_leaf_type,
    convert_arguments,
)
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
ArgumentsConverter = Callable[[dict[str, Any]], dict[str, Any]]

_original = convert_arguments
_MAX_KEPT = 4096  # fields: a schema has a few hundred; tests build many schemas
# id(arguments) -> (arguments, scalar registry, config, converter or None: strawberry's)
_kept: dict[int, tuple[Any, Any, Any, ArgumentsConverter | None]] = {}


class _Declined(Exception):
    """The walk met a type it does not convert exactly as strawberry does."""


def _identity(value: Any) -> Any:
    return value


def _leaf_list(value: Any) -> Any:
    # A copy, as strawberry makes: graphql-core hands every request that omits the value
    # the same default list.
    return value if value is None or value is UNSET else list(value)


class _Walk:
    """One field's argument types walked once, in ``convert_argument``'s order of checks;
    every function it returns passes None and UNSET through, as that function does."""

    def __init__(self, scalar_registry: Mapping[object, Any], config: Any) -> None:
        self.registry = scalar_registry
        self.config = config

    def converter(self, type_: Any) -> Convert:
        registry = self.registry
        if isinstance(type_, StrawberryMaybe):
            raise _Declined("Maybe")
        if isinstance(type_, StrawberryOptional):
            return self.converter(type_.of_type)
        if isinstance(type_, StrawberryList):
            of = type_.of_type
            skip = (GlobalID,)
            if _is_leaf_type(of, registry, skip) or _is_optional_leaf_type(of, registry, skip):
                return _leaf_list
            item = self.converter(of)

            def converted_list(value: Any) -> Any:
                if value is None or value is UNSET:
                    return value
                return [item(x) for x in value]

            return converted_list
        if _is_leaf_type(type_, registry):
            if type_ is GlobalID:
                raise _Declined("GlobalID")
            return _identity
        if isinstance(type_, LazyType):
            return self.converter(type_.resolve_type())
        if has_enum_definition(type_):
            return _identity  # its definition is a leaf: the value as graphql-core gave it
        if has_object_definition(type_):
            return self.input_converter(type_)
        raise _Declined(f"unsupported type {type_!r}")

    def input_converter(self, cls: Any) -> Convert:
        definition = cls.__strawberry_definition__
        if definition.from_input is not None:
            raise _Declined("from_input")
        implicit: dict[str, None] = {}
        if definition.is_input:
            implicit = {
                f.python_name: None
                for f in definition.fields
                if f.default_value is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING
            }
        fields: list[tuple[str, str, Convert]] = [
            (
                self.config.name_converter.from_field(f),
                f.python_name,
                self.converter(f.resolve_type(type_definition=definition)),
            )
            for f in definition.fields
        ]

        def converted_input(value: Any) -> Any:
            if value is None or value is UNSET:
                return value
            kwargs: dict[str, Any] = dict(implicit)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return cls(**kwargs)

        return converted_input


def compile_arguments(
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: Any,
) -> ArgumentsConverter | None:
    """The converter of these arguments, or None where strawberry's function must run."""
    walk = _Walk(scalar_registry, config)
    try:
        plan = [
            (
                config.name_converter.from_argument(argument),
                argument.python_name,
                walk.converter(argument.type),
            )
            for argument in arguments
        ]
    except _Declined:
        return None
    except Exception:  # anything the walk did not expect: strawberry's own path
        return None

    def converted(value: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, convert in plan:
            if graphql_name in value:
                kwargs[python_name] = convert(value[graphql_name])
        return kwargs

    return converted


def fast_convert_arguments(
    value: dict[str, Any],
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: Any,
    info: Any = None,
) -> dict[str, Any]:
    """strawberry's ``convert_arguments``, from the field's converter when it has one."""
    if not arguments:
        return {}
    kept = _kept.get(id(arguments))
    if (
        kept is None
        or kept[0] is not arguments
        or kept[1] is not scalar_registry
        or (kept[2] is not config)
    ):
        if len(_kept) >= _MAX_KEPT:
            _kept.clear()
        kept = _kept[id(arguments)] = (
            arguments,
            scalar_registry,
            config,
            compile_arguments(arguments, scalar_registry, config),
        )
    converter = kept[3]
    if converter is None:
        return _original(value, arguments, scalar_registry, config, info)
    return converter(value)


def install() -> None:
    """Resolvers' arguments through ``fast_convert_arguments`` (idempotent)."""
    _schema_converter.convert_arguments = fast_convert_arguments  # type: ignore[attr-defined]
