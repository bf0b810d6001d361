"""One HTTP request handed straight to an ASGI app, without a server or a socket.

Why: the instruction-count tools (bench.listing_instructions, bench.checkout_instructions)
measure the gateway's own work per request under callgrind; uvicorn, the kernel and a
client would be counted beside it and move with the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

ASGIApp = Callable[..., Awaitable[None]]


@dataclass
class Reply:
    status: int = 0
    chunks: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def request(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[Awaitable[None], Reply]:
    """The app's call for one request (to await, or to step) and the reply it fills in."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
    }
    reply = Reply()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
        elif message["type"] == "http.response.body":
            reply.chunks.append(message.get("body", b""))

    return app(scope, receive, send), reply
