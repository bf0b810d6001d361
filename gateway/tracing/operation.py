"""A span per GraphQL operation, from strawberry's OpenTelemetry extension.

Two changes to it: the operation span becomes the current span while the operation runs,
so every source call, SQL statement and Redis command it causes nests under it (strawberry
leaves the HTTP server span current); and there is no span per resolver, which on a
50-product listing would be thousands of spans for fields read from records already loaded
(the source calls are where the time goes, and they have their spans).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from graphql import GraphQLError
from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode, TracerProvider
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension


class OperationSpan(OpenTelemetryExtension):
    resolve = SchemaExtension.resolve  # type: ignore[assignment]  # no span per resolver

    def __init__(self, *, tracer_provider: TracerProvider) -> None:
        super().__init__(tracer_provider=tracer_provider)

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("graphql.operation")
        self._span_holder[LifecycleStep.OPERATION] = span
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            try:
                if span.is_recording():
                    self._describe(span)
            finally:
                span.end()
                context.detach(token)

    def _describe(self, span: trace.Span) -> None:
        ctx = self.execution_context
        name = ctx.operation_name or "anonymous"
        span.update_name(f"graphql.operation {name}")
        attributes: dict[str, Any] = {"graphql.operation.name": name}
        try:
            attributes["graphql.operation.type"] = ctx.operation_type.value
        except RuntimeError:  # the document did not parse
            pass
        context_value = ctx.context
        cost = getattr(context_value, "query_cost", None)
        if isinstance(cost, int):
            attributes["graphql.operation.cost"] = cost
        request = getattr(context_value, "request", None)
        state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
        attributes["gateway.response_cache"] = state.get("response_cache", "bypass")
        span.set_attributes(attributes)
        errors: list[GraphQLError] = list(
            (ctx.result.errors if ctx.result else ctx.pre_execution_errors) or ()
        )
        if errors:
            codes = sorted({str((e.extensions or {}).get("code", "ERROR")) for e in errors})
            span.set_attribute("graphql.error.codes", codes)
            span.set_status(Status(StatusCode.ERROR, codes[0]))
