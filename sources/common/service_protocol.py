"""The source services' HTTP protocol: uvicorn's httptools protocol, each answer in one write,
and the calls themselves answered without an ASGI cycle.

uvicorn writes an answer's status line and headers when the app sends
``http.response.start`` and its body when it sends ``http.response.body``: two writes, so
on loopback (TCP_NODELAY) two segments, and the gateway, woken by the first, often runs
its event loop once for the head and is woken again for the body (1.75 segments per
answer measured on one keep-alive connection). Between processes a wake-up costs more
CPU than the parsing around it, and a checkout makes 14 source calls. Here the transport
the protocol writes to keeps what one turn of the event loop writes and sends it at the
end of that turn: one write, one segment, one wake-up per answer.

A call (``POST /v1/<source>/<method>``, one of ``SourceApp.direct``'s paths, while the app
has no middleware) skips the ASGI cycle too: uvicorn's cycle per request (a
``RequestResponseCycle`` and its ``asyncio.Event``, the scope's ``receive`` and ``send``
messages, each answer header checked by regex, the write deferred to the end of the
loop's turn) was 82 Python function calls per call, 51 without it; the service's CPU per
call on loopback, one call a millisecond, 18 us less (median of 9 alternated pairs, 70-146
us per call on a loaded machine; 2026-12-06, branch h15r, bench/RESULTS.md, "The services'
HTTP work and wake-ups"). The protocol hands the request's headers and whole body to the
call and writes its answer (status line, three headers, body) in one ``write``; uvicorn's
own code still does everything around it (parsing, keep-alive and its timeout, flow
control, pipelining: a request that arrives while a call runs waits for it, as uvicorn's
cycles do; a graceful shutdown lets a running call answer, with ``connection: close``). Any
other request (``/healthz``, ``/readyz``, a query string, an unknown path, middleware added
for tracing, an access log asked for) goes through uvicorn's cycle and the ASGI app as
before.

Nothing else of uvicorn changes (keep-alive, flow control, limits, shutdown): the
transport it is given forwards everything but ``write``, ``close`` and ``abort``, and
``close`` sends what is kept first. It leans on ``HttpToolsProtocol``'s per-request
attributes (``url``, ``headers``, ``cycle``, ``tasks``, ``on_response_complete``), pinned
by uv.lock (uvicorn 0.54) and tested by tests/sources/test_service_protocol.py.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
)

if TYPE_CHECKING:
    from .service import Direct


class _OneWrite:
    """A transport whose writes within one turn of the event loop leave as one."""

    __slots__ = ("_kept", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._kept:
            self._loop.call_soon(self._flush)
        self._kept.append(data)

    def _flush(self) -> None:
        kept = self._kept
        if not kept:
            return
        self._kept = []
        if self._transport.is_closing():
            return
        if len(kept) == 1:
            self._transport.write(kept[0])
        else:  # one writev on uvloop: the body is not copied behind the head
            self._transport.writelines(kept)

    def write_now(self, data: bytes) -> None:
        """``data`` at once, behind anything kept (one write: the answers of calls)."""
        kept = self._kept
        if kept:
            self._kept = []
            kept.append(data)
            if not self._transport.is_closing():
                self._transport.writelines(kept)
            return
        self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._kept = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Call:
    """A call in flight, where uvicorn's protocol expects its cycle (``self.cycle``): what
    ``connection_lost``, ``shutdown`` and the next request's ``on_headers_complete`` read
    and set."""

    __slots__ = ("disconnected", "keep_alive", "response_complete")

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self.disconnected = False
        self.response_complete = False

    @property
    def message_event(self) -> _Call:  # connection_lost wakes the cycle's receive()
        return self

    def set(self) -> None:
        """Nothing waits: the call has its whole body."""


_HEAD = b"content-type: application/json\r\ncontent-length: %d\r\nx-request-id: %s\r\n"


class SourceHTTPProtocol(HttpToolsProtocol):
    """``uvicorn.run(app, http=SourceHTTPProtocol)``: answers in one write, and the calls
    answered without an ASGI cycle (module docstring)."""

    transport: _OneWrite  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        direct = getattr(app, "direct", None)
        usable = (
            not getattr(app, "user_middleware", True) and not self.root_path and not self.access_log
        )
        self._direct: dict[bytes, Direct] | None = direct if usable else None
        self._authorization: bytes = getattr(app, "authorization", b"")
        self._call: Direct | None = None
        self._chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWrite(transport, self.loop))  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._call = None

    def on_headers_complete(self) -> None:
        direct = self._direct
        if (
            direct is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.expect_100_continue
            and self.limit_concurrency is None
        ):
            call = direct.get(self.url)
            if (
                call is not None
                and self.parser.get_method() == b"POST"
                and not self.parser.should_upgrade()
                and self._authorized()
            ):
                self._call = call
                self._chunks = []
                keep_alive = (
                    self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                )
                self.cycle = _Call(keep_alive)  # type: ignore[assignment]
                return
        super().on_headers_complete()

    def _authorized(self) -> bool:
        """The request carries the service secret: a call without it goes uvicorn's way,
        where the app answers 401 before reading its body (flow-controlled), so a caller
        without the secret cannot make the service hold a body it sends."""
        expected = self._authorization
        for name, value in self.headers:
            if name == b"authorization":
                return hmac.compare_digest(value, expected)
        return False

    def on_body(self, body: bytes) -> None:
        if self._call is None:
            super().on_body(body)
        else:
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        call = self._call
        if call is None:
            super().on_message_complete()
            return
        self._call = None
        body = b"".join(self._chunks)
        self._chunks = []
        cycle: _Call = self.cycle  # type: ignore[assignment]
        task = self.loop.create_task(self._answer(call, cycle, self.headers, body))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _answer(
        self, call: Direct, cycle: _Call, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        try:
            (status, content), request_id = await call(headers, body)
        except BaseException:  # cancelled (a shutdown past its grace): no answer to send
            cycle.response_complete = True
            self.transport.close()
            raise
        if cycle.disconnected or self.transport.is_closing():  # nobody to answer
            return
        rid = request_id.encode("latin-1", "replace")
        if HEADER_VALUE_RE.search(rid):
            rid = uuid.uuid4().hex.encode()
        head = STATUS_LINE[status] + _HEAD % (len(content), rid)
        if not cycle.keep_alive:
            head += b"connection: close\r\n"
        self.transport.write_now(head + b"\r\n" + content)
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()
