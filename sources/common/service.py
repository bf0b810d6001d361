"""One source as an HTTP service: every method of its Protocol at ``POST /v1/<source>/<method>``.

The routes are built from the interface (see wire.py), so a method added to the Protocol is
served without a line here, and one whose types cannot travel stops the service at start.
A request's body is the JSON object of the method's arguments by name; a 200 answer is the
JSON of its result. A domain exception is a 409 with ``{"error": {"type": ...}}`` that the
client raises again as the same class; a body that does not decode is a 400, an unknown
method a 404, a missing or wrong ``Authorization: Bearer <service secret>`` a 401, and
a database that cannot serve a 503 saying whether that is lasting (outages.py), and
anything else a 500 that names the exception's class, never a stack trace.

Writes (methods not marked ``@read``) with an ``Idempotency-Key`` header are answered once
per key (request_keys.py). ``X-Request-ID`` is logged and echoed; a W3C ``traceparent``
continues the caller's trace when the service runs with tracing on (gateway/tracing).
``/healthz`` says the process is up; ``/readyz`` that its database answers.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .db import Database
from .db_state import database_state
from .outages import database_outage
from .request_keys import Claim, KeyedDatabase, Pending, RequestKeys, fingerprint
from .types import utcnow
from .wire import MethodSpec, encode, interface_methods, public_methods
from .wire_errors import UNAVAILABLE, ErrorCodec

log = logging.getLogger("sources.service")

DOMAIN_ERROR = 409
MAX_KEY_LENGTH = 128
FORGET_EVERY = 1000

Answer = tuple[int, bytes]
# A call as the service's HTTP protocol makes it: the request's headers and whole body in,
# the answer and the request id out (service_protocol.py).
Direct = Callable[[list[tuple[bytes, bytes]], bytes], Awaitable[tuple[Answer, str]]]


def _error(status: int, kind: str, message: str) -> Answer:
    return status, encode({"error": {"type": kind, "message": message}})


def _failed(exc: Exception) -> Answer:
    """A call that failed for no domain reason. When the database is the cause, a 503
    that says whether it is lasting (missing, refusing our credentials), so the caller
    can tell a buyer "try again" only when that may help; else a 500. Either way only the
    exception's class travels: the driver's words (hosts, databases, roles) stay in the
    log."""
    outage, lasting = database_outage(exc)
    if outage:
        error = {"type": UNAVAILABLE, "message": type(exc).__name__, "lasting": lasting}
        return 503, encode({"error": error})
    return _error(500, "Internal", type(exc).__name__)


UNAUTHORIZED = _error(401, "Unauthorized", "missing or wrong service credentials")


def _picked(headers: list[tuple[bytes, bytes]], expected: bytes) -> tuple[bool, str | None, str]:
    """Whether the caller presented the service secret, the request key, the request id
    (a new one when the caller sent none), from the request's headers."""
    given = key = request_id = None
    for header, value in headers:
        if header == b"authorization":
            given = value
        elif header == b"x-request-id":
            request_id = value.decode("latin-1")
        elif header == b"idempotency-key":
            key = value.decode("latin-1")
    authorized = hmac.compare_digest(given or b"", expected)
    return authorized, key, request_id or uuid.uuid4().hex


class SourceApp(Starlette):
    """The service's Starlette app (its lifespan, probes, ``state``, and the middleware
    tracing adds), with a short way in for the calls themselves: while no middleware was
    added, ``POST /v1/<source>/<method>`` goes straight to its endpoint (a dict lookup)
    instead of through Starlette's error and exception middleware and a scan of every
    route, which cost more than the endpoint's own work on a small call."""

    calls: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]]
    # The same calls by raw path, for the service's HTTP protocol (service_protocol.py),
    # which answers them without an ASGI cycle while no middleware was added.
    direct: dict[bytes, Direct]
    # The ``authorization`` header a caller must send: the protocol takes a call its own
    # way only when the headers carry it, so a stranger's body is never buffered whole.
    authorization: bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware and scope["method"] == "POST":
            endpoint = self.calls.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _body(receive: Receive) -> bytes | None:
    """The request's body, or None when the caller went away before sending it all."""
    message = await receive()
    if message["type"] != "http.request":
        return None
    if not message.get("more_body", False):
        return bytes(message.get("body", b""))
    chunks = [message.get("body", b"")]
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def check_implementation(name: str, interface: type, implementation: object) -> None:
    """The store implements every interface method, and the interface declares every public
    method of the store (a store method missing from the Protocol would be silently local)."""
    declared = set(interface_methods(interface))
    present = public_methods(implementation)
    missing = sorted(declared - present)
    if missing:
        raise TypeError(f"{type(implementation).__name__} lacks {', '.join(missing)}")
    undeclared = sorted(present - declared)
    if undeclared:
        raise TypeError(
            f"{type(implementation).__name__} has public methods {', '.join(undeclared)} that "
            f"{interface.__name__} does not declare: add them to sources/{name}/api.py"
        )


def source_app(
    name: str,
    interface: type,
    errors: ErrorCodec,
    make_store: Callable[[Database], object],
    database_url: str,
    *,
    secret: str,
    pool_size: int = 10,
    latency_s: float = 0.0,
) -> Starlette:
    """The ASGI app serving one source over its own database (``latency_s``: the
    benchmarks' simulated database round trip, see Database)."""
    methods = interface_methods(interface)  # raises UnservableMethod now, not on a call
    # The same ceiling as an embedded source's pool (``pool_size`` kept and as many again
    # in overflow), but every connection kept once opened: a service's load is its
    # gateways' steady stream of calls, and an overflow connection closed at check-in was
    # opened again a few calls later (PostgreSQL: 1.1 connections opened per checkout at
    # 16 buyers with pool size 5, each a TLS probe, a startup and the dialect's set-up
    # queries in the service, and a backend started and ended by the server).
    db = KeyedDatabase(database_url, pool_size=2 * pool_size, overflow=0, latency_s=latency_s)
    store = make_store(db)
    check_implementation(name, interface, store)
    keys = RequestKeys(name, db)
    claims = 0

    expected = f"Bearer {secret}".encode()

    def endpoint(spec: MethodSpec) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        method: Callable[..., Awaitable[Any]] = getattr(store, spec.name)

        async def run(body: bytes) -> Answer:
            try:
                arguments = spec.decode_arguments(body)
            except msgspec.ValidationError as exc:
                return _error(400, "BadRequest", str(exc))
            except msgspec.DecodeError as exc:
                return _error(400, "BadRequest", str(exc))
            try:
                result = await method(**arguments)
            except Exception as exc:
                kind = errors.known(exc)
                if kind is None:
                    raise
                return DOMAIN_ERROR, encode({"error": errors.encode(exc, kind)})
            return 200, encode(result)

        async def answer(key: str | None, request_id: str, body: bytes) -> Answer:
            started = time.perf_counter()
            try:
                if spec.is_read or not key:
                    answer = await run(body)
                else:
                    answer = await run_once(key[:MAX_KEY_LENGTH], body, run)
            except Exception as exc:
                log.exception("%s.%s failed (request %s)", name, spec.name, request_id)
                answer = _failed(exc)
            else:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s.%s %s in %.1f ms (request %s)",
                        name,
                        spec.name,
                        answer[0],
                        (time.perf_counter() - started) * 1000,
                        request_id,
                    )
            return answer

        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            """A raw ASGI endpoint: the headers it needs picked from the list, the body
            read, the answer sent in two messages."""
            authorized, key, request_id = _picked(scope["headers"], expected)
            if not authorized:
                await _send(send, UNAUTHORIZED, request_id)
                return
            body = await _body(receive)
            if body is None:
                return  # the caller is gone: nobody to answer
            await _send(send, await answer(key, request_id, body), request_id)

        async def direct(headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[Answer, str]:
            """The same call as ``call``, for the service's HTTP protocol, which has the
            request's headers and whole body and writes the answer itself
            (service_protocol.py: no ASGI cycle, no messages)."""
            authorized, key, request_id = _picked(headers, expected)
            if not authorized:
                return UNAUTHORIZED, request_id
            return await answer(key, request_id, body), request_id

        calls_direct[f"/v1/{name}/{spec.name}".encode()] = direct

        async def run_once(
            key: str, body: bytes, run: Callable[[bytes], Awaitable[Answer]]
        ) -> Answer:
            """The write answered once per key: claimed by its own first write
            (request_keys.KeyedDatabase), its answer stored after it, or with its COMMIT
            when its transaction was left parked for it. A committed claim is
            never released: a call that fails after it wrote answers its failure to the
            key's retries, and one cancelled then (a shutdown) is taken over by a retry only
            after its lease (request_keys.LEASE)."""
            nonlocal claims
            claims += 1
            if claims % FORGET_EVERY == 0:  # keys past their retention, now and then
                await keys.forget_expired(utcnow())
            print_ = fingerprint(spec.name, body)
            pending = Pending(key, print_)
            try:
                status, content = await keys.running(pending, run(body))
                if pending.parked is not None and not pending.parked.committed:
                    await keys.answer(pending, status, content)  # its COMMIT carries it
                    return status, content
            except Exception as exc:
                if not pending.taken:
                    if not pending.claimed and not await keys.claimed_unanswered(pending):
                        raise  # nothing committed: a retry runs it again
                    # A write of this call committed with its key (or may have: its claim
                    # did), then the call failed: that failure is the key's answer,
                    # replayed to a retry instead of writing again.
                    log.exception("%s.%s failed after it wrote (key %s)", name, spec.name, key)
                    status, content = _failed(exc)
                    await keys.answer(pending, status, content)
                    return status, content
            else:
                if pending.taken:  # whatever the store made of KeyTaken: not an answer
                    pass
                elif pending.claimed:  # on its write's connection when one is held
                    await keys.answer(pending, status, content)
                    return status, content
                elif status == 400 or await keys.record(key, print_, status, content):
                    return status, content  # a bad body is not remembered
            return await answer_as_claimed(key, print_, body, run)

        async def answer_as_claimed(
            key: str, print_: str, body: bytes, run: Callable[[bytes], Awaitable[Answer]]
        ) -> Answer:
            """The key's row was there: answer as it says (the first attempt's answer, wait,
            refused), or run the write under a claim of its own when the row is ours now
            (forgotten meanwhile, or its attempt's lease ran out)."""
            claimed = await keys.claim(key, print_)
            if claimed.claim is Claim.REPLAY:
                return claimed.status, claimed.body
            if claimed.claim is Claim.BUSY:
                return 409, encode({"error": {"type": "InProgress", "message": key}})
            if claimed.claim is Claim.REUSED:
                return 422, encode({"error": {"type": "RequestKeyReused", "message": key}})
            try:
                status, content = await run(body)
            except BaseException:
                await keys.release(key)
                raise
            if status == 400:
                await keys.release(key)
            else:
                await keys.remember(key, status, content)
            return status, content

        return call

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "source": name})

    async def readyz(_: Request) -> Response:
        # Reachable is not enough: an empty or older database would fail every call.
        try:
            state = (await database_state(name, db)).readiness
        except Exception as exc:
            state = f"error: {type(exc).__name__}"
        if state != "ok":
            return JSONResponse(
                {"status": "unavailable", "source": name, "database": state}, status_code=503
            )
        return JSONResponse({"status": "ok", "source": name, "database": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await keys.create()
        await keys.forget_expired(utcnow())
        try:
            yield
        finally:
            await db.dispose()

    calls_direct: dict[bytes, Direct] = {}
    calls = {f"/v1/{name}/{spec.name}": endpoint(spec) for spec in methods.values()}
    # Starlette's routes too: with middleware added (tracing), calls go the long way,
    # and the tracing's span names come from these routes' paths.
    routes = [Route(path, _Endpoint(call), methods=["POST"]) for path, call in calls.items()]
    routes += [Route("/healthz", healthz), Route("/readyz", readyz)]
    app = SourceApp(routes=routes, lifespan=lifespan)
    app.calls = calls
    app.direct = calls_direct
    app.authorization = expected
    app.state.store = store
    app.state.db = db  # for instrumentation (tracing: a span per SQL statement)
    app.state.methods = methods
    return app


class _Endpoint:
    """A raw ASGI endpoint as a Starlette route's app (an object, not a function, so the
    route calls it with scope, receive and send instead of wrapping it in a Request)."""

    def __init__(self, call: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.call = call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.call(scope, receive, send)


async def _send(send: Send, answer: Answer, request_id: str) -> None:
    status, content = answer
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(content)),
                (b"x-request-id", request_id.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
