"""A gateway traced into an in-memory exporter, served on a real port (so the spans are
those of a real HTTP request: the W3C headers, the server span, the source calls)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.remote_settings import RemoteSettings
from gateway.settings import Settings
from gateway.tracing import install_source_tracing
from sources.apis import APIS
from sources.common.service import source_app
from tests.conftest import LiveGateway
from tests.remote import SECRET, free_port

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"


class Spans:
    """What the exporter received, with the questions the tests ask of it."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def clear(self) -> None:
        self.exporter.clear()

    def of_trace(self, trace_id: str = TRACE_ID) -> list[ReadableSpan]:
        wanted = int(trace_id, 16)
        return [
            s
            for s in self.exporter.get_finished_spans()
            if s.context is not None and s.context.trace_id == wanted
        ]

    def named(self, name: str, trace_id: str = TRACE_ID) -> list[ReadableSpan]:
        return [s for s in self.of_trace(trace_id) if s.name == name]

    def one(self, name: str, trace_id: str = TRACE_ID) -> ReadableSpan:
        found = self.named(name, trace_id)
        assert len(found) == 1, (name, sorted(s.name for s in self.of_trace(trace_id)))
        return found[0]

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        assert span.context is not None
        for candidate in self.of_trace(format(span.context.trace_id, "032x")):
            if candidate.context is not None and candidate.context.span_id == span.parent.span_id:
                return candidate
        return None

    def ancestors(self, span: ReadableSpan) -> list[str]:
        names: list[str] = []
        parent = self.parent_of(span)
        while parent is not None:
            names.append(parent.name)
            parent = self.parent_of(parent)
        return names


@contextmanager
def served(app: Starlette) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def traced_gateway(
    settings: Settings, spans: Spans, *, remote: bool = False
) -> Iterator[LiveGateway]:
    """The gateway tracing into ``spans``; ``remote``: every source behind its own traced
    service (the same provider, so one exporter sees both sides of each call)."""
    with ExitStack() as stack:
        if remote:
            urls: dict[str, Any] = {}
            for name, url in settings.database_urls().items():
                api = APIS[name]
                service = source_app(
                    name, api.interface, api.errors, api.make_store, url, secret=SECRET
                )
                install_source_tracing(service, settings.tracing, name, provider=spans.provider)
                urls[f"{name}_url"] = stack.enter_context(served(service))
            remote_settings = RemoteSettings(**urls, service_secret=SECRET, timeout_seconds=60)
            settings = settings.model_copy(update={"remote": remote_settings})
        app = create_app(settings, tracer_provider=spans.provider)
        url = stack.enter_context(served(app))
        client = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        yield LiveGateway(url, settings, client)
