"""A small caching reverse proxy, written for the tests, that behaves as a CDN edge does
with the headers the gateway sends: it keeps a GET response for its `s-maxage` (public
responses to requests without `Authorization` only), keyed by URL and `Accept-Encoding`,
indexes it by its `Surrogate-Key` tags, and drops every response carrying a tag that
`POST /purge {"tags": [...]}` names (the gateway's purge hook).

Its purge API can misbehave as a real one does: refuse the next purges (503), or hold
them unanswered until the test opens ``purge_gate``."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio.to_thread
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Entry:
    status: int
    headers: dict[str, str]
    body: bytes
    expires: float
    tags: set[str]


@dataclass
class EdgeCache:
    origin: str
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    purges: list[list[str]] = field(default_factory=list)  # the purges done
    purge_headers: list[dict[str, str]] = field(default_factory=list)
    purge_attempts: list[list[str]] = field(default_factory=list)  # every request, answered or not
    refuse_purges: int = 0  # answer this many of the next purge requests 503
    purge_gate: threading.Event = field(default_factory=threading.Event)
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.purge_gate.set()  # purges are answered at once unless a test holds them

    def purge(self, tags: list[str]) -> None:
        doomed = set(tags)
        with self.lock:
            self.purges.append(tags)
            for key in [k for k, e in self.entries.items() if e.tags & doomed]:
                del self.entries[key]

    def was_purged(self, tag: str) -> bool:
        with self.lock:
            return any(tag in tags for tags in self.purges)


def _s_maxage(cache_control: str) -> float | None:
    if "public" not in cache_control or "no-store" in cache_control:
        return None
    found = re.search(r"s-maxage=(\d+)", cache_control)
    return float(found.group(1)) if found else None


def proxy_app(edge: EdgeCache) -> Starlette:
    client = httpx.AsyncClient(base_url=edge.origin, timeout=30)

    async def purge(request: Request) -> Response:
        tags = [str(t) for t in (await request.json())["tags"]]
        with edge.lock:
            edge.purge_attempts.append(tags)
            refused = edge.refuse_purges > 0
            if refused:
                edge.refuse_purges -= 1
        await anyio.to_thread.run_sync(edge.purge_gate.wait, 60)
        if refused:
            return JSONResponse({"error": "try again"}, status_code=503)
        edge.purge_headers.append(dict(request.headers))
        edge.purge(tags)
        return JSONResponse({"purged": True})

    async def forward(request: Request) -> Response:
        url = f"{request.url.path}?{request.url.query}"
        key = (url, request.headers.get("accept-encoding", ""))
        cacheable = request.method == "GET" and "authorization" not in request.headers
        if cacheable:
            with edge.lock:
                entry = edge.entries.get(key)
                if entry is not None and entry.expires > time.monotonic():
                    edge.hits += 1
                    return Response(entry.body, entry.status, {**entry.headers, "x-edge": "HIT"})
        upstream = await client.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers={k: v for k, v in request.headers.items() if k not in HOP_BY_HOP},
        )
        body = upstream.content  # decoded by httpx: the client gets it uncompressed
        skip = HOP_BY_HOP | {"content-encoding"}
        headers = {k: v for k, v in upstream.headers.items() if k not in skip}
        ttl = _s_maxage(upstream.headers.get("cache-control", ""))
        if cacheable and upstream.status_code == 200 and ttl:
            tags = set(upstream.headers.get("surrogate-key", "").split())
            with edge.lock:
                edge.entries[key] = Entry(200, headers, body, time.monotonic() + ttl, tags)
        return Response(body, upstream.status_code, {**headers, "x-edge": "MISS"})

    return Starlette(
        routes=[
            Route("/purge", purge, methods=["POST"]),
            Route("/{path:path}", forward, methods=["GET", "POST"]),
        ]
    )


@contextmanager
def edge_proxy(port: int, origin: str) -> Iterator[EdgeCache]:
    """The proxy on ``port`` in front of ``origin`` (a live gateway's URL)."""
    edge = EdgeCache(origin)
    config = uvicorn.Config(proxy_app(edge), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="edge-proxy")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the edge proxy did not start")
        time.sleep(0.01)
    try:
        yield edge
    finally:
        edge.purge_gate.set()
        server.should_exit = True
        thread.join(timeout=10)
