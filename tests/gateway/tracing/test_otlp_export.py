"""Traces really leave the processes: a gateway and a remote source's service, each run as
an operator runs them (``gateway serve``, ``gateway source serve catalog``) with nothing but
the standard OpenTelemetry variables, export OTLP over HTTP to a receiver on a loopback
port, and the two halves of one storefront request arrive as one trace. The gateway's
request log line names that trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.source_service import wait_until_healthy
from tests.conftest import _migrate_and_seed, sqlite_urls
from tests.gateway.checkout_helpers import run
from tests.remote import SECRET, free_port

from .support import TRACE_ID, TRACEPARENT, served

PRODUCTS = 60
QUERY = (
    "query Front { products(first: 5) "
    "{ edges { node { id name priceRange { min { amount } } } } } }"
)


class Receiver:
    """An OTLP/HTTP trace receiver: (service.name, span name, trace id hex) per span."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/v1/traces", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        with self.lock:
            for resource_spans in message.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    ),
                    "",
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((service, span.name, span.trace_id.hex()))
        return Response(b"", media_type="application/x-protobuf")

    def services_in(self, trace_id: str) -> set[str]:
        with self.lock:
            return {service for service, _, t in self.spans if t == trace_id}

    def names_in(self, trace_id: str, service: str) -> set[str]:
        with self.lock:
            return {name for s, name, t in self.spans if t == trace_id and s == service}


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    received = Receiver()
    with served(received.app) as url:
        yield received, url


def _start(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def test_a_gateway_and_its_remote_source_export_one_trace_over_otlp_http(
    receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    received, collector = receiver
    urls = sqlite_urls(tmp_path)
    run(lambda: _migrate_and_seed(urls, products=PRODUCTS))
    env = {
        **os.environ,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        "GATEWAY_SERVICE_SECRET": SECRET,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_SERVICE_NAME": "shop",
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # milliseconds: the test waits for the export
        "GATEWAY_LOG_LEVEL": "INFO",
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_SWEEP_INTERVAL_SECONDS": "0",
    }
    source_port, gateway_port = free_port(), free_port()
    python = [sys.executable, "-m", "gateway"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        source = _start(
            [*python, "source", "serve", "catalog", "--port", str(source_port)],
            env,
            tmp_path,
            tmp_path / "catalog.log",
        )
        processes.append(source)
        source_url = f"http://127.0.0.1:{source_port}"
        wait_until_healthy(source_url, source)
        gateway = _start(
            [*python, "serve", "--port", str(gateway_port)],
            {**env, "CATALOG_URL": source_url},
            tmp_path,
            tmp_path / "gateway.log",
        )
        processes.append(gateway)
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_until_healthy(gateway_url, gateway)

        response = httpx.post(
            f"{gateway_url}/graphql",
            json={"query": QUERY, "operationName": "Front"},
            headers={"traceparent": TRACEPARENT},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json()

        deadline = time.monotonic() + 30
        while received.services_in(TRACE_ID) != {"shop", "shop-catalog"}:
            assert time.monotonic() < deadline, received.services_in(TRACE_ID)
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while "graphql.operation Front" not in received.names_in(TRACE_ID, "shop"):
            assert time.monotonic() < deadline, received.names_in(TRACE_ID, "shop")
            time.sleep(0.05)
        gateway_spans = received.names_in(TRACE_ID, "shop")
        assert {"POST /graphql", "source catalog.list_products"} <= gateway_spans
        assert "POST /v1/catalog/list_products" in received.names_in(TRACE_ID, "shop-catalog")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)

    lines = [
        json.loads(line)
        for line in (tmp_path / "gateway.log").read_text().splitlines()
        if line.startswith("{")
    ]
    requests = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("operation") == "Front"
    ]
    assert requests and requests[0]["trace_id"] == TRACE_ID


def test_without_an_endpoint_nothing_is_instrumented(tmp_path: Path) -> None:
    from gateway.app import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(sqlite_urls(tmp_path)))
    names = [getattr(m.cls, "__name__", "") for m in app.user_middleware]
    assert "RequestLogMiddleware" in names
    assert not [n for n in names if "OpenTelemetry" in n or "Trac" in n], names
