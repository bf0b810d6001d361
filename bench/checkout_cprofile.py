"""Where one checkout's CPU goes, by CPU time: cProfile with ``time.process_time`` as its
clock over N checkouts in-process (``cartCreate`` with 3 lines, ``cartShippingAddressSet``,
``checkoutComplete`` through httpx's ASGITransport, no cache), grouped by component, then
the top functions by own time and the gateway's by cumulative time.

``python -m bench.checkout_cprofile --backend postgresql --checkouts 30``

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
from collections.abc import Sequence
from typing import Any

import httpx

from .checkout import prepare_shop
from .checkout_profile import in_process_app, one_checkout
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


def profile(backend: str, checkouts: int) -> pstats.Stats:
    async def session() -> cProfile.Profile:
        shop = await prepare_shop(backend, 60)
        app, tokens, picks = in_process_app(shop, checkouts + 10)
        profiler = cProfile.Profile(time.process_time)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for i in range(10):  # warm: compiled SQL, parsed documents, pools
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                    profiler.enable()
                    for i in range(checkouts):
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                    profiler.disable()
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return profiler

    return pstats.Stats(_run(session))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_cprofile")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--checkouts", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    stats = profile(args.backend, args.checkouts)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    groups: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), entry in raw.items():
        groups[component(filename)] += entry[2]
    print(
        f"## {args.backend}: {total * 1000 / args.checkouts:.1f} ms of CPU per checkout under "
        f"cProfile; load average {os.getloadavg()[0]:.1f}"
    )
    for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        if seconds / total >= 0.003:
            share = 100 * seconds / total
            print(f"  {name:40s} {seconds * 1000 / args.checkouts:6.2f} ms {share:5.1f} %")
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumtime").print_stats(r"/gateway/", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
