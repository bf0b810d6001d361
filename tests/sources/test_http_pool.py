"""The lean HTTP/1.1 client of the remote sources on a real socket: connections are kept
and reused, a connection the server closed while idle is replaced without failing the
call, chunked and closing answers parse, and a call cut off mid-answer closes its
connection instead of leaving its answer for the next call."""

from __future__ import annotations

import asyncio
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
