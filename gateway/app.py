"""create_app(settings) -> Starlette: /graphql (+ GraphiQL), /healthz, /readyz, /metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension

from .auth import ANONYMOUS, TokenError, TokenVerifier, Viewer
from .context import GatewayContext
from .loaders import Loaders
from .metrics import Metrics, RequestStats
from .observability import (
    MaskInternalErrors,
    OperationMetrics,
    RequestLogMiddleware,
    configure_logging,
)
from .schema import build_schema
from .settings import Settings
from .sources import Sources


def _viewer(verifier: TokenVerifier, request: Request) -> Viewer:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("TOKEN_INVALID", "the Authorization header must be 'Bearer <token>'")
    return verifier.verify(token.strip())


class GatewayGraphQL(GraphQL[GatewayContext, None]):
    def __init__(self, settings: Settings, sources: Sources, metrics: Metrics) -> None:
        extensions: list[type[SchemaExtension]] = [OperationMetrics]
        if settings.is_production:
            extensions.append(MaskInternalErrors)
        super().__init__(
            build_schema(extensions=extensions),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.sources = sources
        self.metrics = metrics

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        assert isinstance(request, Request)
        stats = request.scope.get("state", {}).get("stats") or RequestStats()
        now = datetime.now(UTC)
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
            ),
            viewer=request.state.viewer,
            stats=stats,
            now=now,
            request_id=getattr(stats, "request_id", ""),
        )


class _AsgiEndpoint:
    """Lets a Route hand the raw ASGI call to GraphQL (a plain function would be wrapped)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(settings: Settings, *, sources: Sources | None = None) -> Starlette:
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics()
    sources = sources or Sources.from_settings(settings)
    for store in sources.stores():
        metrics.count_calls(store)
    graphql_app = GatewayGraphQL(settings, sources, metrics)
    verifier = TokenVerifier(settings)

    async def graphql(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            scope.setdefault("state", {})["viewer"] = _viewer(verifier, request)
        except TokenError as exc:
            metrics.errors.labels(exc.code).inc()
            response = JSONResponse(
                {
                    "data": None,
                    "errors": [{"message": exc.message, "extensions": {"code": exc.code}}],
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            await response(scope, receive, send)
            return
        await graphql_app(scope, receive, send)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        sources_status = await sources.readiness()
        ready = all(v == "ok" for v in sources_status.values())
        body = {
            "status": "ok" if ready else "unavailable",
            "sources": sources_status,
            "cache": "in-process" if settings.redis_url is None else "redis",
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await sources.close()

    app = Starlette(
        routes=[
            Route("/graphql", _AsgiEndpoint(graphql), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RequestLogMiddleware)
    app.state.settings = settings
    app.state.sources = sources
    app.state.metrics = metrics
    return app
