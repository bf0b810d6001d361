"""create_app(settings) -> Starlette: /graphql (+ GraphiQL), /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson
import structlog
from cross_web import HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from sources.common.db_state import database_state, describe_database_error

from .accounts import CustomerAccounts
from .admission import AdmissionGate
from .auth import ANONYMOUS, TokenError, TokenVerifier, Viewer, is_buyer
from .backoffice.overdue_gauge import OverdueShipments
from .backoffice.upload import import_endpoint, stop_running_imports
from .cache import invalidation
from .cache.admin import invalidate_endpoint
from .cache.browsing import browsing_sources
from .cache.entities import ReadThrough
from .cache.factory import build_cache
from .cache.front import GraphQLFront, Operation
from .cache.persisted import PersistedQueries, load_allow_list
from .cache.responses import ResponseCache
from .checkout import addresses
from .checkout.sweeper import run_forever
from .compression import add_compression
from .context import GatewayContext, ResponseHead
from .examples.assets import ROOT as EXAMPLES_ROOT
from .examples.operations import allow_list as example_operations
from .examples.page import example_routes
from .examples.tokens import DevTokens
from .graphiql.page import graphiql_page, graphiql_routes
from .http_media import GraphQLMedia, is_multipart, refusal, shape_result
from .i18n.http import with_language_headers
from .i18n.negotiation import negotiate
from .i18n.request import RequestLanguage, answering_in
from .lifecycle import DrainGate, Lifecycle
from .limits import CostLimit, read_body_limited, validation_rules
from .loaders import Loaders
from .media.serve import MediaEndpoint
from .media.storage import MediaStorage, build_storage
from .metrics import Metrics, RequestStats
from .mutation_plans import execution_class
from .observability import RequestLogMiddleware, configure_logging
from .operation import GatewaySchema, OperationChecks
from .payments.cashier import Cashier
from .payments.notify import notify_endpoint
from .ratelimit.limiter import RateLimiter, build_rate_limiter
from .resilience.degrade import install_placeholders
from .resilience.guard import guard_sources
from .schema import build_schema
from .settings import ConfigurationError, Settings
from .setup.shop import with_shop_profile
from .sources import Sources
from .tracing import install_tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


async def _viewer(verifier: TokenVerifier, accounts: CustomerAccounts, request: Request) -> Viewer:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("TOKEN_INVALID", "the Authorization header must be 'Bearer <token>'")
    return await accounts.resolve(await verifier.verify_async(token.strip()))


# What a POST may run (strawberry's view allows the same: OperationType.from_http("POST")).
_POSTED_OPERATIONS = frozenset(OperationType.from_http("POST"))


class GatewayGraphQL(GraphQL[GatewayContext, None]):
    def __init__(
        self,
        settings: Settings,
        sources: Sources,
        metrics: Metrics,
        cache: ReadThrough | None = None,
        rate_limiter: RateLimiter | None = None,
        cashier: Cashier | None = None,
        media: MediaStorage | None = None,
    ) -> None:
        # Every check and record of an operation in one extension (gateway/operation.py):
        # metrics, partial data, the query limits, the rate limit, the kept plans.
        extensions: list[type[SchemaExtension]] = [
            _operation_checks(settings, rate_limiter).extension()
        ]
        schema = build_schema(
            extensions=extensions,
            execution_context_class=execution_class(settings.executor),
            schema_class=GatewaySchema,
        )
        install_placeholders(schema._schema)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            # productMediaAdd's file, as clients send it (GraphQL multipart request spec);
            # http_media.py lets it through only with a header no cross-site form can send.
            multipart_uploads_enabled=True,
        )
        self.media = media
        self.settings = settings
        self.sources = sources
        self.metrics = metrics
        self.cache = cache
        self.cashier = cashier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As strawberry's, but a refused request is answered in JSON with a code, not
        plain text: every client parses the same error shape."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = refusal(exc.status_code, exc.reason, _http_code(exc.status_code))
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(request)  # self-hosted files and example tabs, no CDN

    async def execute_posted(
        self, scope: Scope, receive: Receive, send: Send, op: Operation
    ) -> None:
        """A POST whose JSON body GraphQLFront has read (an object, its query, operation
        name, variables and extensions of the right types), answered as ``__call__`` answers
        it, without strawberry's HTTP view around the schema: no second read and parse of
        the body, no request adapter, no ``Response`` objects. Every other request (GET, an
        upload, a body that is not such an object) goes through ``__call__``, which says
        what is wrong with it."""
        request = Request(scope, receive)
        head = ResponseHead()
        context = await self.get_context(request, head)
        try:
            result = await self.schema.execute(
                op.query,
                variable_values=op.variables,
                context_value=context,
                operation_name=op.operation_name,
                allowed_operation_types=_POSTED_OPERATIONS,
                operation_extensions=op.extensions,
            )
        except CannotGetOperationTypeError as exc:
            await refusal(400, exc.as_http_error_reason(), "BAD_REQUEST")(scope, receive, send)
            return
        except InvalidOperationTypeError as exc:
            reason = exc.as_http_error_reason("POST")
            await refusal(405, reason, "METHOD_NOT_ALLOWED")(scope, receive, send)
            return
        except MissingQueryError:
            reason = "No GraphQL query found in the request"
            await refusal(400, reason, "BAD_REQUEST")(scope, receive, send)
            return
        body = process_result(result)
        shape_result(scope, result.data, result.errors, cast("dict[str, Any]", body))
        await head.send(send, orjson.dumps(body))

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as exc:  # a mutation over GET: POST it (GraphQL over HTTP)
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, exc.reason) from exc
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        shape_result(request.scope, result.data, result.errors, cast("dict[str, Any]", body))
        return body

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise json.JSONDecodeError(str(exc), exc.doc, exc.pos) from exc
        if isinstance(value, list):
            raise HTTPException(400, "batched requests (a JSON array) are not supported")
        if not isinstance(value, dict):
            raise HTTPException(400, "the request body must be a JSON object")
        return value

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | ResponseHead | WebSocket
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
                cache=self.cache,
            ),
            viewer=request.state.viewer,
            stats=stats,
            now=now,
            request_id=getattr(stats, "request_id", ""),
            response=response if isinstance(response, Response | ResponseHead) else None,
            cashier=self.cashier,
            media=self.media,
        )


def _operation_checks(settings: Settings, rate_limiter: RateLimiter | None) -> OperationChecks:
    """Tokens before parsing, depth/aliases/directives/introspection in validation, cost
    then the rate limit before execution (see gateway/limits.py); in production, no field
    suggestions and masked internal errors."""
    rules = validation_rules(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_directives=settings.max_directives,
        introspection=settings.introspection,
    )
    return OperationChecks(
        max_tokens=settings.max_tokens,
        rules=rules,
        cost=CostLimit(
            limit=settings.max_cost,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        ),
        rate_limiter=rate_limiter,
        mask_errors=settings.is_production,
        no_suggestions=not settings.field_suggestions,
    )


def _payload_too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"the request body is larger than {limit} bytes",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE", "limit": limit},
                }
            ]
        },
        status_code=413,
    )


async def _limit_body(scope: Scope, receive: Receive, send: Send, limit: int) -> Receive | None:
    """A receive that replays the body read here, or None once 413 has been answered:
    nothing past `limit` bytes is read (a declared Content-Length over it, nothing at all)."""
    if scope["method"] != "POST":
        return receive
    declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
    if declared.strip().isdigit() and int(declared) > limit:
        await _payload_too_large(limit)(scope, receive, send)
        return None
    body = await read_body_limited(receive, limit)
    if body is None:
        await _payload_too_large(limit)(scope, receive, send)
        return None
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _http_code(status: int) -> str:
    return {
        405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
    }.get(status, "BAD_REQUEST")


class _PostsStraightToGraphQL:
    """Pure ASGI, the innermost middleware: a POST to /graphql goes straight to its
    endpoint, not through Starlette's exception middleware and router, which do nothing
    for it (the endpoint raises none of the exceptions that middleware handles, and the
    route is one fixed path): four layers and ten Python calls less per request. Every
    other request (GET /graphql and GraphiQL too, or an app under a root path) is routed as
    before."""

    def __init__(self, app: ASGIApp, graphql: ASGIApp) -> None:
        self.app = app
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            await self.graphql(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _AsgiEndpoint:
    """Lets a Route hand the raw ASGI call to GraphQL (a plain function would be wrapped)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _persisted_queries(settings: Settings, cache: ReadThrough | None) -> PersistedQueries:
    path = Path(settings.persisted_queries_file)
    try:
        allow_list = load_allow_list(path)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"configuration error: PERSISTED_QUERIES_FILE: {exc}") from None
    if settings.examples:  # the example pages' operations, so they run with the list alone
        try:
            allow_list = {**example_operations(EXAMPLES_ROOT), **allow_list}
        except (OSError, ValueError) as exc:
            logging.getLogger(__name__).warning("the examples' operations: %s", exc)
    if settings.persisted_queries_only and not allow_list:
        raise ConfigurationError(
            f"configuration error: PERSISTED_QUERIES_ONLY=true but {path} registers no "
            "queries (run `gateway persisted add FILE`)"
        )
    return PersistedQueries(cache, allow_list, only=settings.persisted_queries_only)


async def _with_shop_profile(settings: Settings, sources: Sources) -> Settings:
    """The settings with the shop's profile (``gateway init``) where the environment is
    silent; unchanged when the orders source cannot say (``/readyz`` reports that)."""
    try:
        if not await _orders_ready(sources, "the shop profile was not read"):
            return settings
        profile = await sources.orders.shop_profile()
    except Exception as exc:  # an unmigrated or unreachable database must not stop the process
        logging.getLogger(__name__).warning(
            "the shop profile was not read: %s", describe_database_error(exc)
        )
        return settings
    return with_shop_profile(settings, profile)


async def _orders_ready(sources: Sources, unread: str) -> bool:
    """Whether the orders source can be read at start; an embedded database that is not
    migrated is not read (reading would create an empty SQLite file), and says why."""
    if "orders" not in sources.databases:
        return True
    state = await database_state("orders", sources.databases["orders"])
    if not state.is_ready:
        logging.getLogger(__name__).warning("%s: %s", unread, state.line())
    return state.is_ready


async def _prepare_addresses(sources: Sources) -> None:
    """The address data of the countries the shop delivers to, loaded before the worker
    serves (checkout/addresses.prepare); a source that cannot say leaves it to the first
    address, as before."""
    try:
        if not await _orders_ready(sources, "address data not loaded ahead"):
            return
        countries = {region.country for region in await sources.orders.regions()}
    except Exception as exc:  # an unmigrated or unreachable database must not stop the process
        logging.getLogger(__name__).info(
            "address data not loaded ahead: %s", describe_database_error(exc)
        )
        return
    addresses.prepare(countries)


async def _cache_health(cache: ReadThrough | None, timeout_s: float) -> str:
    """The shared cache's state for /readyz (it never makes the process unready: without
    Redis the gateway serves from the sources, degraded), within its own timeout."""
    if cache is None:
        return "off"
    try:
        async with asyncio.timeout(timeout_s):
            return await cache.cache.health()
    except TimeoutError:
        return "degraded"


def create_app(
    settings: Settings,
    *,
    sources: Sources | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics()
    overdue = OverdueShipments(metrics.registry)
    sources = sources or Sources.from_settings(settings)
    for store in sources.stores():
        metrics.count_calls(store)
    cache = build_cache(settings, metrics.registry)
    # The catalog's last good answers are kept in the shared cache, so any process can
    # serve them while the catalog is down (in this process when the cache is off).
    guard_sources(
        sources,
        settings.resilience,
        metrics.registry,
        shared=cache.cache if cache is not None else None,
        keep_hours=settings.cache.last_known_hours,
    )
    # Browsing reads listings through the cache; checkout, handed the same object, reads
    # every other method straight from the stores (see gateway/cache/browsing.py).
    browsing = browsing_sources(sources, cache)
    if cache is not None:
        for handle in (sources, browsing):
            invalidation.register(handle, cache)
        invalidation.drop_stock_after_reservations(sources)
    rate_limiter = build_rate_limiter(settings, metrics.registry)
    cashier = Cashier.from_settings(settings)
    media = build_storage(settings.media)
    lifecycle = Lifecycle()
    graphql_app = GatewayGraphQL(
        settings, browsing, metrics, cache, rate_limiter, cashier=cashier, media=media
    )
    verifier = TokenVerifier(settings)
    accounts = CustomerAccounts(sources.orders)
    front = GraphQLFront(
        graphql_app,
        _persisted_queries(settings, cache),
        ResponseCache(cache, settings.stock.variant)
        if cache is not None and settings.cache.response_cache
        else None,
        posted=graphql_app.execute_posted,
    )

    async def graphql(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            scope.setdefault("state", {})["viewer"] = await _viewer(verifier, accounts, request)
        except TokenError as exc:
            metrics.errors.labels(exc.code).inc()
            response = JSONResponse(
                # A request error: no "data" entry (GraphQL over HTTP).
                {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                status_code=exc.status,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                if exc.status == 401
                else {},
            )
            await response(scope, receive, send)
            return
        viewer = scope["state"]["viewer"]
        anonymous = viewer is ANONYMOUS
        limit = settings.max_body_bytes
        if is_multipart(scope):  # an upload: the image's own limit, and room for the form
            limit = max(limit, settings.media.max_upload_bytes + 64 * 1024)
        limited = await _limit_body(scope, receive, send, limit)
        if limited is None:
            metrics.errors.labels("PAYLOAD_TOO_LARGE").inc()
            return
        offered = settings.languages
        language = RequestLanguage(
            negotiate(request.headers.get("accept-language"), offered.offered, offered.default)
        )
        with answering_in(language):
            send = with_language_headers(send, language)
            await front(scope, limited, send, anonymous, is_buyer(viewer))

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if lifecycle.is_draining:  # shutting down: out of rotation at once
            return JSONResponse({"status": "draining"}, status_code=503)
        timeout_s = settings.readiness_timeout_seconds
        sources_status, cache_status = await asyncio.gather(
            sources.readiness(timeout_s), _cache_health(cache, timeout_s)
        )
        ready = all(v == "ok" for v in sources_status.values())
        body = {
            "status": "ok" if ready else "unavailable",
            "sources": sources_status,
            "cache": cache_status,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def admin_invalidate(request: Request) -> Response:
        return await invalidate_endpoint(
            request, settings=settings, verifier=verifier, sources=sources, cache=cache
        )

    async def admin_import(request: Request) -> Response:
        return await import_endpoint(request, settings=settings, verifier=verifier, sources=sources)

    async def payment_notify(request: Request) -> Response:
        return await notify_endpoint(request, sources=sources, cashier=cashier)

    async def metrics_endpoint(_: Request) -> Response:
        await overdue.refresh(sources)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal settings
        settings = await _with_shop_profile(settings, sources)
        graphql_app.settings = app.state.settings = settings
        await _prepare_addresses(sources)
        sweeper = (
            asyncio.create_task(run_forever(sources, settings.sweep_interval_seconds, cashier))
            if settings.sweep_interval_seconds > 0
            else None
        )
        # Every process hears every other's invalidations and drops its near-cache copies.
        listener = asyncio.create_task(cache.cache.listen()) if cache is not None else None
        try:
            with lifecycle.draining_on_signals():
                yield
        finally:
            started = time.monotonic()
            stopped = {
                "sweeper": "stopped" if sweeper is not None else "off",
                "invalidation_listener": "stopped" if listener is not None else "off",
            }
            for task in (sweeper, listener):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            # A cancelled task keeps its cancellation, whose traceback may hold what a call
            # cut short left open: let go of it, sources.close() collects it.
            sweeper = listener = task = None
            # They resume when their file is sent again.
            imports = await stop_running_imports(sources)
            if cache is not None:
                await cache.cache.close()
                for handle in (sources, browsing):
                    invalidation.unregister(handle)
            if rate_limiter is not None:
                await rate_limiter.close()
            # Not 0: a call cut short had left SQLite objects open; they were closed now.
            # Only a process that exits after this looks for them (gateway/asgi.py): the
            # look is a full collection over the heap, 0.4 s of CPU in a big one, and an
            # app shut down inside a longer-lived process (tests) leaves them to the
            # collector.
            left_open = await sources.close(
                left_behind=getattr(app.state, "process_exits_after_shutdown", False)
            )
            # The operator's (and the shutdown test's) word that nothing was left running.
            structlog.get_logger("gateway.lifecycle").info(
                "background work stopped, pools closed",
                import_jobs=imports,
                **stopped,
                sqlite_closed_late=left_open,
                seconds=round(time.monotonic() - started, 3),
            )

    graphql_endpoint = GraphQLMedia(graphql)
    app = Starlette(
        routes=[
            Route("/graphql", _AsgiEndpoint(graphql_endpoint), methods=["GET", "POST"]),
            Route("/media/{key:path}", MediaEndpoint(media).serve, methods=["GET", "HEAD"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/admin/invalidate", admin_invalidate, methods=["POST"]),
            *graphiql_routes(settings.graphiql),
            *example_routes(settings.examples, DevTokens(settings, sources)),
            Route("/admin/imports/{kind}", admin_import, methods=["POST"]),
            Route("/payments/{provider}/notify", payment_notify, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    # Added first, so innermost: inside compression, the door and the log line.
    app.add_middleware(_PostsStraightToGraphQL, graphql=graphql_endpoint)
    add_compression(app, settings.compression)  # inside the log line: its time counts
    if settings.in_flight_limit:  # inside the log line too: its wait counts (queued_ms)
        app.add_middleware(
            AdmissionGate, limit=settings.in_flight_limit, hold_s=settings.in_flight_hold_seconds
        )
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(DrainGate, lifecycle=lifecycle)  # outside the log: refusals are cheap
    # Last: the server span is outermost. Off (no OTLP endpoint, no provider): no-op.
    install_tracing(
        app,
        settings.tracing,
        schema=graphql_app.schema,
        sources=sources,
        cache=cache,
        provider=tracer_provider,
    )
    app.state.settings = settings
    app.state.sources = sources
    app.state.metrics = metrics
    app.state.cache = cache
    app.state.cashier = cashier
    app.state.lifecycle = lifecycle
    return app
