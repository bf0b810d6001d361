"""The lean HTTP/1.1 client of the remote sources on a real socket: connections are kept
and reused, a connection the server closed while idle is replaced without failing the
call, and so is one closed just as the request left, chunked and closing answers parse, a
call cut off mid-answer closes its connection instead of leaving its answer for the next
call, and TLS verifies the service's certificate with the caller's context."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sources.common.http_pool import HTTPPool
from tests.remote import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return Response(body, headers={"x-seen": request.headers.get("x-tag", "")})

    async def chunked(_: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b'{"a":', b" 1", b"}"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    async def closing(_: Request) -> Response:
        return Response(b"bye", headers={"connection": "close"})

    async def slow(_: Request) -> Response:
        await asyncio.sleep(0.5)
        return Response(b"late")

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/chunked", chunked),
            Route("/closing", closing),
            Route("/slow", slow),
        ]
    )
    port = free_port()
    config = uvicorn.Config(app, port=port, log_level="warning", timeout_keep_alive=1)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


async def test_a_connection_is_kept_and_reused(server: str) -> None:
    pool = HTTPPool(server, headers={"x-tag": "fixed"})
    try:
        first = await pool.request("POST", "/echo", b"one")
        (kept,) = pool._idle
        second = await pool.request("POST", "/echo", b"two")
        assert pool._idle == [kept], "the same connection answered both"
    finally:
        await pool.aclose()
    assert (first.status_code, first.content) == (200, b"one")
    assert second.content == b"two" and second.headers[b"x-seen"] == b"fixed"


async def test_a_connection_the_server_closed_while_idle_is_replaced(server: str) -> None:
    pool = HTTPPool(server)
    try:
        await pool.request("POST", "/echo", b"one")
        (kept,) = pool._idle
        await asyncio.sleep(1.5)  # past the server's keep-alive timeout: it closed it
        again = await pool.request("POST", "/echo", b"two")
        assert again.content == b"two"
        assert kept.closed and pool._idle and pool._idle[0] is not kept
    finally:
        await pool.aclose()


async def test_a_stale_connection_not_yet_seen_closed_is_retried_on_a_new_one(
    server: str,
) -> None:
    pool = HTTPPool(server)
    try:
        await pool.request("POST", "/echo", b"one")
        (kept,) = pool._idle
        assert kept.transport is not None
        kept.transport.abort()  # as if the server closed it just as the request left
        kept.closed = False  # the loop has not told the pool yet
        again = await pool.request("POST", "/echo", b"two")
        assert again.content == b"two"
    finally:
        await pool.aclose()


async def test_a_connection_closed_as_the_request_left_is_retried_on_a_new_one() -> None:
    """The server answers the first request of each connection, then closes the connection
    when the second arrives, without answering: the race of an idle timeout."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the next request: closed unanswered
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    pool = HTTPPool(f"http://127.0.0.1:{port}")
    try:
        first = await pool.request("POST", "/echo", b"one")
        second = await pool.request("POST", "/echo", b"two")
    finally:
        await pool.aclose()
        listener.close()
    assert (first.content, second.content) == (b"one", b"two")
    assert connections == 2


async def test_chunked_and_closing_answers_parse(server: str) -> None:
    pool = HTTPPool(server)
    try:
        chunked = await pool.request("GET", "/chunked")
        closing = await pool.request("GET", "/closing")
        assert not pool._idle, "a connection the server said it closes is not kept"
        after = await pool.request("POST", "/echo", b"three")
    finally:
        await pool.aclose()
    assert chunked.json() == {"a": 1}
    assert closing.content == b"bye"
    assert after.content == b"three"


async def test_a_call_cut_off_mid_answer_closes_its_connection(server: str) -> None:
    pool = HTTPPool(server)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await pool.request("GET", "/slow")
        assert not pool._idle and not pool._busy
        assert (await pool.request("POST", "/echo", b"next")).content == b"next"
    finally:
        await pool.aclose()


async def test_nothing_listening_is_a_connection_error() -> None:
    pool = HTTPPool(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(OSError):
        await pool.request("POST", "/echo", b"x")
    await pool.aclose()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The echo service over TLS with a self-signed certificate for 127.0.0.1; yields the
    URL and the certificate's file (the CA to trust)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    where = tmp_path_factory.mktemp("tls")
    cert_file, key_file = where / "cert.pem", where / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    async def echo(request: Request) -> Response:
        return Response(await request.body())

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    port = free_port()
    config = uvicorn.Config(
        app, port=port, log_level="warning", ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )  # fmt: skip
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    yield f"https://127.0.0.1:{port}", str(cert_file)
    uv.should_exit = True
    thread.join(timeout=10)


async def test_tls_with_the_callers_context_and_verified(tls_server: tuple[str, str]) -> None:
    url, ca = tls_server
    pool = HTTPPool(url, ssl_context=ssl.create_default_context(cafile=ca))
    try:
        assert (await pool.request("POST", "/echo", b"secret")).content == b"secret"
    finally:
        await pool.aclose()
    untrusted = HTTPPool(url)  # the system's CAs: the self-signed certificate is refused
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusted.request("POST", "/echo", b"x")
    finally:
        await untrusted.aclose()
