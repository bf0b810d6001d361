"""Partial data when a source fails, per the GraphQL spec: the fields that need the source
are lost, with an error each (code SOURCE_UNAVAILABLE, the source, retryable), and the
rest of the response stands.

A nullable field simply resolves to null. A non-null field would null its parent, and the
contract's lists and stock are non-null: a listing would vanish because stock is down. So
a few non-null fields degrade to an honest placeholder plus the same error: a list to
``[]``, stock to "unknown, none available" (checkout reads stock afresh). Prices have no
honest placeholder: their null travels up as the spec says.

Queries may be answered from stale copies (guard.py), reported in the response's
``extensions.stale``; mutations never are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from strawberry.extensions import SchemaExtension

from sources.inventory.records import StockLevel as StockRecord

from .errors import SOURCE_UNAVAILABLE, SourceUnavailable


@dataclass
class Degradation:
    """What one request lost: sources answered stale, sources unavailable, the errors of
    fields that degraded to a placeholder."""

    stale: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)
    errors: list[GraphQLError] = field(default_factory=list)


current_degradation: ContextVar[Degradation | None] = ContextVar(
    "current_degradation", default=None
)
stale_allowed: ContextVar[bool] = ContextVar("stale_allowed", default=False)


def source_error(
    exc: SourceUnavailable, info: GraphQLResolveInfo[Any] | None = None
) -> GraphQLError:
    return GraphQLError(
        str(exc),
        info.field_nodes if info is not None else None,
        path=info.path.as_list() if info is not None else None,
        extensions={"code": SOURCE_UNAVAILABLE, "source": exc.source, "retryable": True},
    )


def _unknown_stock() -> Any:
    from ..schema.inventory import StockLevel

    return StockLevel(
        available=0,
        in_stock=False,
        record=StockRecord(sku_id=0, warehouses=(), supplier_available=0),
    )


PLACEHOLDERS: dict[str, Callable[[], Any]] = {"StockLevel": _unknown_stock}


def _placeholder(field_type: Any) -> Callable[[], Any] | None:
    if not isinstance(field_type, GraphQLNonNull):
        return None
    inner = field_type.of_type
    if isinstance(inner, GraphQLList):
        return list
    return PLACEHOLDERS.get(getattr(inner, "name", ""))


def _degrading(resolve: Callable[..., Any], placeholder: Callable[[], Any]) -> Callable[..., Any]:
    def degraded(info: GraphQLResolveInfo[Any], exc: SourceUnavailable) -> Any:
        degradation = current_degradation.get()
        if degradation is None:
            raise exc
        degradation.errors.append(source_error(exc, info))
        return placeholder()

    def resolver(root: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        try:
            result = resolve(root, info, **kwargs)
        except SourceUnavailable as exc:
            return degraded(info, exc)
        if not inspect.isawaitable(result):
            return result

        async def awaited() -> Any:
            try:
                return await result
            except SourceUnavailable as exc:
                return degraded(info, exc)

        return awaited()

    def recover(error: Exception, info: GraphQLResolveInfo[Any]) -> Any:
        """The same for one object of a batch form (the breadth-first executor's)."""
        failure = _source_failure(error)
        if failure is None:
            raise error
        return degraded(info, failure)

    resolver.recover = recover  # type: ignore[attr-defined]
    return resolver


def install_placeholders(schema: GraphQLSchema) -> None:
    """Wrap the resolvers of non-null lists and stock, once, when the schema is built."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for gql_field in named.fields.values():
            definition = (gql_field.extensions or {}).get("strawberry-definition")
            if gql_field.resolve is None or getattr(definition, "base_resolver", None) is None:
                continue
            placeholder = _placeholder(gql_field.type)
            if placeholder is not None:
                gql_field.resolve = _degrading(gql_field.resolve, placeholder)


def _is_query(document: Any, operation_name: str | None) -> bool:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return len(operations) == 1 and operations[0].operation is OperationType.QUERY


class PartialData(SchemaExtension):
    """Per request: collects what degraded, codes the errors of failed sources, and says
    in ``extensions.stale`` which sources answered from stale copies."""

    def on_operation(self) -> Iterator[None]:
        degradation = self.degradation = Degradation()
        token = current_degradation.set(degradation)
        allowed = stale_allowed.set(False)
        try:
            yield
        finally:
            current_degradation.reset(token)
            stale_allowed.reset(allowed)
        result = self.execution_context.result
        if result is None:
            return
        errors = [_coded(e) for e in result.errors or ()] + degradation.errors
        result.errors = errors or None

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and _is_query(ctx.graphql_document, ctx.operation_name):
            stale_allowed.set(True)
        yield

    def get_results(self) -> dict[str, Any]:
        degradation: Degradation | None = getattr(self, "degradation", None)
        if degradation is not None and degradation.stale:
            return {"stale": sorted(degradation.stale)}
        return {}


def _source_failure(error: BaseException | None) -> SourceUnavailable | None:
    """The SourceUnavailable behind an error, also inside a TaskGroup's exception group."""
    if isinstance(error, SourceUnavailable):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _source_failure(inner)
            if found is not None:
                return found
    return None


def _coded(error: GraphQLError) -> GraphQLError:
    original = _source_failure(error.original_error)
    if original is None:
        return error
    return GraphQLError(
        str(original),
        error.nodes,
        path=error.path,
        extensions={"code": SOURCE_UNAVAILABLE, "source": original.source, "retryable": True},
    )


def is_source_failure(error: BaseException) -> bool:
    return _source_failure(error) is not None
