"""Where one checkout's CPU goes, by CPU time: cProfile with ``time.process_time`` as its
clock over N checkouts in-process (``cartCreate`` with 3 lines, ``cartShippingAddressSet``,
``checkoutComplete`` through httpx's ASGITransport, no cache), grouped by component, then
the top functions by own time and the gateway's by cumulative time.

``python -m bench.checkout_cprofile --backend postgresql --checkouts 30 [--flow two]``
prints the groups for each request kind apart (``cartCreate``, ``checkoutComplete``, ...)
and for all of them, with their Python calls per checkout (deterministic); ``--request
checkoutComplete`` lists that request's functions only.

pyinstrument (bench.checkout_profile) samples wall-clock time: on a loaded machine it
overweights whatever frame sits in a system call. CPU time does not; cProfile's own
overhead roughly doubles the figures, so read the shares, not the milliseconds. (cProfile
counts each resumption of a coroutine as a call: ``ncalls`` of async functions are high.)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from .checkout import prepare_shop
from .checkout_profile import FLOWS, in_process_app, one_checkout
from .profile import _run

_PACKAGES = {
    "sqlalchemy": "SQLAlchemy",
    "asyncpg": "DB driver",
    "aiosqlite": "DB driver",
    "strawberry": "strawberry + graphql-core",
    "graphql": "strawberry + graphql-core",
    "httpx": "HTTP (in-process client and ASGI)",
    "httpcore": "HTTP (in-process client and ASGI)",
    "starlette": "HTTP (in-process client and ASGI)",
}


def component(filename: str) -> str:
    if filename == "~":
        return "builtins and C"
    if "site-packages/" in filename:
        package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        return _PACKAGES.get(package, f"other: {package}")
    for part in ("gateway", "sources", "bench"):
        if f"/{part}/" in filename and "/lib/python" not in filename:
            return f"{part} code"
    return "stdlib"


def profile(backend: str, checkouts: int, flow: str = "three") -> dict[str, pstats.Stats]:
    """The checkouts' profile, one per request kind (``cartCreate``, ...) and ``all``: the
    client's own work between the requests is in none of them."""

    async def session() -> dict[str, cProfile.Profile]:
        shop = await prepare_shop(backend, 60)
        app, tokens, picks = in_process_app(shop, checkouts + 10)
        profilers: dict[str, cProfile.Profile] = {}

        @contextmanager
        def probe(name: str) -> Iterator[None]:
            profiler = profilers.setdefault(name, cProfile.Profile(time.process_time))
            profiler.enable()
            try:
                yield
            finally:
                profiler.disable()

        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for i in range(10):  # warm: compiled SQL, parsed documents, pools
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop(), flow)
                    for i in range(checkouts):
                        await one_checkout(
                            client, tokens[i % len(tokens)], picks.pop(), flow, probe
                        )
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return profilers

    profilers = _run(session)
    stats = {name: pstats.Stats(p) for name, p in profilers.items()}
    stats["all"] = pstats.Stats(*profilers.values())
    return stats


def _print_groups(title: str, stats: pstats.Stats, checkouts: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    calls = stats.total_calls  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), entry in raw.items():
        groups[component(filename)] += entry[2]
    print(
        f"## {title}: {total * 1000 / checkouts:.2f} ms of CPU per checkout under cProfile, "
        f"{calls / checkouts:,.0f} Python calls; load average {os.getloadavg()[0]:.1f}"
    )
    for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        if seconds / total >= 0.003:
            share = 100 * seconds / total
            print(f"  {name:40s} {seconds * 1000 / checkouts:6.2f} ms {share:5.1f} %")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_cprofile")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--checkouts", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--flow", choices=FLOWS, default="three", help="bench.checkout's flows")
    parser.add_argument(
        "--request", default="all", help="print the functions of this request kind only"
    )
    args = parser.parse_args(argv)
    by_request = profile(args.backend, args.checkouts, args.flow)
    for name, one in by_request.items():
        _print_groups(f"{args.backend}, flow {args.flow}, {name}", one, args.checkouts)
    stats = by_request[args.request]
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumtime").print_stats(r"/gateway/", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
