"""The remote sources' HTTP client (aiohttp, configured in source_http.py) on a real
socket: connections are kept and reused, a connection the server closed while idle is
replaced without failing the call, one closed just as the request left is retried on a
new one, chunked and closing answers parse, a call cut off mid-answer closes its
connection instead of leaving its answer for the next call, and the fixed headers go
along without the ones aiohttp would add."""

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
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sources.common.source_http import Reply, SourceHTTP
from tests.remote import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    async def echo(request: Request) -> Response:
        body = await request.body()
        assert request.client is not None
        return Response(
            body,
            headers={
                "x-seen": request.headers.get("x-tag", ""),
                "x-port": str(request.client.port),  # which connection carried it
            },
        )

    async def headers(request: Request) -> Response:
        return JSONResponse(dict(request.headers))

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
            Route("/headers", headers, methods=["POST"]),
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


def port(reply: Reply) -> str:
    """The client's port the server saw: which connection carried the call."""
    return reply.headers["x-port"]


async def test_a_connection_is_kept_and_reused(server: str) -> None:
    http = SourceHTTP(server, headers={"x-tag": "fixed"})
    try:
        first = await http.request("POST", "/echo", b"one", {"x-tag": "per call"})
        second = await http.request("POST", "/echo", b"two")
        third = await http.request("POST", "/echo", b"three")
        seen = await http.request("POST", "/headers", b"{}")
    finally:
        await http.aclose()
    assert (first.status_code, first.content) == (200, b"one")
    assert second.content == b"two"
    sent = seen.json()
    assert first.headers["x-seen"] == "per call" and second.headers["x-seen"] == "fixed"
    assert sent["x-tag"] == "fixed"
    assert sent["user-agent"] == "gateway-source-client"
    assert "accept" not in sent and "accept-encoding" not in sent
    assert port(first) == port(second) == port(third), "the same connection answered all"


async def test_a_connection_the_server_closed_while_idle_is_replaced(server: str) -> None:
    http = SourceHTTP(server)
    try:
        first = await http.request("POST", "/echo", b"one")
        await asyncio.sleep(1.5)  # past the server's keep-alive timeout: it closed it
        again = await http.request("POST", "/echo", b"two")
    finally:
        await http.aclose()
    assert again.content == b"two"
    assert port(again) != port(first)


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
    http = SourceHTTP(f"http://127.0.0.1:{port}")
    try:
        first = await http.request("POST", "/echo", b"one")
        second = await http.request("POST", "/echo", b"two")
    finally:
        await http.aclose()
        listener.close()
    assert (first.content, second.content) == (b"one", b"two")
    assert connections == 2


async def test_chunked_and_closing_answers_parse(server: str) -> None:
    http = SourceHTTP(server)
    try:
        chunked = await http.request("GET", "/chunked")
        closing = await http.request("GET", "/closing")
        after = await http.request("POST", "/echo", b"three")
    finally:
        await http.aclose()
    assert chunked.json() == {"a": 1}
    assert closing.content == b"bye"
    assert after.content == b"three"


async def test_a_call_cut_off_mid_answer_closes_its_connection(server: str) -> None:
    http = SourceHTTP(server)
    try:
        before = await http.request("POST", "/echo", b"first")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await http.request("GET", "/slow")  # on the connection of "first"
        after = await http.request("POST", "/echo", b"next")
    finally:
        await http.aclose()
    assert after.content == b"next"
    assert port(after) != port(before), "the late answer's connection was not reused"


async def test_nothing_listening_is_a_connection_error() -> None:
    http = SourceHTTP(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(OSError):
        await http.request("POST", "/echo", b"x")
    await http.aclose()


def test_the_parser_is_aiohttp_c_one() -> None:
    from aiohttp import http_parser

    assert http_parser.HttpResponseParser.__module__ == "aiohttp._http_parser"


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
    http = SourceHTTP(url, ssl_context=ssl.create_default_context(cafile=ca))
    try:
        assert (await http.request("POST", "/echo", b"secret")).content == b"secret"
    finally:
        await http.aclose()
    untrusted = SourceHTTP(url)  # the system's CAs: the self-signed certificate is refused
    try:
        with pytest.raises(OSError, match="certificate"):
            await untrusted.request("POST", "/echo", b"x")
    finally:
        await untrusted.aclose()
