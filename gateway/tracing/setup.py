"""Turning tracing on: a tracer provider exporting OTLP over HTTP, and the OpenTelemetry
instrumentations attached to this app's own objects.

Everything is attached per object (this app, its engines, its HTTP clients, its Redis
client), never by patching libraries process-wide: two apps in one process (tests,
benchmarks) trace independently, and an app with tracing off carries no instrumentation at
all. The instrumentations used: ASGI (the server span; it reads the client's W3C
``traceparent``), SQLAlchemy (a span per statement) and
redis (a span per command or pipeline). strawberry's extension gives the operation span
(operation.py); spans.py adds the source calls and the checkout's saga steps; a remote
source's client (sources/common/client.py, ``RemoteSource.trace_with``) makes a CLIENT
span per HTTP call and carries its ``traceparent`` on to the source's service, whose own
ASGI span continues the trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpUpDownCounter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import Tracer
from opentelemetry.util.http import ExcludeList
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import TracingSettings
from .spans import active_tracer

TRACER_NAME = "gateway"
# Probes and scrapes every few seconds would drown the traces that matter.
UNTRACED_PATHS = ExcludeList([r"/healthz$", r"/readyz$", r"/metrics$"])


def sampler(settings: TracingSettings) -> Sampler:
    ratio = TraceIdRatioBased(settings.sampler_arg)
    return {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(ratio),
    }[settings.sampler]


def build_provider(settings: TracingSettings, service: str | None = None) -> TracerProvider | None:
    """The provider exporting to the configured OTLP endpoint, or None when tracing is off.
    (Headers, timeout, compression and certificates come from the standard
    ``OTEL_EXPORTER_OTLP_*`` variables, which the exporter reads itself.)"""
    if not settings.enabled:
        return None
    provider = TracerProvider(
        sampler=sampler(settings),
        resource=Resource.create({SERVICE_NAME: service or settings.service_name}),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.traces_url)))
    return provider


class _TracerScope:
    """Makes this app's tracer the one spans.py uses, for the length of each request."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = active_tracer.set(self.tracer)
        try:
            await self.app(scope, receive, send)
        finally:
            active_tracer.reset(token)


def _span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """``POST /graphql``, ``POST /admin/imports/{kind}``: the route's template, never the
    raw path (a path with ids in it would make a span name per product)."""
    method = scope.get("method", "")
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            path = getattr(route, "path", "")
            return f"{method} {path}", {"http.route": path}
    return method, {}


def instrument_app(app: Starlette, provider: TracerProvider) -> Tracer:
    """The server span around every request but the probes (added last: outermost, so
    the request log line is written inside it and carries its trace id)."""
    tracer = provider.get_tracer(TRACER_NAME)
    app.add_middleware(_TracerScope, tracer=tracer)
    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=UNTRACED_PATHS,
        default_span_details=_span_details,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],  # a span per ASGI message costs more than it tells
    )
    return tracer


def instrument_engines(engines: Iterable[AsyncEngine], provider: TracerProvider) -> None:
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    usage = NoOpUpDownCounter("db.client.connections.usage")  # metrics are Prometheus'
    for engine in engines:
        EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def instrument_redis_client(client: Any, provider: TracerProvider) -> None:
    RedisInstrumentor.instrument_client(client, tracer_provider=provider)
