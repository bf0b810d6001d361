"""The load generator's GraphQL client: keep-alive HTTP/1.1 on the gateway's own lean pool.

Why not httpx: the checkout bench runs its buyers on the same two cores as the server and
the database, so whatever the client spends is taken from the gateway. httpx spent about
1.1 ms of CPU per request (3.3 ms per checkout of three requests, 03:43 UTC 2026-12-05,
`python -m bench.checkout`, its "client" figure), a seventh of the machine at 70 orders/s;
sources/common/http_pool.py (httptools' C parser on an ``asyncio.Protocol``, the client the
gateway uses for remote sources) with msgspec for the JSON does the same work for a
fraction of that. The figures the bench prints (server CPU, latency) are unchanged in
meaning; only less of the machine goes to the load generator.

``run`` runs a coroutine on uvloop, as the server does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import msgspec
import uvloop

from sources.common.http_pool import HTTPPool, Reply

T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class GraphQLClient:
    """POSTs GraphQL to ``base_url`` + ``/graphql`` on keep-alive connections.

    ``idle`` bounds the connections kept between requests (the buyers in flight bound the
    open ones). Connections are dropped as soon as the server closes them (uvicorn's
    keep-alive timeout); a request sent on one the server closed before answering is sent
    again once, on a new connection (http_pool)."""

    def __init__(self, base_url: str, *, idle: int = 64, timeout_s: float = 60.0) -> None:
        self.pool = HTTPPool(base_url, headers={"content-type": "application/json"}, max_idle=idle)
        self.timeout_s = timeout_s

    async def request(
        self, method: str, path: str, body: bytes = b"", token: str = "", request_id: str = ""
    ) -> Reply:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if request_id:  # the server logs it: a bench joins its own clock to the server's
            headers["x-request-id"] = request_id
        async with asyncio.timeout(self.timeout_s):
            return await self.pool.request(method, path, body, headers or None)

    async def post(
        self, query: str, variables: dict[str, Any], token: str = "", request_id: str = ""
    ) -> tuple[int, Any]:
        """(HTTP status, the decoded body, or None when it is not JSON)."""
        body = _encode({"query": query, "variables": variables})
        reply = await self.request("POST", "/graphql", body, token, request_id)
        try:
            return reply.status_code, _decode(reply.content)
        except msgspec.DecodeError:
            return reply.status_code, None

    async def get_text(self, path: str) -> str:
        return (await self.request("GET", path)).content.decode()

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
