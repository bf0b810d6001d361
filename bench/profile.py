"""Where the gateway's time goes: the listing query in-process under pyinstrument.

The app is called through httpx's ASGITransport (no sockets, no uvicorn), so the profile
holds the gateway's own work plus the in-process client's; the summary splits self time by
component so the client's share can be read off and ignored.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from pyinstrument import Profiler
from pyinstrument.frame import Frame

from gateway.app import create_app
from gateway.settings import Settings

from .queries import SCENARIOS
from .shop import Shop

IDLE = "loop idle or in C (waiting for DB threads / sockets; uvloop)"

# First match wins: (component, substrings of the file path).
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("graphql-core (validation, execution)", ("/graphql/",)),
    ("strawberry (schema glue, field resolution)", ("/strawberry/",)),
    ("aiodataloader", ("/aiodataloader",)),
    ("SQLAlchemy (compile, execute, rows)", ("/sqlalchemy/",)),
    ("DB driver (aiosqlite / asyncpg)", ("/aiosqlite/", "/asyncpg/", "sqlite3")),
    (
        "breadth-first executor (gateway/execution/executor.py, plan.py)",
        (
            "/gateway/execution/executor.py",
            "/gateway/execution/plan.py",
        ),
    ),
    ("batch forms (gateway/execution/catalog_batches.py)", ("/gateway/execution/catalog_",)),
    ("schema objects (gateway/schema: from_record, Money.of, ids)", ("/gateway/schema/",)),
    ("gateway code (resolvers, loaders, app)", ("/gateway/",)),
    ("sources code (stores, records)", ("/sources/",)),
    ("prometheus / structlog", ("/prometheus_client/", "/structlog/")),
    ("Starlette", ("/starlette/",)),
    ("in-process client (httpx)", ("/httpx/", "/httpcore/", "/anyio/", "/bench/")),
    ("event loop (asyncio)", ("/asyncio/", "uvloop")),
    ("JSON, decimal, dataclasses, other stdlib", ("/json/", "decimal", "dataclasses", "orjson")),
)


@dataclass
class ProfileResult:
    requests: int
    seconds: float  # under the profiler
    plain_seconds: float  # the same requests without it
    tree: str
    flat: str
    components: list[tuple[str, float]]  # (component, share of sampled self time)
    html_path: Path

    @property
    def ms_per_request(self) -> float:
        return self.seconds / self.requests * 1000

    @property
    def plain_ms_per_request(self) -> float:
        return self.plain_seconds / self.requests * 1000


def component_of(frame: Frame) -> str:
    if frame.identifier.startswith("[await]"):
        return IDLE
    path = (frame.file_path or "").replace("\\", "/")
    synthetic = frame.identifier.startswith("[self]") or path.startswith("<") or not path
    if synthetic and frame.parent is not None:
        # Self time, or a builtin written in C: charge it to the Python code that called it.
        return component_of(frame.parent)
    if path.endswith("asyncio/runners.py") or path.endswith("/selectors.py"):
        # Samples whose deepest Python frame is the loop's entry: the loop (uvloop, in C)
        # is idle waiting for sockets or the database threads, or doing its own work.
        return IDLE
    for name, needles in COMPONENTS:
        if any(n in path for n in needles):
            return name
    if "/python3" in path and "site-packages" not in path:
        return "JSON, decimal, dataclasses, other stdlib"
    return "other"


def components(root: Frame) -> list[tuple[str, float]]:
    """Sampled time by component of the innermost Python frame, as shares of the total."""
    totals: dict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        own = frame.time - sum(c.time for c in frame.children)
        if own > 0:
            totals[component_of(frame)] += own
    total = sum(totals.values()) or 1.0
    return sorted(((k, v / total) for k, v in totals.items()), key=lambda kv: -kv[1])


def _head(text: str, lines: int, *, drop_idle: bool = False) -> str:
    """The first ``lines`` lines of a pyinstrument report, without its banner (and with
    ``drop_idle``, without the loop's idle time: uvloop waits in C, under asyncio's
    runner)."""
    kept = text.splitlines()
    for i, line in enumerate(kept):
        if line.startswith("Profile at"):
            kept = kept[i + 1 :]
            break
    kept = [
        line for line in kept if line.strip() and not (drop_idle and "asyncio/runners.py" in line)
    ]
    return "\n".join(kept[:lines]) + ("\n  …" if len(kept) > lines else "")


def _run(coro_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro_factory())
    except ImportError:
        return asyncio.run(coro_factory())


def profile_listing(
    shop: Shop, *, requests: int, html_path: Path, tree_lines: int = 60
) -> ProfileResult:
    # The gateway's own work, not its caches': the same settings as the "gateway" variant.
    os.environ["CACHE_ENABLED"] = "false"
    os.environ["RESPONSE_CACHE_ENABLED"] = "false"
    values: dict[str, Any] = {f"{name}_database_url": url for name, url in shop.urls.items()}
    settings = Settings(**values, log_level="WARNING", log_format="console")
    app = create_app(settings)
    body = orjson.dumps({"query": SCENARIOS["listing"].query, "variables": {}})
    headers = {"Content-Type": "application/json"}

    async def hit(client: httpx.AsyncClient, n: int) -> None:
        for _ in range(n):
            response = await client.post("/graphql", content=body, headers=headers)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"profile: listing failed: {response.text[:500]}")

    timings: dict[str, float] = {}

    async def session() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await hit(client, 10)  # warm caches (compiled SQL, parsed documents)
            started = time.perf_counter()
            await hit(client, requests)
            timings["plain"] = time.perf_counter() - started
            profiler.start()
            started = time.perf_counter()
            await hit(client, requests)
            elapsed = time.perf_counter() - started
            profiler.stop()
        await app.state.sources.close()
        return elapsed

    # Sample the whole thread (not one task's context), so loader batches scheduled on
    # the loop and the loop's own work show up where they happen.
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    seconds = _run(session)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    profiler.write_html(html_path)
    session_data = profiler.last_session
    assert session_data is not None
    root = session_data.root_frame()
    return ProfileResult(
        requests=requests,
        seconds=seconds,
        plain_seconds=timings["plain"],
        tree=_head(profiler.output_text(unicode=True, color=False), tree_lines),
        flat=_head(profiler.output_text(unicode=True, color=False, flat=True), 25, drop_idle=True),
        components=components(root) if root is not None else [],
        html_path=html_path,
    )
