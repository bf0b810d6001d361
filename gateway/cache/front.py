"""What happens to a GraphQL HTTP request before the executor sees it: persisted-query
hashes become queries, and a buyer's browsing query may be answered from the response
cache (with an ETag; 304 when the client already has it).

A browsing query (catalog root fields only) answers the same for every buyer, anonymous or
signed in: nothing under ``product``/``products``/``categories`` reads who the customer is
(tests/cache/test_buyer_responses.py walks the schema to hold that), and a field kept for
staff answers a buyer with the same error whoever the buyer is. So a signed-in customer's
browsing query shares the anonymous entry; only its headers differ (``private, no-store``:
no CDN or browser cache keeps what was asked with a token). Staff never share it: they see
unpublished products and staff-only fields.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from ..i18n.request import current as request_language
from ..tracing.spans import note_response_cache
from .persisted import PersistedQueries, PersistedQueryError
from .responses import CachedResponse, ResponseCache
from .tags import ReadSet, current_reads

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
JSON_FIELDS = ("variables", "extensions")


@dataclass(slots=True)
class Operation:
    query: str | None
    operation_name: str | None
    variables: Any
    extensions: Any


class Posted(Protocol):
    """Runs a POSTed operation already read from its JSON body (gateway/app.py,
    ``GatewayGraphQL.execute_posted``), answered as the GraphQL app would answer the body."""

    def __call__(
        self, scope: Scope, receive: Receive, send: Send, op: Operation
    ) -> Awaitable[None]: ...


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _from_get(scope: Scope) -> tuple[Operation, dict[str, str]] | None:
    params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    try:
        decoded = {f: orjson.loads(params[f]) if params.get(f) else None for f in JSON_FIELDS}
    except orjson.JSONDecodeError:
        return None
    op = Operation(params.get("query"), params.get("operationName"), **decoded)
    return op, params


class GraphQLFront:
    def __init__(
        self,
        app: ASGIApp,
        persisted: PersistedQueries,
        responses: ResponseCache | None,
        posted: Posted | None = None,
    ) -> None:
        self.app = app
        self.persisted = persisted
        self.responses = responses
        self.posted = posted

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, anonymous: bool, buyer: bool | None = None
    ) -> None:
        """``anonymous``: no token; ``buyer``: anonymous or a customer without permissions
        (default: ``anonymous``), whose browsing answers are the same as anyone's."""
        if buyer is None:
            buyer = anonymous
        method = scope["method"]
        content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
        params: dict[str, str] | None = None
        data: dict[str, Any] | None = None
        if method == "GET":
            parsed = _from_get(scope)
            if parsed is None:
                await self.app(scope, receive, send)
                return
            op, params = parsed
        elif method == "POST" and content_type.startswith("application/json"):
            body = await _read_body(receive)
            receive = _replay(body, receive)
            try:
                loaded = orjson.loads(body)
            except orjson.JSONDecodeError:
                loaded = None
            if not isinstance(loaded, dict):  # batches and nonsense: GraphQL answers
                await self.app(scope, receive, send)
                return
            data = loaded
            get = data.get
            op = Operation(get("query"), get("operationName"), get("variables"), get("extensions"))
        else:
            await self.app(scope, receive, send)
            return
        if not _is_well_formed(op):  # GraphQL itself explains what is wrong
            await self.app(scope, receive, send)
            return
        try:
            query = await self.persisted.resolve(op.query, op.extensions)
        except PersistedQueryError as exc:
            await JSONResponse(exc.body(), status_code=exc.status)(scope, receive, send)
            return
        app = self.app
        if data is not None and self.posted is not None and isinstance(op.variables, dict | None):
            # The body is read and well formed: run it as it is, not through a second
            # parse of the body by the GraphQL app (which answers everything else).
            app = functools.partial(
                self.posted, op=Operation(query, op.operation_name, op.variables, op.extensions)
            )
        elif query is not None and query != op.query:
            scope, receive = self._with_query(scope, receive, query, data, params)
        if not anonymous:  # a signed-in answer is the viewer's: no shared cache may keep it
            send = _private(send)
        if (
            self.responses is None
            or not buyer
            or query is None
            or _asks_for_cost(scope)
            or not isinstance(op.variables, dict | None)
            or not self.responses.is_browsing(query, op.operation_name)
        ):
            await app(scope, receive, send)
            return
        await self._cached(app, scope, receive, send, query, op, public=anonymous)

    def _with_query(
        self,
        scope: Scope,
        receive: Receive,
        query: str,
        data: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> tuple[Scope, Receive]:
        if params is not None:
            query_string = urlencode({**params, "query": query}).encode()
            return {**scope, "query_string": query_string}, receive
        body = orjson.dumps({**(data or {}), "query": query})
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": headers}, _replay(body, receive)

    async def _cached(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        query: str,
        op: Operation,
        public: bool,
    ) -> None:
        assert self.responses is not None
        language = request_language()
        key = self.responses.key(
            query, op.operation_name, op.variables, language.language if language else ""
        )
        hit = await self.responses.get(key)
        if hit is not None:
            note_response_cache("hit", op.operation_name)
            if language is not None and hit.shows_language:
                language.is_shown = True  # the headers it was first answered with
            await self._send(scope, receive, send, hit, "HIT", public)
            return
        scope.setdefault("state", {})["response_cache"] = "miss"  # for the operation's span
        reads = ReadSet()
        token = current_reads.set(reads)
        started: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await app(scope, receive, capture)
        finally:
            current_reads.reset(token)
        body = b"".join(chunks)
        stored = None
        if started is not None and started["status"] == 200 and _has_no_errors(body):
            shown = language is not None and language.is_shown
            stored = await self.responses.put(key, body, reads, shows_language=shown)
        if stored is not None:
            await self._send(scope, receive, send, stored, "MISS", public)
            return
        assert started is not None
        await send(started)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        cached: CachedResponse,
        state: str,
        public: bool,
    ) -> None:
        """``public``: asked without a token, so shared caches (a CDN) may keep it too;
        otherwise ``send`` already marks it ``private, no-store`` and no purge tags go out."""
        etag = cached.etag
        headers = {"ETag": etag, "Vary": "Authorization", "X-Cache": state}
        if public and scope["method"] == "GET":  # what a CDN caches (by URL): cdn.py
            assert self.responses is not None
            swr = int(self.responses.cache.settings.cdn_stale_while_revalidate)
            headers["Cache-Control"] = (
                f"public, max-age={int(cached.ttl)}, s-maxage={int(cached.cdn_ttl)}, "
                f"stale-while-revalidate={swr}"
            )
            headers["Surrogate-Key"] = " ".join(cached.tags)
            headers["Cache-Tag"] = ",".join(cached.tags)
        elif public:
            headers["Cache-Control"] = f"public, max-age={int(cached.ttl)}"
        if _matches(dict(scope["headers"]).get(b"if-none-match", b""), etag):
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return
        response = Response(cached.body, media_type="application/json", headers=headers)
        await response(scope, receive, send)


def _private(send: Send) -> Send:
    async def send_private(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
            headers.append((b"cache-control", b"private, no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return send_private


def _asks_for_cost(scope: Scope) -> bool:
    """``GraphQL-Cost: report`` (gateway/limits.py): the answer carries this viewer's own
    budget, so it is computed for them and never shared."""
    for name, value in scope["headers"]:
        if name == b"graphql-cost":
            return bool(value.strip().lower() == b"report")
    return False


def _is_well_formed(op: Operation) -> bool:
    return (
        isinstance(op.query, str | None)
        and isinstance(op.operation_name, str | None)
        and isinstance(op.extensions, dict | None)
    )


def _has_no_errors(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    # A response served from stale copies (a source down) must not outlive the outage.
    # Nor one with per-request extensions (served stale while a source is down, or the
    # cost report with a viewer's own rate-limit budget): equal queries must answer alike.
    return (
        isinstance(parsed, dict)
        and not parsed.get("errors")
        and "data" in parsed
        and not parsed.get("extensions")
    )


def _matches(header: bytes, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.decode("latin-1").split(",")}
    return etag in tags or "*" in tags
