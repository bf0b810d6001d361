"""GraphQL over HTTP: the response's media type and status, as the spec asks.

A client that accepts ``application/graphql-response+json`` gets that media type, and with
it status codes that say what happened: a request that never executed (unparsable,
invalid, variables that do not coerce, refused by a limit) is a 400 with no ``data``
entry. A client that accepts only ``application/json`` (or sends no Accept) keeps the
classic shape: 200 with ``data: null``. POST bodies must be JSON: the content types a
browser may send cross-site without a preflight (form posts, ``text/plain``) are refused
with 415, so no other site can make a buyer's browser run a mutation (CSRF). The one
exception is a file upload (``multipart/form-data``, the GraphQL multipart request spec)
that also carries a header no cross-site form can set (``Authorization``, or the
``GraphQL-Require-Preflight`` / ``Apollo-Require-Preflight`` that upload clients send):
a browser must ask first, and the shop's CORS policy answers.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_MEDIA_KEY = "graphql_media"
_REQUEST_ERROR_KEY = "graphql_request_error"


def negotiate(accept: str) -> str:
    """The media type to answer in: graphql-response+json when the client ranks it at
    least as high as application/json (``*/*`` and no Accept mean application/json)."""
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        best[media] = max(best.get(media, 0.0), quality)
    graphql = best.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if graphql > 0 and graphql >= best.get(APPLICATION_JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def answers_graphql_response_json(scope: Scope) -> bool:
    return bool(scope.get("state", {}).get(_MEDIA_KEY) == GRAPHQL_RESPONSE_JSON)


def is_request_error(data: Any, errors: list[Any] | None) -> bool:
    """A result that never reached execution: no data, and only errors without a path
    (parse, validation, variable coercion, a limit). A masked INTERNAL error is the
    gateway's fault, not the request's: it stays a 200 with its request id."""
    if data is not None or not errors:
        return False
    for error in errors:
        if getattr(error, "path", None):
            return False
        extensions = getattr(error, "extensions", None) or {}
        if extensions.get("code") == "INTERNAL":
            return False
    return True


def mark_request_error(scope: Scope) -> None:
    scope.setdefault("state", {})[_REQUEST_ERROR_KEY] = True


def _unsupported_media_type(content_type: str) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"POST bodies must be application/json, not {content_type!r}",
                    "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"},
                }
            ]
        },
        status_code=415,
        headers={"Accept-Post": APPLICATION_JSON},
    )


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media in (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON) or (
        media.startswith("application/") and media.endswith("+json")
    )


_PREFLIGHTED = (b"authorization", b"graphql-require-preflight", b"apollo-require-preflight")


def is_multipart(scope: Scope) -> bool:
    content_type: str = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    return content_type.partition(";")[0].strip().lower() == "multipart/form-data"


def _is_preflighted_upload(scope: Scope) -> bool:
    names: set[bytes] = {bytes(name).lower() for name, _ in scope["headers"]}
    return is_multipart(scope) and any(header in names for header in _PREFLIGHTED)


class GraphQLMedia:
    """Pure ASGI around /graphql: negotiates once per request; every response below it
    (executed, cached, refused) leaves in the negotiated media type."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        media = negotiate(headers.get(b"accept", b"").decode("latin-1"))
        state = scope.setdefault("state", {})
        state[_MEDIA_KEY] = media

        async def negotiated(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *_with_media(message.get("headers", []), media),
                    (b"vary", b"Accept"),
                ]
                if message["status"] == 200 and state.get(_REQUEST_ERROR_KEY):
                    message["status"] = 400
            await send(message)

        if scope["method"] == "POST":
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if not _is_json(content_type) and not _is_preflighted_upload(scope):
                await _unsupported_media_type(content_type)(scope, receive, negotiated)
                return
        await self.app(scope, receive, negotiated)


def _with_media(headers: list[tuple[bytes, bytes]], media: str) -> list[tuple[bytes, bytes]]:
    """JSON bodies relabelled with the negotiated type (the body is the same JSON)."""
    if media == APPLICATION_JSON:
        return list(headers)
    relabelled = []
    for name, value in headers:
        if name.lower() == b"content-type" and value.startswith(APPLICATION_JSON.encode()):
            value = f"{media}; charset=utf-8".encode()
        relabelled.append((name, value))
    return relabelled


def shape_result(scope: Scope, data: Any, errors: list[Any] | None, body: dict[str, Any]) -> None:
    """Under graphql-response+json a request error has no ``data`` entry and a 400."""
    if answers_graphql_response_json(scope) and is_request_error(data, errors):
        mark_request_error(scope)
        body.pop("data", None)


def refusal(status: int, reason: str, code: str) -> JSONResponse:
    """A request refused before GraphQL ran: no ``data`` entry, a code, and for 405 the
    methods that would work (a mutation over GET: POST it)."""
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": code}}]},
        status_code=status,
        headers={"Allow": "POST"} if status == 405 else None,
    )
