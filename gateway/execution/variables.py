"""An operation's variables coerced by a coercer made once per operation, as graphql-core
coerces them.

Why: graphql-core's ``get_variable_values`` works out, on every request, each variable's
type from its AST (``type_from_ast``), walks the whole value once to see that it is not
nested too deeply, then coerces it asking at each node whether the type is non-null, a
list, an input object or a leaf: about 260 Python calls for ``cartCreate``'s input (3 lines
and an address) and 75 for ``checkoutComplete``'s three scalars, 0.41 M instructions of a
checkout's 16 M (bench/RESULTS.md, "Issue 15, pass h21c"). Those answers depend only on the
operation's text and the schema, and the plans keep documents per text
(gateway/operation.py), so an operation's variable definitions are the same objects from
one request to the next.

How: the first request of an operation walks its variables' types once and keeps one plain
function per type (a dict and a list comprehension where graphql-core recurses); later
requests run them. Each step does what ``coerce_input_value`` does for a valid value (the
same leaf ``coerce_input_value`` calls, ``out_name``, ``out_type``, the fields' coerced
defaults). Anything else (a value that does not coerce, a missing required field, a
variable left to its default, a list given as a single value, a ``oneOf`` input, an input
type that contains itself) makes the whole request go through graphql-core's own function,
so every error and its wording is graphql-core's. ``install()`` puts it where
graphql-core's ``Executor.build`` calls ``get_variable_values`` (a module global of
``graphql.execution.executor``, graphql-core 3.3 as pinned by uv.lock);
tests/gateway/test_variable_coercion.py compares the two and fails if graphql-core stops
calling through that global.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import graphql.execution.executor as _executor
from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    VariableDefinitionNode,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined
from graphql.type import is_leaf_type, is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value

Coerce = Callable[[Any], Any]
"""A value's coerced form, or ``_DECLINED``."""

_original = get_variable_values
_DECLINED: Any = object()  # a value the compiled step does not coerce: graphql-core's turn
_MAX_KEPT = 1024  # operations (the plans keep 1,024 query texts); tests build many schemas
# id(variable definitions) -> (those definitions, schema, its coercer or None)
_kept: dict[int, tuple[Any, Any, Callable[[dict[str, Any]], VariableValues | None] | None]] = {}


class _Declined(Exception):
    """The walk met a type it does not coerce exactly as graphql-core does."""


def _compile_type(type_: GraphQLInputType, seen: frozenset[int], depth: int = 0) -> Coerce:
    """``seen``: the input types around this one (one that contains itself is declined);
    ``depth``: the lists and objects around it (graphql-core refuses values nested deeper
    than ``MAX_NESTING_DEPTH``; a type that allows that is declined)."""
    if depth > MAX_NESTING_DEPTH:
        raise _Declined("nested too deeply")
    if isinstance(type_, GraphQLNonNull):
        inner = _compile_type(type_.of_type, seen, depth)

        def non_null(value: Any) -> Any:
            if value is None or value is Undefined:
                return _DECLINED
            return inner(value)

        return non_null
    if isinstance(type_, GraphQLList):
        item = _compile_type(type_.of_type, seen, depth + 1)

        def as_list(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not list:  # graphql-core's "a list of one" and the like
                return _DECLINED
            coerced = []
            for v in value:
                v = item(v)
                if v is _DECLINED:
                    return _DECLINED
                coerced.append(v)
            return coerced

        return as_list
    if isinstance(type_, GraphQLInputObjectType):
        if id(type_) in seen or type_.is_one_of:
            raise _Declined(type_.name)
        seen = seen | {id(type_)}
        fields = [
            (name, field.out_name or name, _compile_type(field.type, seen, depth + 1), field)
            for name, field in type_.fields.items()
        ]
        known = frozenset(type_.fields)
        out_type = type_.out_type

        def input_object(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not dict or not known.issuperset(value):
                return _DECLINED
            coerced: dict[str, Any] = {}
            for name, out_name, coerce, field in fields:
                field_value = value.get(name, Undefined)
                if field_value is Undefined:
                    if is_required_input_field(field):
                        return _DECLINED
                    default = coerce_default_value(field)
                    if default is not Undefined:
                        coerced[out_name] = default
                    continue
                field_coerced = coerce(field_value)
                if field_coerced is _DECLINED:
                    return _DECLINED
                coerced[out_name] = field_coerced
            return out_type(coerced)

        return input_object
    if is_leaf_type(type_):
        coerce_leaf = type_.coerce_input_value  # type: ignore[union-attr]

        def leaf(value: Any) -> Any:
            if value is None:
                return None
            try:
                coerced = coerce_leaf(value)
            except Exception:  # graphql-core words the error
                return _DECLINED
            return _DECLINED if coerced is Undefined else coerced

        return leaf
    raise _Declined(str(type_))


def _compile(
    schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode]
) -> Callable[[dict[str, Any]], VariableValues | None] | None:
    """The operation's coercer (None for graphql-core's answer), or None when any of its
    variables is not one this module coerces."""
    steps: list[tuple[str, GraphQLVariableSignature, Coerce]] = []
    for definition in definitions:
        if definition.default_value is not None:
            return None
        signature = get_variable_signature(schema, definition)
        if not isinstance(signature, GraphQLVariableSignature):
            return None
        try:
            steps.append((signature.name, signature, _compile_type(signature.type, frozenset())))
        except _Declined:
            return None

    def coerced(inputs: dict[str, Any]) -> VariableValues | None:
        sources: dict[str, VariableValueSource] = {}
        values: dict[str, Any] = {}
        for name, signature, coerce in steps:
            value = inputs.get(name, Undefined)
            if value is Undefined:
                if isinstance(signature.type, GraphQLNonNull):
                    return None
                sources[name] = VariableValueSource(signature)
                continue
            sources[name] = VariableValueSource(signature, value)
            coerced_value = coerce(value)
            if coerced_value is _DECLINED:
                return None
            values[name] = coerced_value
        return VariableValues(sources, values)

    return coerced


def compiled_variable_values(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
) -> Any:
    """``get_variable_values``, from the operation's kept coercer where it has one."""
    kept = _kept.get(id(var_def_nodes))
    if kept is None or kept[0] is not var_def_nodes or kept[1] is not schema:
        if len(_kept) >= _MAX_KEPT:
            _kept.clear()
        kept = _kept[id(var_def_nodes)] = (var_def_nodes, schema, _compile(schema, var_def_nodes))
    coercer = kept[2]
    if coercer is not None and type(inputs) is dict:
        found = coercer(inputs)
        if found is not None:
            return found
    return _original(schema, var_def_nodes, inputs, max_errors, hide_suggestions)


def install() -> None:
    """Where graphql-core's execution looks ``get_variable_values`` up (once per process)."""
    _executor.get_variable_values = compiled_variable_values  # type: ignore[assignment]
