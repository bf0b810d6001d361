"""Python calls per source call in the source services' own process, at one buyer.

``python -m bench.remote_service_calls --backend postgresql --checkouts 30``

bench.remote_ab measures a remote checkout's CPU, which moves with the machine's load by
more than most changes to the services do; this counts what they execute instead. The
four sources are served in one ``gateway source serve`` process of their own (as
``--all`` serves them, with cProfile switched on by SIGUSR1 and off by SIGUSR2, which
writes its figures), the gateway runs in this process with its shared cache on (every SKU
browsed and ten checkouts first, as remote_ab's turns measure), and ``--checkouts``
checkouts (cartCreate, cartShippingAddressSet, checkoutComplete) run one after another.
Printed: the HTTP requests per checkout by ``source.method`` (the gateway's source-call
counter: one call is one request), the services' Python function calls per checkout and
per request (cProfile counts a coroutine's every resumption as a call: the figure is for
comparing two trees, not an absolute), by package, and the connections the services
accepted meanwhile (0: every call went on a kept-alive connection).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings
from gateway.source_service import wait_until_healthy

from .checkout import prepare_shop
from .checkout_profile import browse_cart, one_checkout, source_call_counts
from .profile import _run
from .remote_cprofile import SECRET
from .remote_statements import _cached_gateway
from .servers import free_port


def serve_profiled(ports: Sequence[str], out: str) -> None:
    """The child: the sources of ``ports`` (``NAME:PORT``) in this process, profiled
    between SIGUSR1 and SIGUSR2."""
    from gateway.source_service import serve_sources, source_ports

    profiler = cProfile.Profile()

    def on(*_: Any) -> None:
        profiler.enable()

    def off(*_: Any) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, on)
    signal.signal(signal.SIGUSR2, off)
    serve_sources(source_ports(list(ports)), Settings(), "127.0.0.1")


def _package(filename: str) -> str:
    if filename.startswith("~"):
        return "builtins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    parts = Path(filename).parts
    for top in ("sources", "gateway"):
        if top in parts:
            i = parts.index(top)
            return "/".join(parts[i : i + 2])
    return "stdlib" if "/lib/python3" in filename else "other"


def measure(backend: str, checkouts: int) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="remote-service-calls-")) / "services.prof"

    async def session() -> dict[str, Any]:
        shop = await prepare_shop(backend, 60)
        tokens = [
            issue_token(Settings(), kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids
        ]
        rng = random.Random(1)
        env = {
            **os.environ,
            **{f"{n.upper()}_DATABASE_URL": u for n, u in shop.urls.items()},
            "GATEWAY_SERVICE_SECRET": SECRET,
            "GATEWAY_DB_POOL_SIZE": "2",
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        for name in SOURCE_NAMES:
            env.pop(f"{name.upper()}_URL", None)
        ports = {name: free_port() for name in SOURCE_NAMES}
        child = [sys.executable, "-m", "bench.remote_service_calls", "--serve", str(out)]
        command = child + [f"{n}:{p}" for n, p in ports.items()]
        process = subprocess.Popen(command, env=env)  # noqa: ASYNC220 - once, before any call
        try:
            remote = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            for url in remote.values():
                wait_until_healthy(url, process)
            app = _cached_gateway(shop.urls, remote)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
                    for start in range(0, len(shop.sku_ids), 3):
                        await browse_cart(c, tokens[0], shop.sku_ids[start : start + 3])
                    for i in range(10):
                        await one_checkout(c, tokens[i % len(tokens)], rng.sample(shop.sku_ids, 3))
                    before = source_call_counts(app)
                    process.send_signal(signal.SIGUSR1)
                    await asyncio.sleep(0.3)
                    for i in range(checkouts):
                        await one_checkout(c, tokens[i % len(tokens)], rng.sample(shop.sku_ids, 3))
                    await asyncio.sleep(0.3)  # the last answer's tail (its key's UPDATE)
                    process.send_signal(signal.SIGUSR2)
                    while not out.exists():  # noqa: ASYNC110 - the child writes it
                        await asyncio.sleep(0.1)
                    await asyncio.sleep(0.5)
                    calls = source_call_counts(app) - before
        finally:
            process.terminate()
            process.wait(30)
            if shop.cleanup is not None:
                await shop.cleanup()
        return {"calls": calls}

    result = _run(session)
    stats: dict[Any, Any] = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    by_package: Counter[str] = Counter()
    accepted = 0
    for (filename, _line, function), entry in stats.items():
        by_package[_package(filename)] += entry[1]
        if function == "connection_made" and "httptools_impl" in filename:
            accepted += entry[1]
    result["by_package"] = by_package
    result["accepted"] = accepted
    return dict(result)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve_profiled(argv[2:], argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.remote_service_calls")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--checkouts", type=int, default=30)
    args = parser.parse_args(argv)
    r = measure(args.backend, args.checkouts)
    n = args.checkouts
    requests = sum(r["calls"].values())
    python = sum(r["by_package"].values())
    print(f"{args.backend}, {n} checkouts at one buyer, the four services in one process:")
    print(f"  HTTP requests per checkout: {requests / n:.2f}")
    for name, count in sorted(r["calls"].items()):
        print(f"    {name:38s} {count / n:.2f}")
    print(
        f"  the services' Python calls: {python / n:,.0f} per checkout, "
        f"{python / requests:,.0f} per request; connections accepted meanwhile: "
        f"{r['accepted']}"
    )
    for package, count in r["by_package"].most_common(12):
        print(f"    {package:38s} {count / n:8,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
