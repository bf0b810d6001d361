"""Partial data when a source fails, per the GraphQL spec: the fields that need the source
are lost, with an error each (code SOURCE_UNAVAILABLE, the source, retryable), and the
rest of the response stands.

A nullable field simply resolves to null. A non-null field would null its parent, and the
contract's lists are non-null: a listing would vanish because one list could not be read.
So non-null lists degrade to ``[]`` plus the same error. Prices and stock have no honest
placeholder ("none available" for a product on the shelf is a wrong answer a buyer acts
on): a listing leaves out the products it cannot price or stock (gateway/resilience/
listing.py), and elsewhere their null travels up as the spec says.

Queries may be answered from stale copies: the catalog's last good answers (guard.py), and
the last-known prices, promotions and stock of the shared cache (gateway/cache/entities.py).
A field computed from a last-known value returns it wrapped in ``Stale``; the wrapper
around its resolver (standard execution) or the breadth-first executor unwraps it and
records the field's path, so the response's ``extensions.stale`` says which fields are old
and since when. Mutations never get stale answers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

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

from ..cache.entities import LastKnown
from .errors import SOURCE_UNAVAILABLE, OutcomeUnknown, SourceUnavailable

T = TypeVar("T")


@dataclass
class Degradation:
    """What one request lost: sources answered stale, sources unavailable, the errors of
    fields that degraded to a placeholder, the records served from last-known copies (by
    ``id``: (source, read at)) and the paths of the fields shown from them."""

    stale: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)
    errors: list[GraphQLError] = field(default_factory=list)
    as_of: dict[int, tuple[str, float]] = field(default_factory=dict)
    stale_fields: list[tuple[list[str | int], str, float]] = field(default_factory=list)
    # Keeps each marked record alive for the request, so its id is never reused.
    kept: list[Any] = field(default_factory=list)


current_degradation: ContextVar[Degradation | None] = ContextVar(
    "current_degradation", default=None
)
stale_allowed: ContextVar[bool] = ContextVar("stale_allowed", default=False)
# Development: a source error carries the driver's words under ``extensions.debug``.
debug_errors: ContextVar[bool] = ContextVar("debug_errors", default=False)


def source_extensions(exc: SourceUnavailable) -> dict[str, Any]:
    extensions: dict[str, Any] = {
        "code": SOURCE_UNAVAILABLE,
        "source": exc.source,
        "retryable": exc.retryable,
    }
    if isinstance(exc, OutcomeUnknown):  # docs/checkout-and-orders.md, "outcome unknown"
        extensions["outcome"] = "UNKNOWN"
        extensions["retryWithSameKey"] = True
    if debug_errors.get() and exc.detail:
        extensions["debug"] = exc.detail
    return extensions


def source_error(
    exc: SourceUnavailable, info: GraphQLResolveInfo[Any] | None = None
) -> GraphQLError:
    return GraphQLError(
        str(exc),
        info.field_nodes if info is not None else None,
        path=info.path.as_list() if info is not None else None,
        extensions=source_extensions(exc),
    )


# ---- last-known values ---------------------------------------------------------------


def last_known_for(source: str) -> LastKnown:
    """The read-through policy for a source's browsing data: a query may be answered from
    last-known copies when the source is down; each value so served is remembered."""

    def served(value: Any, read_at: float) -> None:
        degradation = current_degradation.get()
        if degradation is not None:
            degradation.as_of[id(value)] = (source, read_at)
            degradation.kept.append(value)

    return LastKnown(may_serve=_may_serve_stale, served=served)


def _may_serve_stale(error: BaseException) -> bool:
    return stale_allowed.get() and _source_failure(error) is not None


def carry_mark(old: Any, new: T) -> T:
    """``new`` stands for ``old`` (filtered, say): it is as old as ``old`` was."""
    degradation = current_degradation.get()
    if degradation is not None and id(old) in degradation.as_of:
        degradation.as_of[id(new)] = degradation.as_of[id(old)]
        degradation.kept.append(new)
    return new


def read_at(*records: Any) -> tuple[str, float] | None:
    """The oldest last-known copy among ``records`` (source, epoch), or None: all fresh."""
    degradation = current_degradation.get()
    if degradation is None or not degradation.as_of:
        return None
    marks = [degradation.as_of[id(r)] for r in records if id(r) in degradation.as_of]
    return min(marks, key=lambda mark: mark[1]) if marks else None


def as_of(*records: Any) -> datetime | None:
    mark = read_at(*records)
    return datetime.fromtimestamp(mark[1], UTC) if mark else None


@dataclass(frozen=True, slots=True)
class Stale:
    """A field's value computed from a last-known copy of ``source`` read at ``read_at``."""

    value: Any
    source: str
    read_at: float


def stale_if(value: T, *records: Any) -> T | Stale:
    """``value``, wrapped as ``Stale`` when any of ``records`` is a last-known copy."""
    mark = read_at(*records)
    return value if mark is None else Stale(value, *mark)


def unwrap_stale(value: Any, path: list[str | int]) -> Any:
    """The value of a field, its path recorded when it is stale."""
    if type(value) is not Stale:
        return value
    degradation = current_degradation.get()
    if degradation is not None:
        degradation.stale_fields.append((path, value.source, value.read_at))
    return value.value


def _empty_page() -> Any:
    """The catalog cannot list now: an empty page, with the error saying why."""
    from ..schema.catalog import ProductConnection
    from ..schema.common import PageInfo

    page_info = PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
    )
    return ProductConnection(edges=[], page_info=page_info, total_count=0)


PLACEHOLDERS: dict[str, Callable[[], Any]] = {"ProductConnection": _empty_page}
# Non-null scalars with an honest stand-in (none today: "in stock" unknown is not "no").
FIELD_PLACEHOLDERS: dict[tuple[str, str], Callable[[], Any]] = {}
# Fields whose value may come from last-known copies (their resolvers return ``Stale``).
MAY_BE_STALE = frozenset(
    {
        ("Product", "priceRange"),
        ("Product", "inStock"),
        ("Product", "promotions"),
        ("Sku", "price"),
        ("Sku", "stock"),
    }
)


def _placeholder(type_name: str, field_name: str, field_type: Any) -> Callable[[], Any] | None:
    if not isinstance(field_type, GraphQLNonNull):
        return None
    if (type_name, field_name) in FIELD_PLACEHOLDERS:
        return FIELD_PLACEHOLDERS[(type_name, field_name)]
    inner = field_type.of_type
    if isinstance(inner, GraphQLList):
        return list
    return PLACEHOLDERS.get(getattr(inner, "name", ""))


def _degrading(
    resolve: Callable[..., Any], placeholder: Callable[[], Any] | None
) -> Callable[..., Any]:
    def degraded(info: GraphQLResolveInfo[Any], exc: SourceUnavailable) -> Any:
        degradation = current_degradation.get()
        if degradation is None or placeholder is None:
            raise exc
        degradation.errors.append(source_error(exc, info))
        return placeholder()

    def resolver(root: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        try:
            result = resolve(root, info, **kwargs)
        except SourceUnavailable as exc:
            return degraded(info, exc)
        if not inspect.isawaitable(result):
            return unwrap_stale(result, info.path.as_list())

        async def awaited() -> Any:
            try:
                return unwrap_stale(await result, info.path.as_list())
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
    """Wrap the resolvers of non-null lists (placeholders) and of the fields that
    may be answered from last-known copies (their stale marks), once, when the schema is
    built."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, gql_field in named.fields.items():
            definition = (gql_field.extensions or {}).get("strawberry-definition")
            if gql_field.resolve is None or getattr(definition, "base_resolver", None) is None:
                continue
            placeholder = _placeholder(named.name, name, gql_field.type)
            if placeholder is not None or (named.name, name) in MAY_BE_STALE:
                gql_field.resolve = _degrading(gql_field.resolve, placeholder)


def is_query(document: Any, operation_name: str | None) -> bool:
    """Whether the operation that would run is a query (only queries may be answered from
    stale copies)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return len(operations) == 1 and operations[0].operation is OperationType.QUERY


def allow_stale() -> None:
    """From here on in this operation (a query), last-known copies may answer."""
    stale_allowed.set(True)


class PartialData:
    """Per request: collects what degraded, codes the errors of failed sources, and says
    in ``extensions.stale`` which sources answered from stale copies. Driven by the
    gateway's operation extension (gateway/operation.py): made as the operation starts,
    ``leave`` when it ends (even by an exception), then ``finish`` on its result."""

    __slots__ = ("_tokens", "degradation", "is_debug")

    def __init__(self, settings: Any) -> None:
        self.degradation = Degradation()
        self.is_debug = settings is not None and not settings.is_production
        self._tokens = (
            current_degradation.set(self.degradation),
            stale_allowed.set(False),
            debug_errors.set(self.is_debug),
        )

    def leave(self) -> None:
        degradation, allowed, debug = self._tokens
        current_degradation.reset(degradation)
        stale_allowed.reset(allowed)
        debug_errors.reset(debug)

    def finish(self, result: Any) -> None:
        if result is None:
            return
        errors = [_coded(e, self.is_debug) for e in result.errors or ()]
        result.errors = errors + self.degradation.errors or None

    def results(self) -> dict[str, Any]:
        """``extensions.stale``: one entry per field shown from a last-known copy (its
        path, source and ``asOf``), and one per source answered whole from stale copies
        (the catalog's last good answers, which have no field of their own)."""
        degradation = self.degradation
        entries: list[dict[str, Any]] = [
            {
                "path": path,
                "source": source,
                "asOf": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
            }
            for path, source, at in degradation.stale_fields
        ]
        entries += [{"source": source} for source in sorted(degradation.stale)]
        if not entries and degradation.as_of:
            sources = sorted({source for source, _ in degradation.as_of.values()})
            entries = [{"source": source} for source in sources]
        return {"stale": entries} if entries else {}


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


def _coded(error: GraphQLError, debug: bool) -> GraphQLError:
    original = _source_failure(error.original_error)
    if original is None:
        return error
    token = debug_errors.set(debug)
    try:
        extensions = source_extensions(original)
    finally:
        debug_errors.reset(token)
    return GraphQLError(str(original), error.nodes, path=error.path, extensions=extensions)


def is_source_failure(error: BaseException) -> bool:
    return _source_failure(error) is not None
