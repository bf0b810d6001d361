"""The HTTP adapter: a source's Protocol implemented by calls to its service.

``RemoteSource(interface, ...)`` gets one coroutine method per interface method, built
from the same specs the service routes by (wire.py), so an embedded store and a remote one
are interchangeable behind the Protocol, and ``count_calls`` counts each network call as
it counts each store call: one method call is one HTTP request (a loader batch stays one).

- one keep-alive pool per source (http_pool.py: HTTP/1.1, the request written in one go,
  the answer parsed by httptools; the bodies are small and many, where h2's framing costs
  more than it saves on loopback or a LAN, and httpx's layers cost more than the call);
- a timeout per call (the whole call: connect, send, answer), and at most ``concurrency``
  calls in flight per source (a semaphore in front of the pool, so a burst queues here);
- retries with exponential backoff and full jitter on transport errors and 502/503/504,
  except a 503 that says the service's database is missing or refuses it (``lasting``:
  a retry now cannot help). Reads retry freely. A write carries an ``Idempotency-Key``
  that its retries reuse, so the service answers a retried write with the answer it
  stored instead of writing twice; a write still running on the service (409 InProgress)
  is waited for the same way;
- the gateway's request id goes along as ``X-Request-ID``; with tracing on
  (``trace_with``), each call is a CLIENT span whose W3C ``traceparent`` goes along, so
  the service's spans join the gateway's trace.

Domain exceptions come back as their own class (wire_errors.py); anything else that fails
is a :class:`RemoteSourceError`.
"""

from __future__ import annotations

import asyncio
import functools
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .http_pool import ConnectionLost, HTTPPool, Reply
from .wire import MethodSpec, encode, interface_methods
from .wire_errors import UNAVAILABLE, ErrorCodec, RemoteSourceError

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider

RETRY_STATUSES = frozenset({502, 503, 504})
# What a call can fail with before the service answers: retried like a 502.
TRANSPORT_ERRORS = (ConnectionLost, OSError, TimeoutError)


def _no_request_id() -> str | None:
    return None


@functools.cache
def _tls() -> ssl.SSLContext:
    # One context per process: building one (and loading the CA bundle) costs more than a
    # hundred calls on loopback, and a gateway makes a client per source, tests one per test.
    return ssl.create_default_context()


class RemoteSource:
    """Implements ``interface`` over HTTP; cast it to the Protocol (see ``remote_source``)."""

    def __init__(
        self,
        source: str,
        interface: type,
        errors: ErrorCodec,
        base_url: str,
        *,
        secret: str,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.05,
        concurrency: int = 32,
        request_id: Callable[[], str | None] = _no_request_id,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self._errors = errors
        self._retries = retries
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._request_id = request_id
        self._slots = asyncio.Semaphore(concurrency)
        self._tracer: Tracer | None = None
        self._http = HTTPPool(
            self.base_url,
            headers={
                "authorization": f"Bearer {secret}",
                "content-type": "application/json",
            },
            connect_timeout_s=min(timeout_s, 2.0),
            ssl_context=_tls() if self.base_url.startswith("https:") else None,
            max_idle=concurrency,
        )
        self.service = ServiceHandle(self._http, timeout_s)
        for name, spec in interface_methods(interface).items():
            setattr(self, name, self._method(spec))

    def trace_with(self, provider: TracerProvider) -> None:
        """Tracing on: each HTTP call is a CLIENT span, and its context goes along as W3C
        ``traceparent`` so the service's server span is its child."""
        from opentelemetry import trace

        self._tracer = trace.get_tracer("sources.common.client", tracer_provider=provider)

    def _method(self, spec: MethodSpec) -> Callable[..., Awaitable[Any]]:
        path = f"/v1/{self.source}/{spec.name}"

        async def call(*args: Any, **kwargs: Any) -> Any:
            body = encode(spec.bind(args, kwargs))
            content = await self._post(path, body, is_read=spec.is_read)
            return spec.result.decode(content)

        call.__name__ = spec.name
        call.__qualname__ = f"RemoteSource.{spec.name}"
        return call

    async def _send(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        async with self._slots, asyncio.timeout(self._timeout_s):
            if self._tracer is None:
                return await self._http.request("POST", path, body, headers)
            return await self._traced(path, body, headers)

    async def _traced(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        from opentelemetry.propagate import inject
        from opentelemetry.trace import SpanKind, Status, StatusCode

        assert self._tracer is not None
        url = f"{self.base_url}{path}"
        attributes = {"http.request.method": "POST", "url.full": url}
        with self._tracer.start_as_current_span(
            "POST", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            inject(headers)
            reply = await self._http.request("POST", path, body, headers)
            span.set_attribute("http.response.status_code", reply.status_code)
            if reply.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return reply

    async def _post(self, path: str, body: bytes, *, is_read: bool) -> bytes:
        headers: dict[str, str] = {}
        request_id = self._request_id()
        if request_id:
            headers["x-request-id"] = request_id
        if not is_read:
            headers["idempotency-key"] = uuid.uuid4().hex
        attempt = 0
        # A write still running on the service (its first attempt timed out here) is waited
        # for, not counted as a failure, for as long as the attempts together may take.
        deadline = time.monotonic() + self._timeout_s * (self._retries + 1)
        while True:
            try:
                response = await self._send(path, body, headers)
            except TRANSPORT_ERRORS as exc:
                if attempt >= self._retries:
                    what = "Timeout" if isinstance(exc, TimeoutError) else repr(exc)
                    raise RemoteSourceError(self.source, f"{path}: {what}") from exc
                attempt += 1
            else:
                if response.status_code == 200:
                    return response.content
                if _in_progress(response) and time.monotonic() < deadline:
                    await asyncio.sleep(random.uniform(0, self._backoff_s * 4))
                    continue
                failure = self._failure(path, response)
                if (
                    response.status_code not in RETRY_STATUSES
                    or attempt >= self._retries
                    or getattr(failure, "lasting", False)  # a retry now cannot help
                ):
                    raise failure
                attempt += 1
            # Full jitter: a fleet of gateways retrying together does not stampede.
            await asyncio.sleep(random.uniform(0, self._backoff_s * 2**attempt))

    def _failure(self, path: str, response: Reply) -> Exception:
        try:
            error = msgspec.json.decode(response.content)["error"]
        except (msgspec.DecodeError, KeyError, TypeError):
            return RemoteSourceError(
                self.source, f"{path}: HTTP {response.status_code}", status=response.status_code
            )
        if response.status_code == 409 and error.get("type") != "InProgress":
            return self._errors.decode(self.source, error)
        return RemoteSourceError(
            self.source,
            f"{path}: HTTP {response.status_code} {error.get('type')}: {error.get('message')}",
            status=response.status_code,
            lasting=error.get("type") == UNAVAILABLE and error.get("lasting") is True,
        )


class ServiceHandle:
    """What the gateway itself asks of a source's service beside the interface (kept off
    RemoteSource, whose public methods are exactly the interface's: count_calls counts
    every one of them as a source call)."""

    def __init__(self, http: HTTPPool, timeout_s: float) -> None:
        self._http = http
        self._timeout_s = timeout_s

    async def readiness(self) -> str:
        """ "ok" when the service and its database answer, else why not."""
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.request("GET", "/readyz")
        except TRANSPORT_ERRORS as exc:
            return f"error: {type(exc).__name__}"
        if response.status_code != 200:
            try:
                said = response.json().get("database")
            except (msgspec.DecodeError, AttributeError):
                said = None
            return said if isinstance(said, str) and said else f"error: HTTP {response.status_code}"
        return "ok"

    async def close(self) -> None:
        await self._http.aclose()


def _in_progress(response: Reply) -> bool:
    return response.status_code == 409 and b'"InProgress"' in response.content
