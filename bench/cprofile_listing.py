"""Where a signed-in listing's time goes, under cProfile (deterministic, every call).

``python -m bench.cprofile_listing [--caches on|off] [--requests N] [--query listing|personal]
[--top N] [--sort tottime|calls]``

The whole app in-process through httpx's ASGI transport, a customer's token on every
request, the bench shop (SQLite, 1,000 products). ``--caches on`` is the gateway as ``make
run`` starts it (in-process entity and response caches); ``off`` reaches the sources every
time. ``--query personal`` adds the customer's own ``viewer`` to the listing, so the response
cache cannot answer it (the entity cache still does). Prints the share of own time by
component (the same components as bench/profile.py) and the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import time
from collections import defaultdict
from collections.abc import Sequence

import httpx
import orjson

from gateway.app import create_app
from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from .profile import COMPONENTS
from .queries import LISTING, LISTING_PERSONAL
from .shop import prepare


def component(filename: str) -> str:
    path = filename.replace("\\", "/")
    for name, needles in COMPONENTS:
        if any(n in path for n in needles):
            return name
    if path.startswith("~") or path.startswith("<"):
        return "C builtins (orjson, base64, dict/list ops, sqlite3)"
    return "other"


def shares(stats: pstats.Stats) -> list[tuple[str, float]]:
    by: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        by[component(filename)] += tottime
    total = sum(by.values()) or 1.0
    return sorted(((k, v / total) for k, v in by.items()), key=lambda kv: -kv[1])


async def session(
    settings: Settings, body: bytes, token: str, requests: int
) -> tuple[float, cProfile.Profile]:
    app = create_app(settings)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    # CPU time, not wall time: on a shared machine, wall time charges other processes'
    # time slices to whatever function was running when this one was descheduled.
    profiler = cProfile.Profile(time.process_time)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def hit(n: int) -> None:
            for _ in range(n):
                response = await client.post("/graphql", content=body, headers=headers)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(f"listing failed: {response.text[:300]}")

        async with app.router.lifespan_context(app):
            await hit(10)
            started = time.process_time()
            await hit(requests)
            plain = time.process_time() - started
            profiler.enable()
            await hit(requests)
            profiler.disable()
    return plain, profiler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cprofile_listing")
    parser.add_argument("--caches", choices=("on", "off"), default="on")
    parser.add_argument("--query", choices=("listing", "personal"), default="listing")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--top", type=int, default=30)
    # calls: the deterministic order (CPU time on a shared machine is not).
    parser.add_argument("--sort", choices=("tottime", "calls"), default="tottime")
    parser.add_argument("--dump", default=None, metavar="PATH", help="save the profile there")
    args = parser.parse_args(argv)
    on = args.caches == "on"
    os.environ["CACHE_ENABLED"] = str(on).lower()
    os.environ["RESPONSE_CACHE_ENABLED"] = str(on).lower()
    shop = asyncio.run(prepare("sqlite", args.products))
    values = {f"{name}_database_url": url for name, url in shop.urls.items()}
    settings = Settings(**values, log_level="WARNING", log_format="console")  # type: ignore[arg-type]
    token = issue_token(settings, kind=ViewerKind.CUSTOMER, subject="1")
    query = LISTING if args.query == "listing" else LISTING_PERSONAL
    body = orjson.dumps({"query": query})
    plain, profiler = asyncio.run(session(settings, body, token, args.requests))
    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)  # for pstats' callers and callees
    print(
        f"signed-in {args.query}, caches {args.caches}: {plain / args.requests * 1000:.2f} ms "
        f"of CPU per request without the profiler ({args.requests} requests, client included)"
    )
    print("\nown time by component:")
    for name, share in shares(stats):
        print(f"  {share:6.1%}  {name}")
    print()
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
