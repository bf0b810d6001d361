"""A lean HTTP/1.1 client for the gateway's calls to its source services.

A source call is a small POST to one known service, fourteen of them per checkout, so the
client's own work per request is what remote sources cost over embedded ones. httpx (its
URL and header models, httpcore's pool, h11's pure-Python parser, anyio's stream layers)
spent about a millisecond of CPU per call; this client writes the request bytes in one
go on an ``asyncio.Protocol`` and parses the answer with httptools (uvicorn's C parser,
already a dependency) on keep-alive connections, a fraction of that.

- **Pool.** Idle connections are reused last-in first-out; a connection the peer closed
  (an idle timeout on the service's side) is dropped as soon as the event loop sees its
  EOF. A request sent on a reused connection that dies before the first byte of its answer
  is sent once more on a new connection: the service may have closed it just as the
  request left (a read may repeat; a write carries its request key, so the service
  answers it once either way). The caller bounds concurrency (RemoteSource's semaphore),
  so the pool never holds more connections than that.
- **Time.** A connect timeout here; the caller's ``asyncio.timeout`` bounds the whole
  call. A request cancelled or timed out mid-flight closes its connection (its answer
  would otherwise arrive as the answer of the next request).
- **TLS** for ``https://`` URLs, with the caller's ``ssl.SSLContext``.
- Answers framed by Content-Length, chunked encoding or the connection's close all parse
  (httptools), so a proxy in between does not break the client.

Why not aiohttp's client (the maintained library with a C parser; measured 2026-12-05,
branch c15r, issue 15 item 7, in bench/RESULTS.md, "aiohttp's client against
http_pool.py"): with one ``ClientSession`` and ``TCPConnector`` per source,
``skip_auto_headers``, no cookies, no decompression, one session ``ClientTimeout``, bytes
bodies and its C parser in use, it spent 0.13 ms of client CPU per call against 0.04 ms
here (uvloop; 0.18 against 0.07 on asyncio's loop), 189 more Python function calls per call
(+2,650 per checkout, the remote checkout's calls from 1.11x to 1.22x of embedded), and
``python -m bench.remote_cprofile --backend sqlite`` put the remote checkout at a median
1.49x of embedded CPU against 1.33x here (13 alternated runs each, load average 4-6.4):
more than the 0.10 the project allows a library over hand-written code, next to a 1.5x
target this client meets. aiohttp stays the replacement if this client's upkeep costs more
than that: commit 630be3f has it, with tests/sources/test_source_http.py.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools
import msgspec


class ConnectionLost(ConnectionError):
    """The connection closed (or failed to parse) before the answer was complete."""


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    content: bytes
    headers: dict[bytes, bytes]

    def json(self) -> Any:
        return msgspec.json.decode(self.content)


class _Connection(asyncio.Protocol):
    __slots__ = ("answered", "chunks", "closed", "headers", "parser", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Reply] | None = None
        self.chunks: list[bytes] = []
        self.headers: dict[bytes, bytes] = {}
        self.closed = False
        self.answered = False  # bytes of the current answer arrived

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionLost(f"unparsable answer: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionLost(f"connection closed: {exc!r}" if exc else "connection closed"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        status = self.parser.get_status_code()
        if not self.parser.should_keep_alive():
            self.closed = True
        content = b"".join(self.chunks)
        self.waiter = None
        waiter.set_result(Reply(status, content, self.headers))

    # ours
    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.waiter = None

    def send(self, data: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self.chunks = []
        self.headers = {}
        self.answered = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class HTTPPool:
    """Keep-alive connections to one ``base_url`` (``http://`` or ``https://``)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float = 2.0,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 32,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._prefix = parts.path.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        fixed = {
            "host": parts.netloc.rsplit("@", 1)[-1],
            "user-agent": "gateway-source-client",
            **(headers or {}),
        }
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._connect_timeout_s = connect_timeout_s
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._busy: set[_Connection] = set()

    def _request_bytes(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None
    ) -> bytes:
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        if body or method == "POST":
            head += b"content-length: %d\r\n" % len(body)
        return head + b"\r\n" + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout_s):
            _, connection = await loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl else None,
            )
        return connection

    def _checkout(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request and its whole answer. Raises ``ConnectionLost``, ``OSError`` (the
        connect), ``TimeoutError`` (the connect timeout)."""
        data = self._request_bytes(method, path, body, headers)
        while True:
            connection = self._checkout()
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            self._busy.add(connection)
            try:
                reply = await connection.send(data)
            except ConnectionLost:
                connection.close()
                if reused and not connection.answered:
                    continue  # closed by the service while idle: once more, on a new one
                raise
            except BaseException:  # cancelled or timed out mid-flight: the answer is lost
                connection.close()
                raise
            finally:
                self._busy.discard(connection)
            if connection.closed or len(self._idle) >= self._max_idle:
                connection.close()
            else:
                self._idle.append(connection)
            return reply

    async def aclose(self) -> None:
        for connection in (*self._idle, *self._busy):
            connection.close()
        self._idle.clear()
        self._busy.clear()
