"""The gateway's own spans: one per source batch call, one per checkout saga step, and the
response cache's hits. Everything else (HTTP in and out, SQL, Redis, GraphQL parsing) is
the OpenTelemetry instrumentations' (see setup.py).

The tracer of the app serving the request rides in a context variable, set for each
request by the tracing middleware: with tracing off it is never set, and each hook below
costs one context-variable read. Only a recording (sampled) parent gets children: an
unsampled request makes no spans here at all, which keeps a 10% sampling rate cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

T = TypeVar("T")

active_tracer: ContextVar[Tracer | None] = ContextVar("active_tracer", default=None)
# Set by the shared cache around the fetch of its misses: how many keys of that batch it
# answered itself, so the source call's span says so.
batch_cache_hits: ContextVar[int | None] = ContextVar("batch_cache_hits", default=None)


def _recording_tracer() -> Tracer | None:
    tracer = active_tracer.get()
    if tracer is None or not trace.get_current_span().is_recording():
        return None
    return tracer


def _key_count(args: Sequence[Any], kwargs: Mapping[str, Any]) -> int | None:
    """The number of keys of a batch call: the length of its first collection argument."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, list | tuple | set | frozenset | dict):
            return len(value)
    return None


@contextlib.contextmanager
def source_call_span(
    source: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Iterator[None]:
    """``source <source>.<method>``: one per call counted in gateway_source_calls_total."""
    tracer = _recording_tracer()
    if tracer is None:
        yield
        return
    attributes: dict[str, str | int] = {"gateway.source": source, "gateway.source.method": method}
    keys = _key_count(args, kwargs)
    if keys is not None:
        attributes["gateway.source.keys"] = keys
    hits = batch_cache_hits.get()
    if hits is not None:
        attributes["gateway.cache.hits"] = hits
    with tracer.start_as_current_span(f"source {source}.{method}", attributes=attributes):
        yield


async def saga_step(name: str, step: Awaitable[T]) -> T:
    """Await one step of the checkout saga inside a ``checkout.<name>`` span (the source
    calls of the step are its children)."""
    tracer = _recording_tracer()
    if tracer is None:
        return await step
    with tracer.start_as_current_span(f"checkout.{name}", attributes={"checkout.step": name}):
        return await step


def note_cache_lookup(kind: str, hits: int, misses: int) -> None:
    """An event on the current span for each shared-cache batch lookup (a batch answered
    wholly from the cache makes no source call, so no source span would show it)."""
    if active_tracer.get() is None:  # tracing off: one context-variable read, as above
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event("cache lookup", {"gateway.cache.kind": kind, "hits": hits, "misses": misses})


def note_response_cache(state: str, operation_name: str | None) -> None:
    """A response answered from the response cache never reaches GraphQL execution: its
    operation span is made here, marked as a hit."""
    tracer = _recording_tracer()
    if tracer is None:
        return
    name = operation_name or "anonymous"
    span: Span = tracer.start_span(
        f"graphql.operation {name}",
        attributes={
            "graphql.operation.name": name,
            "graphql.operation.type": "query",
            "gateway.response_cache": state,
        },
    )
    span.end()
