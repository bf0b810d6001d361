"""How far more processes take the gateway: the signed-in listing and the checkout with 1, 2
and 4 uvicorn workers (``gateway serve --workers N``), and with two separate ``gateway
serve`` processes, all sharing one PostgreSQL shop and Redis, as a production deployment
does (docs/deployment.md).

For each layout: throughput (listings/s, checkouts/s) and server CPU per request (every
process of the layout, workers included, from /proc), the load generator keeping
``--concurrency`` requests in flight (split evenly over the ports of the two-process
layout). On a machine with C cores, N workers can give at most min(N, C) times one
worker's throughput; CPU per request should stay flat (it rising means contention). The
figures are also written to bench/results/processes.json (docs/benchmarks.md is rendered
from it).

    python -m bench.processes [--duration 5] [--concurrency 8] [--layouts 1,2,4,2x1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from .checkout import CheckoutShop, prepare_shop, run_checkout_bench
from .load import build_request, run_cell
from .provenance import Measurement
from .queries import LISTING_PERSONAL
from .servers import CLOCK_TICKS, SCRUBBED_PREFIXES, free_port
from .shop import ROOT

REDIS_URL = "redis://127.0.0.1:6379/0"


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and all its descendants (live ones), from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / CLOCK_TICKS
        todo += children.get(pid, [])
    return total


@dataclass
class Serve:
    """One ``gateway serve`` process (with its workers)."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_serve(shop: CheckoutShop, workers: int, prefix: str, log: Path) -> Serve:
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env = {
        **inherited,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in shop.urls.items()},
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,  # this run's own keys in a Redis others may share
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_DB_POOL_SIZE": "4",
        "GATEWAY_SWEEP_INTERVAL_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    serve = Serve(port, process)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gateway serve exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{serve.url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            serve.stop()
            raise RuntimeError(f"gateway serve did not get ready ({log})")
        time.sleep(0.1)
    time.sleep(1.0 * workers)  # every worker up, not just the first to answer
    return serve


async def listing_rate(
    serves: list[Serve], token: str, concurrency: int, duration: float
) -> tuple[float, int]:
    body = orjson.dumps({"query": LISTING_PERSONAL, "operationName": "BenchListingPersonal"})
    headers = {"Authorization": f"Bearer {token}"}
    share = max(1, concurrency // len(serves))
    cells = await asyncio.gather(
        *(
            run_cell(
                "127.0.0.1",
                s.port,
                build_request("127.0.0.1", s.port, "POST", "/graphql", body, headers),
                concurrency=share,
                warmup=1.0,
                duration=duration,
                max_seconds=duration * 4,
            )
            for s in serves
        )
    )
    for cell in cells:
        if cell.errors:
            raise RuntimeError(f"listing: {cell.errors} errors: {cell.first_error}")
    return sum(c.rps for c in cells), sum(c.completed for c in cells)


async def checkout_rate(
    serves: list[Serve], shop: CheckoutShop, tokens: list[str], concurrency: int, duration: float
) -> tuple[float, int, int]:
    share = max(1, concurrency // len(serves))
    results = await asyncio.gather(
        *(
            run_checkout_bench(
                s.url,
                tokens[i::2] or tokens,
                shop.sku_ids,
                share,
                duration,
                orders_database_url=shop.urls["orders"],
                seed=i,
            )
            for i, s in enumerate(serves)
        )
    )
    lost = sum(len(r["lost"]) if isinstance(r["lost"], list) else int(r["lost"]) for r in results)
    return (
        sum(float(r["orders_per_s"]) for r in results),
        sum(int(r["checkouts"]) for r in results),
        lost,
    )


def layouts(spec: str) -> list[tuple[str, int, int]]:
    """ "1,2,4,2x1" -> (label, processes, workers each)."""
    found: list[tuple[str, int, int]] = []
    for item in spec.split(","):
        processes, _, workers = item.partition("x")
        if workers:
            found.append((f"{processes} serves x {workers} worker", int(processes), int(workers)))
        else:
            found.append((f"{item} worker{'s' if item != '1' else ''}", 1, int(item)))
    return found


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    shop = await prepare_shop("postgresql", args.products)
    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    tokens = [
        issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c)) for c in shop.customer_ids
    ]
    rows: list[dict[str, Any]] = []
    try:
        for label, processes, workers in layouts(args.layouts):
            prefix = f"bench{uuid.uuid4().hex[:8]}"
            serves = [
                start_serve(shop, workers, prefix, logs / f"processes-{processes}x{workers}.log")
                for _ in range(processes)
            ]
            try:
                cpu = sum(tree_cpu_seconds(s.process.pid) for s in serves)
                rps, listed = await listing_rate(serves, tokens[0], args.concurrency, args.duration)
                listing_cpu = sum(tree_cpu_seconds(s.process.pid) for s in serves) - cpu
                cpu += listing_cpu
                ops, checkouts, lost = await checkout_rate(
                    serves, shop, tokens, args.concurrency, args.duration
                )
                checkout_cpu = sum(tree_cpu_seconds(s.process.pid) for s in serves) - cpu
            finally:
                for serve in serves:
                    serve.stop()
            row = {
                "layout": label,
                "listing_rps": rps,
                "listing_cpu_ms": listing_cpu / max(listed, 1) * 1000,
                "checkouts_per_s": ops,
                "checkout_cpu_ms": checkout_cpu / max(checkouts, 1) * 1000,
                "lost": lost,
                "load": os.getloadavg()[0],
            }
            rows.append(row)
            print(_row(row), flush=True)
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    base = rows[0]["listing_rps"] if rows else 0
    print()
    print(f"{'layout':<22} {'listing/s':>10} {'x':>5} {'CPU ms':>7} {'checkouts/s':>12} "
          f"{'CPU ms':>7} {'lost':>5} {'load':>5}")  # fmt: skip
    for row in rows:
        print(_row(row, base))
    return rows


def _row(row: dict[str, Any], base: float = 0) -> str:
    speedup = row["listing_rps"] / base if base else 1.0
    return (
        f"{row['layout']:<22} {row['listing_rps']:>10.1f} {speedup:>5.2f} "
        f"{row['listing_cpu_ms']:>7.1f} {row['checkouts_per_s']:>12.1f} "
        f"{row['checkout_cpu_ms']:>7.1f} {row['lost']:>5} {row['load']:>5.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=240)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--layouts", default="1,2,4,2x1")
    args = parser.parse_args()
    measurement = Measurement.begin("processes", "bench.processes")
    rows = asyncio.run(main_async(args))
    measurement.save(
        {
            "products": args.products,
            "duration_s": args.duration,
            "concurrency": args.concurrency,
            "rows": rows,
        }
    )


if __name__ == "__main__":
    main()
