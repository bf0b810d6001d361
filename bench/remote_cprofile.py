"""Where a remote checkout's extra CPU goes: the gateway and its four source services in
ONE process (the services under uvicorn on loopback ports, the gateway through httpx's
ASGITransport as in bench.checkout_cprofile), so one clock, ``time.process_time``, sees
every side of each source call; the same checkouts embedded for the ratio.

``python -m bench.remote_cprofile --backend sqlite --checkouts 40 [--profile
[--profile-embedded]]``

Without ``--profile``: CPU ms per checkout, embedded and remote, alternated ``--rounds``
times (the machine is shared: read the medians). With it: cProfile of the remote
checkouts, grouped by component, and the top functions. One process is not the
deployment (five processes, five event loops), but each source call pays the same
client, server and serialization work; what one process saves is the loopback wake-ups
between processes, which bench.checkout's all-processes figure includes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from gateway.app import create_app
from gateway.auth import ViewerKind, issue_token
from gateway.remote_settings import RemoteSettings
from gateway.settings import SOURCE_NAMES, Settings
from gateway.source_service import build_source_app
from sources.common.service_protocol import SourceHTTPProtocol

from .checkout import prepare_shop
from .checkout_cprofile import component
from .checkout_profile import one_checkout, source_call_counts
from .profile import _run
from .servers import free_port

SECRET = "remote-cprofile-secret-0123456789"


@asynccontextmanager
async def source_services(
    urls: dict[str, str], prepare: Callable[[Any], None] | None = None
) -> AsyncIterator[dict[str, str]]:
    """The four services on loopback in this event loop; yields name -> base URL.
    ``prepare`` sees each service's app before it serves (bench.remote_statements wraps
    its calls)."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    where: dict[str, str] = {}
    try:
        for name in SOURCE_NAMES:
            settings = Settings(
                **{f"{name}_database_url": urls[name]},
                remote=RemoteSettings(service_secret=SECRET),
                log_level="WARNING",
                log_format="console",
            )
            app = build_source_app(name, settings)
            if prepare is not None:
                prepare(app)
            port = free_port()
            # as gateway.source_service.serve_source runs it
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on", http=SourceHTTPProtocol, proxy_headers=False,
                server_header=False, date_header=False,
            )  # fmt: skip
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            servers.append((server, task))
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
                await asyncio.sleep(0.01)
            where[name] = f"http://127.0.0.1:{port}"
        yield where
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, task in servers:
            await task


def gateway(urls: dict[str, str], remote: dict[str, str] | None) -> tuple[Any, list[str]]:
    os.environ["CACHE_ENABLED"] = "false"
    values: dict[str, Any] = {f"{n}_database_url": u for n, u in urls.items()}
    if remote is not None:
        values["remote"] = RemoteSettings(
            **{f"{n}_url": u for n, u in remote.items()}, service_secret=SECRET
        )
    settings = Settings(**values, log_level="WARNING", log_format="console")
    return create_app(settings), []


async def checkouts(
    app: Any, tokens: list[str], picks: list[list[int]], n: int, profiler: cProfile.Profile | None
) -> tuple[float, int]:
    """CPU ms per checkout over ``n`` checkouts after 10 warm ones, and the source calls
    of one checkout."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            for i in range(10):
                await one_checkout(client, tokens[i % len(tokens)], picks.pop())
            before = source_call_counts(app)
            await one_checkout(client, tokens[0], picks.pop())
            calls = sum((source_call_counts(app) - before).values())
            if profiler is not None:
                profiler.enable()
            cpu = time.process_time()
            for i in range(n):
                await one_checkout(client, tokens[i % len(tokens)], picks.pop())
            cpu_ms = (time.process_time() - cpu) * 1000 / n
            if profiler is not None:
                profiler.disable()
    return cpu_ms, calls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_cprofile")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--checkouts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--profile-embedded", action="store_true", help="profile the embedded checkouts instead"
    )
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)

    async def session() -> Any:
        shop = await prepare_shop(args.backend, 60)
        settings = Settings()
        tokens = [
            issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids
        ]
        import random

        rng = random.Random(1)
        per_run = args.checkouts + 11
        runs = 1 if args.profile else 2 * args.rounds
        picks = [rng.sample(shop.sku_ids, 3) for _ in range(per_run * runs + 1)]
        figures: dict[str, list[float]] = defaultdict(list)
        calls: dict[str, int] = {}
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        try:
            async with source_services(shop.urls) as remote:
                for r in range(runs):
                    variant = "remote" if r % 2 else "embedded"
                    if args.profile:
                        variant = "embedded" if args.profile_embedded else "remote"
                    app, _ = gateway(shop.urls, remote if variant == "remote" else None)
                    take = [picks.pop() for _ in range(per_run)]
                    ms, n = await checkouts(app, tokens, take, args.checkouts, profiler)
                    figures[variant].append(ms)
                    calls[variant] = n
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return figures, calls, profiler

    figures, calls, profiler = _run(session)
    load = os.getloadavg()[0]
    for variant, values in figures.items():
        print(
            f"{args.backend} {variant}: {statistics.median(values):.1f} ms CPU per checkout "
            f"(runs {', '.join(f'{v:.1f}' for v in values)}), {calls[variant]} source calls; "
            f"load average {load:.1f}"
        )
    if "embedded" in figures and "remote" in figures:
        ratio = statistics.median(figures["remote"]) / statistics.median(figures["embedded"])
        print(f"remote / embedded: {ratio:.2f}x")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        total = sum(entry[2] for entry in raw.values())
        groups: dict[str, float] = defaultdict(float)
        for (filename, _line, _name), entry in raw.items():
            groups[component(filename)] += entry[2]
        profiled = "embedded" if args.profile_embedded else "remote"
        print(f"## {profiled} under cProfile: {total * 1000 / args.checkouts:.1f} ms per checkout")
        for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
            if seconds / total >= 0.003:
                print(f"  {name:40s} {seconds * 1000 / args.checkouts:6.2f} ms")
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumtime").print_stats(r"/sources/common/", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
