"""The signed-in listing, caches off: the gateway's CPU per request beside the same-source floor's.

``python -m bench.listing_floor_cpu [--backend sqlite|postgresql] [--rounds N] [--requests N]
[--concurrency N] [--profile PATH] [--only gateway|floor] [--also-env NAME=VALUE ...]
[--pool-size N]``

Both apps in this one process through httpx's ASGI transport (the same client cost on both
sides, no compression asked for, as the bench's load generator asks for none), with the
settings the bench gives its ``gateway`` variant (bench/servers.py: caches off, English
names), alternated round by round so that a shared machine's load falls on both alike:
each round sends ``--requests`` listings to the gateway (a customer's token) and as many
to bench/handwritten.py's ``/listing``, ``--concurrency`` at a time, and takes the
process's CPU time per request (the SQLite driver's threads included, on both sides).
Prints the medians and their ratio (floor ÷ gateway: the throughput ratio a CPU-bound
server would show). ``--also-env`` adds a second gateway with those settings changed to
the rotation (what a setting costs); ``--profile`` writes a cProfile of one more round of
the gateway there (and of the floor, ``PATH.floor``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import orjson

from gateway.app import create_app
from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from . import handwritten, servers
from .__main__ import first_difference
from .queries import LISTING
from .shop import prepare

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _round(client: httpx.AsyncClient, send: Send, requests: int, concurrency: int) -> float:
    async def worker(n: int) -> None:
        for _ in range(n):
            response = await send(client)
            if response.status_code != 200:
                raise RuntimeError(f"failed: {response.text[:300]}")

    share, extra = divmod(requests, concurrency)
    started = time.process_time()
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))
    return (time.process_time() - started) / requests * 1000


def _settings(urls: dict[str, str], extra: dict[str, str]) -> Settings:
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        values = {f"{name}_database_url": url for name, url in urls.items()}
        return Settings(**values, log_level="WARNING", log_format="console")  # type: ignore[arg-type]
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def measure(
    urls: dict[str, str],
    rounds: int,
    requests: int,
    concurrency: int,
    profile: str | None,
    only: str | None,
    also_env: dict[str, str],
) -> dict[str, list[float]]:
    settings = _settings(urls, {})
    token = issue_token(settings, kind=ViewerKind.CUSTOMER, subject="1")
    body = orjson.dumps({"query": LISTING})
    plain = {"Accept-Encoding": "identity"}
    headers = {**plain, "Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    async def graphql(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/graphql", content=body, headers=headers)

    async def floor(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/listing", headers=plain)

    apps: list[tuple[str, Any, Send]] = []
    if only != "floor":
        apps.append(("gateway", create_app(settings), graphql))
        if also_env:
            label = "gateway " + " ".join(f"{k}={v}" for k, v in also_env.items())
            apps.append((label, create_app(_settings(urls, also_env)), graphql))
    if only != "gateway":
        apps.append(("floor", handwritten.create_app(settings), floor))
    times: dict[str, list[float]] = {name: [] for name, _, _ in apps}
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for name, app, send in apps:
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://bench")
            await stack.enter_async_context(client)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append((name, client, send))
        answers = [orjson.loads((await send(client)).content) for _, client, send in clients]
        # As the served gateway does (gateway/asgi.py): the start-up heap out of the
        # collector's sight, the youngest generation collected at 10,000.
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        for (name, _, _), answer in zip(clients[1:], answers[1:], strict=True):
            where = first_difference(answers[0], answer)
            if where is not None:
                raise RuntimeError(f"{name} answers the listing differently, at {where}")
        for _, client, send in clients:  # warm-up
            await _round(client, send, requests, concurrency)
        for _ in range(rounds):
            for name, client, send in clients:
                times[name].append(await _round(client, send, requests, concurrency))
        if profile:  # one more round of each, not counted above
            for name, client, send in clients:
                path = profile if name == "gateway" else f"{profile}.{name.split()[0]}"
                if name not in ("gateway", "floor"):
                    continue
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                await _round(client, send, requests, concurrency)
                profiler.disable()
                profiler.dump_stats(path)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_floor_cpu")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--profile", default=None, metavar="PATH")
    parser.add_argument(
        "--only",
        choices=("gateway", "floor"),
        default=None,
        help="run one side only (for a sampling profiler such as py-spy)",
    )
    parser.add_argument("--also-env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="GATEWAY_DB_POOL_SIZE of both apps (lower it when PostgreSQL is short of slots)",
    )
    args = parser.parse_args(argv)
    # The bench's own settings for the gateway variant (bench/servers.py): caches off,
    # the breadth-first executor, English names (the floor's), its limits.
    for name in [n for n in os.environ if n.startswith(servers.SCRUBBED_PREFIXES)]:
        del os.environ[name]
    os.environ.update(servers.VARIANT_ENV["gateway"])
    os.environ.update(servers._LANGUAGE)
    os.environ.update(servers._LIMITS)
    if args.pool_size is not None:
        os.environ["GATEWAY_DB_POOL_SIZE"] = str(args.pool_size)
    also_env = dict(item.split("=", 1) for item in args.also_env)
    shop = asyncio.run(prepare(args.backend, args.products))
    times = asyncio.run(
        measure(
            shop.urls,
            args.rounds,
            args.requests,
            args.concurrency,
            args.profile,
            args.only,
            also_env,
        )
    )
    load = os.getloadavg()
    print(
        f"{args.backend}, c={args.concurrency}, {args.rounds} rounds x {args.requests} requests"
        f" (load {load[0]:.2f} {load[1]:.2f} at the end):"
    )
    medians = {name: statistics.median(ms) for name, ms in times.items()}
    for name, ms in times.items():
        rounds = " ".join(f"{x:.1f}" for x in ms)
        print(f"  {name:<10} {medians[name]:6.2f} ms CPU/request (rounds {rounds})")
    if "floor" in medians:
        for name, median in medians.items():
            if name != "floor":
                print(f"  floor / {name} = {medians['floor'] / median:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
