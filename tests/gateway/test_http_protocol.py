"""gateway/http_protocol.py: the same bytes on the wire as uvicorn's httptools protocol,
the head and body of a response in one write."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from gateway.http_protocol import CoalescingHttpToolsProtocol, _HeadHolder, http_protocol
from tests.remote import free_port


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/stream":  # no Content-Length: chunked, several writes
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one", b"", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/fails-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("after the head")
    answer = b'{"echo": "' + body + b'", "path": "' + path.encode() + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def _serve(http: Any) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        _app, port=port, http=http, loop="uvloop", log_level="critical",
        server_header=False, date_header=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def uvicorn_port() -> Iterator[int]:
    yield from _serve("httptools")


@pytest.fixture(scope="module")
def coalescing_port() -> Iterator[int]:
    yield from _serve(CoalescingHttpToolsProtocol)


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


REQUESTS = {
    "post": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    ),
    "head": b"HEAD /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "empty": b"GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "stream": b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "pipelined": (
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    ),
    "http/1.0": b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n",
    "fails after the head": b"GET /fails-after-start HTTP/1.1\r\nHost: x\r\n\r\n",
    "100-continue": (
        b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
        b"Connection: close\r\n\r\nhi"
    ),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_bytes_on_the_wire_are_uvicorns(
    name: str, uvicorn_port: int, coalescing_port: int
) -> None:
    expected = _exchange(uvicorn_port, REQUESTS[name])
    assert expected.startswith(b"HTTP/1.1 ")
    assert _exchange(coalescing_port, REQUESTS[name]) == expected


class _Recorded:
    """A transport that records its writes (what the holder passes on, in order)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_the_head_goes_out_with_the_body_in_one_write() -> None:
    transport = _Recorded()
    holder = _HeadHolder(transport)  # type: ignore[arg-type]
    holder.holding = True
    holder.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert transport.writes == []
    holder.write(b"body")
    holder.flush()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert holder.is_closing() is False  # anything else is the transport's


def test_a_held_head_is_written_before_a_close() -> None:
    transport = _Recorded()
    holder = _HeadHolder(transport)  # type: ignore[arg-type]
    holder.holding = True
    holder.write(b"HTTP/1.1 200 OK\r\n\r\n")
    holder.close()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n"] and transport.closed


def test_one_write_per_response_on_a_live_connection() -> None:
    """Counted on the server's real transport: a keep-alive connection, two requests."""
    writes: list[bytes] = []

    class Counting(CoalescingHttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            original = transport.write

            class Spy:
                def __getattr__(self, name: str) -> Any:
                    return getattr(transport, name)

                def write(self, data: bytes) -> None:
                    writes.append(bytes(data))
                    original(data)

            super().connection_made(Spy())  # type: ignore[arg-type]

    serving = _serve(Counting)
    port = next(serving)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            stream = sock.makefile("rb")
            for path in (b"/one", b"/two"):
                sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                length = 0
                while (line := stream.readline()) != b"\r\n":
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                assert stream.read(length).endswith(b"}")
    finally:
        next(serving, None)
    assert len(writes) == 2
    assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") and w.endswith(b"}") for w in writes)


def test_gateway_serve_uses_it_when_httptools_is_installed() -> None:
    assert http_protocol() == "gateway.http_protocol:CoalescingHttpToolsProtocol"
