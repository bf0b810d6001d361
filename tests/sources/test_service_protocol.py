"""The source services' protocol sends each answer in one write, and answers the calls without
uvicorn's ASGI cycle (service_protocol.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sources.common.service_protocol import _OneWrite
from tests.migrated import orders_with_one_customer
from tests.remote import SECRET, free_port, source_service

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


def _read_answers(client: socket.socket, count: int) -> list[bytes]:
    """``count`` whole answers (each framed by its content-length) from ``client``."""
    data = b""
    answers: list[bytes] = []
    while len(answers) < count:
        chunk = client.recv(65536)
        assert chunk, f"closed after {len(answers)} answers: {data!r}"
        data += chunk
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(rest) < length:
                break
            answers.append(head + b"\r\n\r\n" + rest[:length])
            data = rest[length:]
    assert data == b""
    return answers


def _post(path: str, body: bytes, *, secret: str = SECRET, extra: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {secret}\r\n".encode()
        + extra
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


CUSTOMER_1 = b'{"1":{"id":1,"email":"c1@example.com","name":"C1","is_blocked":false}}'
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_calls_are_answered_by_the_protocol_itself_keep_alive_and_pipelined(
    tmp_path: Path,
) -> None:
    """A call goes to its endpoint without uvicorn's ASGI cycle (SourceApp.direct): the
    answer is the status line, three headers and the body, in one write; the connection
    stays open for the next call; calls pipelined on it are answered in order; a wrong
    secret is a 401; anything else (a query string, /healthz) still goes through the app."""
    with source_service("orders", orders_with_one_customer(tmp_path, NOW)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            body = b'{"ids":[1]}'
            for n in range(3):
                client.sendall(
                    _post("/v1/orders/customers_by_ids", body, extra=b"x-request-id: r-%d\r\n" % n)
                )
                (answer,) = _read_answers(client, 1)
                assert answer == (
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nx-request-id: r-%d\r\n\r\n"
                    % (len(CUSTOMER_1), n)
                    + CUSTOMER_1
                )
            pipelined = [
                _post("/v1/orders/customers_by_ids", body, extra=b"x-request-id: p-1\r\n"),
                _post("/v1/orders/customers_by_ids", b'{"ids":[]}', extra=b"x-request-id: p-2\r\n"),
                _post("/v1/orders/customers_by_ids", body, secret="not-the-secret-at-all"),
                _post("/v1/orders/customers_by_ids?q=1", body, extra=b"x-request-id: p-4\r\n"),
                b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n",
            ]
            client.sendall(b"".join(pipelined))
            first, second, refused, asgi, health = _read_answers(client, 5)
            assert b"x-request-id: p-1\r\n" in first and first.endswith(CUSTOMER_1)
            assert b"x-request-id: p-2\r\n" in second and second.endswith(b"\r\n\r\n{}")
            assert refused.startswith(b"HTTP/1.1 401 ")
            assert b'"Unauthorized"' in refused
            assert b"x-request-id: " in refused  # a new one: the caller sent none
            assert asgi.startswith(b"HTTP/1.1 200 OK\r\n") and asgi.endswith(CUSTOMER_1)
            assert b"x-request-id: p-4\r\n" in asgi
            assert health.startswith(b"HTTP/1.1 200 OK\r\n") and b'"orders"' in health


def test_a_call_asking_to_close_is_answered_then_closed(tmp_path: Path) -> None:
    with source_service("orders", orders_with_one_customer(tmp_path, NOW)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                _post("/v1/orders/customers_by_ids", b'{"ids":[1]}', extra=b"connection: close\r\n")
            )
            (answer,) = _read_answers(client, 1)
            assert b"connection: close\r\n" in answer and answer.endswith(CUSTOMER_1)
            assert client.recv(100) == b""  # closed by the service


def test_a_call_without_the_secret_is_refused_before_its_body_arrives(tmp_path: Path) -> None:
    """A stranger announcing a large body gets its 401 at once: the service does not wait
    for (and hold) a body it would refuse."""
    with source_service("orders", orders_with_one_customer(tmp_path, NOW)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(
                b"POST /v1/orders/customers_by_ids HTTP/1.1\r\nhost: t\r\n"
                b"authorization: Bearer not-the-secret-at-all\r\n"
                b"content-length: 50000000\r\n\r\n" + b"{" * 1000
            )
            (answer,) = _read_answers(client, 1)  # within the socket's 5 s, not 50 MB later
            assert answer.startswith(b"HTTP/1.1 401 ") and b'"Unauthorized"' in answer
