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

The listing's load is wrk's when it is installed (bench/wrk.py, ``make wrk``): it costs
far less CPU than the gateway it measures. The checkout's is the Python client's. Each
window's CPU is split between the gateway's processes, PostgreSQL, Redis, the load
generator and other work (bench/cpu_split.py), with the connections each worker held,
since on a small shared machine throughput alone cannot say why a layout did not scale.

    python -m bench.processes [--duration 5] [--concurrency 8] [--layouts 1,2,2u,4,2x1]
        [--rounds 1] [--generator auto|wrk|python] [--pin-load CPUS]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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

from . import wrk
from .checkout import CheckoutShop, prepare_shop, run_checkout_bench
from .cpu_split import Probe, Split, _children, _cmdline, combine, tree_cpu_seconds
from .load import build_request, run_cell
from .provenance import Measurement
from .queries import LISTING_PERSONAL
from .servers import SCRUBBED_PREFIXES, free_port
from .shop import ROOT

REDIS_URL = "redis://127.0.0.1:6379/0"


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


def start_serve(
    shop: CheckoutShop, workers: int, prefix: str, log: Path, extra: dict[str, str] | None = None
) -> Serve:
    """``gateway serve --workers N`` on the shop, ready (every worker up); ``extra``
    environment on top (e.g. GATEWAY_BALANCE_CONNECTIONS)."""
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
        **(extra or {}),
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
    _wait_for_workers_serving(serve, workers, log)
    return serve


def _listening_inode(port: int) -> int | None:
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return int(fields[9])
    return None


def _polls(pid: int, inode: int) -> bool:
    """Whether the process has the socket ``inode`` in one of its epoll sets: its event
    loop is serving it (uvicorn's worker registers the shared socket once it started)."""
    fds: set[int] = set()
    try:
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for entry in entries:
        try:
            if os.readlink(entry) == f"socket:[{inode}]":
                fds.add(int(entry.name))
        except OSError:
            continue
    for entry in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = entry.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("tfd:") and int(line.split()[1]) in fds:
                return True
    return False


def _wait_for_workers_serving(serve: Serve, workers: int, log: Path) -> None:
    """Every worker serving the socket, not just the first to answer /readyz: a worker
    still importing the app when wrk opens its connections cannot take any, whatever the
    accept (on the loaded machine one took longer than the second per worker this waited
    before)."""
    pid = serve.process.pid
    deadline = time.monotonic() + 120
    while True:
        inode = _listening_inode(serve.port)
        kids = [p for p in _children(pid) if "resource_tracker" not in _cmdline(p)]
        if workers == 1 or (
            inode is not None and len(kids) == workers and all(_polls(kid, inode) for kid in kids)
        ):
            return
        if time.monotonic() > deadline:
            serve.stop()
            raise RuntimeError(f"gateway serve's workers did not all start serving ({log})")
        time.sleep(0.2)


GENERATOR_PYTHON = "python (bench/load.py)"
CHECKOUT_GENERATOR = "python (bench/client.py: http_pool + msgspec on uvloop, bench/checkout.py)"


@dataclass
class Measured:
    """One measurement: its rate, how many answers its CPU is spread over, and the split."""

    rate: float
    count: int
    split: Split
    lost: int = 0
    p99_ms: float | None = None


def _wait_until_quiet(serves: list[Serve], timeout: float = 10) -> None:
    """Until the gateway has finished what the warm-up left in flight (wrk exits with its
    requests unanswered; a worker still serving them cannot take its share of the next
    connections, and counts the warm-up's connections as held until it reads their close):
    its processes together under a fifth of a core over 0.3 s (an idle worker's own
    background work stays below), or ``timeout``."""
    deadline = time.monotonic() + timeout
    before = sum(tree_cpu_seconds(s.process.pid) for s in serves)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = sum(tree_cpu_seconds(s.process.pid) for s in serves)
        if now - before < 0.06:
            return
        before = now


def _probe(serves: list[Serve], shop: CheckoutShop) -> Probe:
    database = shop.urls["orders"].rsplit("/", 1)[1].split("?", 1)[0]
    return Probe([s.process.pid for s in serves], database, {s.port for s in serves})


async def listing_rate(
    serves: list[Serve], shop: CheckoutShop, token: str, args: argparse.Namespace
) -> Measured:
    """The signed-in listing, ``args.concurrency`` requests in flight split over the serves:
    with wrk when ``args.generator`` is wrk (a 1 s wrk warm-up first, not measured), else
    with the Python generator (its 1 s warm-up is inside the measured CPU, as its answers
    are in the count)."""
    body = orjson.dumps({"query": LISTING_PERSONAL, "operationName": "BenchListingPersonal"})
    share = max(1, args.concurrency // len(serves))
    probe = _probe(serves, shop)
    if args.generator == "wrk":
        urls = [f"{s.url}/graphql" for s in serves]
        await asyncio.to_thread(
            wrk.run, urls, body, [token], connections=share, duration=1, cpus=args.pin_load
        )
        await asyncio.to_thread(_wait_until_quiet, serves)
        probe.start()
        runs = await asyncio.to_thread(
            wrk.run,
            urls,
            body,
            [token],
            connections=share,
            duration=args.duration,
            cpus=args.pin_load,
        )
        split = probe.stop(sum(r.cpu_seconds for r in runs))
        for run in runs:
            if run.failures:
                raise RuntimeError(f"listing: {run.failures} failures: {run.first_failure}")
        return Measured(
            sum(r.rps for r in runs),
            sum(r.requests for r in runs),
            split,
            p99_ms=max(r.p99_ms for r in runs),
        )
    headers = {"Authorization": f"Bearer {token}"}
    probe.start()
    client_cpu = time.process_time()
    cells = await asyncio.gather(
        *(
            run_cell(
                "127.0.0.1",
                s.port,
                build_request("127.0.0.1", s.port, "POST", "/graphql", body, headers),
                concurrency=share,
                warmup=1.0,
                duration=args.duration,
                max_seconds=args.duration * 4,
            )
            for s in serves
        )
    )
    split = probe.stop(time.process_time() - client_cpu)
    for cell in cells:
        if cell.errors:
            raise RuntimeError(f"listing: {cell.errors} errors: {cell.first_error}")
    return Measured(
        sum(c.rps for c in cells),
        sum(c.completed for c in cells),
        split,
        p99_ms=max(c.percentile(99) for c in cells),
    )


async def checkout_rate(
    serves: list[Serve], shop: CheckoutShop, tokens: list[str], concurrency: int, duration: float
) -> Measured:
    """Checkouts by the Python client (three dependent requests each and the orders-table
    check: more than a wrk script should carry); its CPU is the bench process's."""
    share = max(1, concurrency // len(serves))
    probe = _probe(serves, shop)
    probe.start()
    client_cpu = time.process_time()
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
    split = probe.stop(time.process_time() - client_cpu)
    lost = sum(len(r["lost"]) if isinstance(r["lost"], list) else int(r["lost"]) for r in results)
    return Measured(
        sum(float(r["orders_per_s"]) for r in results),
        sum(int(r["checkouts"]) for r in results),
        split,
        lost=lost,
    )


def per_request_ms(split: Split, count: int) -> dict[str, float]:
    """Each owner's CPU per answer (ms), and how many of the cores each kept busy."""
    n = max(count, 1)
    seconds = max(split.seconds, 1e-9)
    owners = {
        "gateway": split.gateway,
        "postgres": split.postgres,
        "postgres_bench_db": split.postgres_bench_db,
        "redis": split.redis,
        "load_generator": split.load_generator,
        "other": split.other,
    }
    return {
        **{f"{k}_ms": round(v / n * 1000, 2) for k, v in owners.items()},
        **{f"{k}_cores": round(v / seconds, 2) for k, v in owners.items()},
        "machine_busy_cores": round(split.machine_busy / seconds, 2),
    }


UNBALANCED = {"GATEWAY_BALANCE_CONNECTIONS": "false"}


def layouts(spec: str) -> list[tuple[str, int, int, dict[str, str]]]:
    """ "1,2,2u,4,2x1" -> (label, processes, workers each, extra environment). ``Nu``: N
    workers accepting as uvicorn does by itself (GATEWAY_BALANCE_CONNECTIONS=false), the
    baseline of gateway/serving.py's balanced accept, which N alone has."""
    found: list[tuple[str, int, int, dict[str, str]]] = []
    for item in spec.split(","):
        processes, _, workers = item.partition("x")
        if workers:
            label = f"{processes} serves x {workers} worker"
            found.append((label, int(processes), int(workers), {}))
        elif item.endswith("u"):
            label = f"{item[:-1]} workers, uvicorn accept"
            found.append((label, 1, int(item[:-1]), dict(UNBALANCED)))
        else:
            found.append((f"{item} worker{'s' if item != '1' else ''}", 1, int(item), {}))
    return found


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    shop = await prepare_shop("postgresql", args.products)
    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    tokens = [
        issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c)) for c in shop.customer_ids
    ]
    measured: dict[str, list[tuple[Measured, Measured, float]]] = {}
    try:
        for round_ in range(args.rounds):
            for label, processes, workers, extra in layouts(args.layouts):
                prefix = f"bench{uuid.uuid4().hex[:8]}"
                log = logs / f"processes-{processes}x{workers}{'u' if extra else ''}.log"
                serves = [start_serve(shop, workers, prefix, log, extra) for _ in range(processes)]
                try:
                    listing = await listing_rate(serves, shop, tokens[0], args)
                    checkout = await checkout_rate(
                        serves, shop, tokens, args.concurrency, args.duration
                    )
                finally:
                    for serve in serves:
                        serve.stop()
                measured.setdefault(label, []).append((listing, checkout, os.getloadavg()[0]))
                first_rate = next(iter(measured.values()))[round_][0].rate
                row = _layout_row(label, measured[label][-1:])
                print(
                    f"round {round_ + 1}: {_row(row, first_rate)}  {_spread(listing)}", flush=True
                )
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    rows = [_layout_row(label, runs) for label, runs in measured.items()]
    first = next(iter(measured.values()), [])
    for row, runs in zip(rows, measured.values(), strict=True):
        row["rounds"] = [
            {
                "listing_rps": listing.rate,
                "listing_x_1_worker": listing.rate / first[i][0].rate if first[i][0].rate else 0,
                "listing_gateway_cores": listing.split.gateway / listing.split.seconds,
                "listing_other_cores": listing.split.other / listing.split.seconds,
                "connections_by_process": listing.split.connections,
                "listing_cores_by_process": [
                    round(x / listing.split.seconds, 2)
                    for x in listing.split.gateway_processes
                    if x / listing.split.seconds >= 0.02
                ],
                "listing_gateway_ms": listing.split.gateway / max(listing.count, 1) * 1000,
                "checkouts_per_s": checkout.rate,
                "load": load,
            }
            for i, (listing, checkout, load) in enumerate(runs)
        ]
    base = rows[0]["listing_rps"] if rows else 0
    print()
    print(f"listing load generator: {generator_name(args)}; checkout: {CHECKOUT_GENERATOR}")
    print(f"{'layout':<22} {'listing/s':>10} {'x':>5} {'CPU ms':>7} {'checkouts/s':>12} "
          f"{'CPU ms':>7} {'lost':>5} {'load':>5}")  # fmt: skip
    for row in rows:
        print(_row(row, base))
    print()
    print("CPU per listing (ms) and cores kept busy, by owner:")
    print(f"{'layout':<22} {'gateway':>13} {'postgres':>13} {'redis':>12} {'generator':>12} "
          f"{'other':>12} {'machine':>8}")  # fmt: skip
    for row in rows:
        print(_split_row(row["layout"], row["listing_split"]))
    print()
    print("CPU per checkout (ms) and cores kept busy, by owner:")
    for row in rows:
        print(_split_row(row["layout"], row["checkout_split"]))
    return rows


def _layout_row(label: str, runs: list[tuple[Measured, Measured, float]]) -> dict[str, Any]:
    """One layout's figures over its rounds: rates averaged, CPU added up over the windows."""
    listing = combine([r[0].split for r in runs])
    checkout = combine([r[1].split for r in runs])
    listed = sum(r[0].count for r in runs)
    checkouts = sum(r[1].count for r in runs)
    p99s = [r[0].p99_ms for r in runs if r[0].p99_ms is not None]
    return {
        "layout": label,
        "listing_rps": statistics.fmean(r[0].rate for r in runs),
        "listing_cpu_ms": listing.gateway / max(listed, 1) * 1000,
        "listing_p99_ms": max(p99s) if p99s else None,
        "listing_split": {**listing.as_dict(), **per_request_ms(listing, listed)},
        "checkouts_per_s": statistics.fmean(r[1].rate for r in runs),
        "checkout_cpu_ms": checkout.gateway / max(checkouts, 1) * 1000,
        "checkout_split": {**checkout.as_dict(), **per_request_ms(checkout, checkouts)},
        "lost": sum(r[1].lost for r in runs),
        "load": max(r[2] for r in runs),
    }


def generator_name(args: argparse.Namespace) -> str:
    if args.generator == "wrk":
        pinned = f", pinned to CPU {args.pin_load} by taskset" if args.pin_load else ""
        return f"{wrk.version()} (bench/wrk_graphql.lua){pinned}"
    return GENERATOR_PYTHON


def _row(row: dict[str, Any], base: float = 0) -> str:
    speedup = row["listing_rps"] / base if base else 1.0
    return (
        f"{row['layout']:<22} {row['listing_rps']:>10.1f} {speedup:>5.2f} "
        f"{row['listing_cpu_ms']:>7.1f} {row['checkouts_per_s']:>12.1f} "
        f"{row['checkout_cpu_ms']:>7.1f} {row['lost']:>5} {row['load']:>5.1f}"
    )


def _spread(listing: Measured) -> str:
    """One round's listing: the connections and cores each gateway process had, the other
    work's cores (a noisy round shows here) and the gateway's CPU per listing."""
    split = listing.split
    seconds = max(split.seconds, 1e-9)
    cores = " / ".join(f"{x / seconds:.2f}" for x in split.gateway_processes if x / seconds >= 0.02)
    return (
        f"connections {'/'.join(map(str, split.connections))}, cores {cores}, "
        f"other work {split.other / seconds:.2f} cores, "
        f"{split.gateway / max(listing.count, 1) * 1000:.1f} ms CPU/listing"
    )


def _split_row(layout: str, split: dict[str, Any]) -> str:
    cells = [
        f"{split[f'{k}_ms']:>6.1f} {split[f'{k}_cores']:>5.2f}c"
        for k in ("gateway", "postgres", "redis", "load_generator", "other")
    ]
    seconds = max(float(split["seconds"]), 1e-9)
    workers = " / ".join(
        f"{x / seconds:.2f}" for x in split["gateway_processes_s"] if x / seconds >= 0.02
    )
    return (
        f"{layout:<22} "
        + " ".join(f"{c:>13}" for c in cells)
        + f" {split['machine_busy_cores']:>7.2f}c  per gateway process: {workers}"
        + f", connections {split['connections_by_process']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=240)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--layouts", default="1,2,2u,4,2x1")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure the layouts this many times, alternating, and add the windows up "
        "(other work on a shared machine then weighs on every layout alike)",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the listing's load generator: wrk when installed (auto), else Python",
    )
    parser.add_argument(
        "--pin-load",
        metavar="CPUS",
        help="run wrk under taskset -c CPUS (e.g. 1), to see what the gateway does beside it",
    )
    args = parser.parse_args()
    if args.generator == "auto":
        args.generator = "wrk" if wrk.wrk_path() else "python"
    if args.generator == "wrk" and wrk.wrk_path() is None:
        parser.error("wrk is not installed (make wrk)")
    if args.pin_load and args.generator != "wrk":
        parser.error("--pin-load pins wrk only")
    measurement = Measurement.begin("processes", "bench.processes")
    rows = asyncio.run(main_async(args))
    measurement.save(
        {
            "products": args.products,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "generator": generator_name(args),
            "generator_kind": args.generator,
            "pinned_load_cpus": args.pin_load,
            "checkout_generator": CHECKOUT_GENERATOR,
            "rows": rows,
        }
    )


if __name__ == "__main__":
    main()
