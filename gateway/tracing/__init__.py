"""OpenTelemetry tracing: on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (see
docs/tracing.md). ``install_tracing`` is the one call ``create_app`` makes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .settings import TracingSettings
from .spans import (
    active_tracer,
    batch_cache_hits,
    note_cache_lookup,
    note_response_cache,
    saga_step,
    source_call_span,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from starlette.applications import Starlette
    from strawberry.schema.base import BaseSchema

    from ..cache.entities import ReadThrough
    from ..sources import Sources

__all__ = [
    "TracingSettings",
    "active_tracer",
    "batch_cache_hits",
    "install_source_tracing",
    "install_tracing",
    "note_cache_lookup",
    "note_response_cache",
    "saga_step",
    "source_call_span",
]


def install_tracing(
    app: Starlette,
    settings: TracingSettings,
    *,
    schema: BaseSchema,
    sources: Sources,
    cache: ReadThrough | None,
    provider: TracerProvider | None = None,
) -> TracerProvider | None:
    """Instrument the gateway when tracing is configured (or ``provider`` is given: the
    tests' in-memory exporter); returns the provider in use, None when off."""
    # Off: return before importing the SDK, the OTLP exporter (protobuf) and the
    # instrumentations, a good part of a second of every process's start.
    if provider is None and not settings.enabled:
        return None
    from .operation import OperationSpan
    from .setup import (
        build_provider,
        instrument_app,
        instrument_engines,
        instrument_redis_client,
    )

    provider = provider or build_provider(settings)
    if provider is None:
        return None
    traced = provider
    instrument_app(app, traced)
    # Outermost extension: its span covers the limits, the rate limit and execution.
    extensions = getattr(schema, "extensions", ())  # strawberry.Schema's, a tuple
    schema.extensions = (lambda: OperationSpan(tracer_provider=traced), *extensions)  # type: ignore[attr-defined]
    instrument_engines((db.engine for db in sources.databases.values()), traced)
    for remote in sources.remotes.values():
        remote.trace_with(traced)  # a CLIENT span per call, traceparent along
    client: Any = getattr(cache.cache.backend, "client", None) if cache is not None else None
    if client is not None:
        instrument_redis_client(client, traced)
    _flush_on_shutdown(app, traced)
    return traced


def install_source_tracing(
    app: Starlette, settings: TracingSettings, source: str, provider: TracerProvider | None = None
) -> TracerProvider | None:
    """A source's service (``gateway source serve NAME``): its server span continues the
    gateway's trace from ``traceparent``, with a span per SQL statement under it."""
    if provider is None and not settings.enabled:
        return None
    from .setup import build_provider, instrument_app, instrument_engines

    provider = provider or build_provider(settings, f"{settings.service_name}-{source}")
    if provider is None:
        return None
    instrument_app(app, provider)
    instrument_engines([app.state.db.engine], provider)
    _flush_on_shutdown(app, provider)
    return provider


def _flush_on_shutdown(app: Starlette, provider: TracerProvider) -> None:
    """The spans still queued when the process stops are sent before it exits."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        try:
            async with inner(app) as state:
                yield state
        finally:
            provider.force_flush()

    app.router.lifespan_context = lifespan
