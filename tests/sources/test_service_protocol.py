"""The source services' protocol sends each answer in one write (service_protocol.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

from sources.common.service_protocol import _OneWrite
from tests.remote import free_port

ROOT = Path(__file__).resolve().parents[2]


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def writelines(self, data: list[bytes]) -> None:  # one write, as uvloop's writev
        self.write(b"".join(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


async def test_what_one_turn_writes_leaves_as_one_write() -> None:
    fake = FakeTransport()
    transport = _OneWrite(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert fake.writes == []
    await asyncio.sleep(0)
    assert fake.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert fake.writes[1:] == [b"next"]
    assert transport.get_extra_info("peername") == "info peername"  # the rest is forwarded


async def test_close_sends_what_was_kept_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    fake = FakeTransport()
    transport = _OneWrite(fake, loop)  # type: ignore[arg-type]
    transport.write(b"last answer")
    transport.close()
    assert fake.writes == [b"last answer"] and fake.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert fake.writes == [b"last answer"]

    fake = FakeTransport()
    transport = _OneWrite(fake, loop)  # type: ignore[arg-type]
    transport.write(b"lost")
    transport.abort()
    await asyncio.sleep(0)
    assert fake.writes == [] and fake.aborted


SERVER = """
import sys, uvicorn
from sources.common.service_protocol import SourceHTTPProtocol

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await receive()
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", http=%s)
"""


def test_an_answer_arrives_whole_in_the_first_read_on_a_keep_alive_connection() -> None:
    """In a process of its own, so that the client reads while the service writes: with
    uvicorn's own protocol (``http="httptools"``) most first reads end after the head."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER % "SourceHTTPProtocol", str(port)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with client:
            for _ in range(40):
                client.sendall(b"POST /v1/x/y HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n{}")
                first = client.recv(65536)
                assert first.startswith(b"HTTP/1.1 200 OK\r\n")
                assert first.endswith(b'\r\n\r\n{"ok":true}')
    finally:
        server.terminate()
        server.wait(10)
