"""One structured log line per request, the request id, and operation metrics.

The request id is taken from ``X-Request-ID`` when the caller sends a sane one (so a trace
crosses the load balancer), otherwise made here, and always echoed in the response.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import structlog
from graphql import GraphQLError
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics, RequestStats, Stopwatch, current_request
from .resilience.degrade import is_source_failure

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = structlog.get_logger("gateway.request")


def configure_logging(level: str, fmt: str) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A line written inside a trace names it (``trace_id``, ``span_id``), so a log search
    and the trace of the same request lead to each other; sampled out or not, the id is the
    one the sources' services see in ``traceparent``. Tracing off: nothing is added."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


class RequestStatsState(RequestStats):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id
        self.operation: str | None = None
        self.error_codes: list[str] = []


class RequestLogMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it must not buffer or slow every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # 128 random bits in hex, as uuid4().hex but without its three Python calls.
        request_id = incoming if _SANE_ID.match(incoming) else os.urandom(16).hex()
        stats = RequestStatsState(request_id)
        scope.setdefault("state", {})["stats"] = stats
        token = current_request.set(stats)
        watch = Stopwatch()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request.reset(token)
            if scope["path"] not in ("/healthz", "/metrics"):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    operation=stats.operation,
                    duration_ms=round(watch.seconds * 1000, 2),
                    queued_ms=round(stats.queued_s * 1000, 2),
                    source_calls=stats.source_calls,
                    errors=stats.error_codes or None,
                    request_id=request_id,
                )


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return "INTERNAL" if error.original_error is not None else "GRAPHQL_VALIDATION_FAILED"


def record_operation(ctx: ExecutionContext, watch: Stopwatch) -> None:
    """Requests and latency by operation name, errors by code (once the operation has its
    final errors: gateway/operation.py calls it last)."""
    name = ctx.operation_name or "anonymous"
    context = ctx.context
    metrics: Metrics = context.metrics
    requests, latency = metrics.operation_series(name)
    requests.inc()
    latency.observe(watch.seconds)
    stats = context.stats
    if isinstance(stats, RequestStatsState):
        stats.operation = name
    errors = ctx.result.errors if ctx.result else ctx.pre_execution_errors
    for error in errors or ():
        code = error_code(error)
        metrics.errors.labels(code).inc()
        if isinstance(stats, RequestStatsState):
            stats.error_codes.append(code)


def mask_internal_errors(ctx: ExecutionContext) -> None:
    """Production: an unexpected exception reaches the client as code INTERNAL and the
    request id, never its message; the full error goes to the log with the same id."""
    result = ctx.result
    if not result or not result.errors:
        return
    request_id = getattr(ctx.context, "request_id", "")
    masked: list[GraphQLError] = []
    for error in result.errors:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError) or is_source_failure(original):
            masked.append(error)
            continue
        log.error("unexpected error", request_id=request_id, exc_info=original)
        masked.append(
            GraphQLError(
                f"Internal error (request id {request_id})",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "INTERNAL", "requestId": request_id},
            )
        )
    result.errors = masked
