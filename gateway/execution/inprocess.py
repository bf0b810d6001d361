"""Run an operation in-process, without HTTP: the differential test and the executor
micro benchmark use it to execute one document with either executor over the same
sources, with a fresh per-request context (loaders, viewer, one moment) each time. Given the
shared cache, it reads as the served app does: listings and the read-through loaders
through the cache, everything else from the stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from starlette.requests import Request
from strawberry.extensions import ParserCache, ValidationCache

from ..auth import ANONYMOUS, Viewer
from ..cache.browsing import browsing_sources
from ..cache.entities import ReadThrough
from ..context import GatewayContext
from ..loaders import Loaders
from ..metrics import Metrics, RequestStats
from ..schema import build_schema
from ..settings import Settings
from ..sources import Sources
from . import executor_class


class InProcess:
    """One schema per executor over one set of sources."""

    def __init__(
        self,
        settings: Settings,
        sources: Sources,
        metrics: Metrics | None = None,
        *,
        cache: ReadThrough | None = None,
    ):
        self.settings = settings
        self.sources = browsing_sources(sources, cache)  # the stores themselves without one
        self.metrics = metrics or Metrics()
        self.cache = cache
        self.schemas: dict[str, strawberry.Schema] = {}

    def schema(self, executor: str) -> strawberry.Schema:
        if executor not in self.schemas:
            # As the app: a repeated document skips parsing and validation.
            extensions: list[Any] = [
                lambda: ParserCache(maxsize=256),
                lambda: ValidationCache(maxsize=256),
            ]
            self.schemas[executor] = build_schema(
                extensions=extensions, execution_context_class=executor_class(executor)
            )
        return self.schemas[executor]

    def context(self, viewer: Viewer = ANONYMOUS, now: datetime | None = None) -> GatewayContext:
        now = now or datetime.now(UTC)
        request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
        return GatewayContext(
            request=request,
            settings=self.settings,
            sources=self.sources,
            metrics=self.metrics,
            loaders=Loaders.for_request(
                self.sources,
                self.metrics,
                batching=self.settings.batching,
                currency=self.settings.currency,
                now=now,
                cache=self.cache,
            ),
            viewer=viewer,
            stats=RequestStats(),
            now=now,
            request_id="in-process",
        )

    async def execute(
        self,
        executor: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        viewer: Viewer = ANONYMOUS,
        now: datetime | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The response as a client would read it: data and formatted errors."""
        result = await self.schema(executor).execute(
            query,
            variable_values=variables,
            context_value=self.context(viewer, now),
            operation_name=operation_name,
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [e.formatted for e in result.errors]
        return response
