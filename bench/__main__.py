"""``python -m bench`` (``make bench``): the storefront screens over HTTP, gateway against
its two baselines, on SQLite and PostgreSQL, with and without simulated source latency.

For each backend and latency: start the gateway, the gateway with loaders off (N+1) and
the hand-written floor, one at a time, as uvicorn processes over the same seeded shop;
check that each answers every screen with the gateway's exact JSON; count the source calls
of one request; then measure req/s and p50/p99 at each concurrency. Prints the tables
(also written to bench/results/latest.md) and a profile of the gateway's listing, and
writes the figures with their command, date, commit and load to
bench/results/storefront.json, which docs/benchmarks.md is rendered from (bench/docs.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from gateway.settings import Settings

from . import provenance, servers
from .load import CellResult, build_request, run_cell
from .provenance import Measurement
from .queries import SCENARIOS
from .report import Config, ConfigResult, RunResult, render, run_figures
from .shop import ROOT, Shop, postgres_unavailable, prepare

RESULTS_DIR = ROOT / "bench" / "results"


class Mismatch(AssertionError):
    pass


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two parsed JSON values first differ (None when equal)."""
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: present in only one"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def run_async(coro: Coroutine[Any, Any, CellResult]) -> CellResult:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def machine() -> str:
    return f"{provenance.machine()}, uvicorn loop={servers.LOOP} http={servers.HTTP}"


def _hopeless(
    result: ConfigResult, name: str, variant: str, conc: int, args: argparse.Namespace
) -> str | None:
    """Why a cell cannot finish within its cap (None: run it). One worker spends at least
    its CPU per request on each of ``conc`` requests in flight, and a cell needs about three
    rounds of them (the warm-up's, a measured one, the stragglers); the lowest concurrency
    measured tells the CPU per request."""
    lowest = min(args.concurrency)
    if conc == lowest:
        return None
    base = result.cells.get((name, variant, lowest))
    if base is None or not base.completed or base.server_cpu is None:
        return None
    # CPU per answer; rough for a capped cell (abandoned work counted), fine for this.
    cpu_ms = base.server_cpu / base.completed * 1000
    needed = args.warmup + 3 * conc * cpu_ms / 1000
    if needed <= args.max_cell_seconds:
        return None
    return (
        f"at c={lowest} a request costs {cpu_ms:,.0f} ms of server CPU, so {conc} in flight "
        f"need ~{needed:.0f} s, over the {args.max_cell_seconds:g} s cap per cell"
    )


def _cpu(cell: CellResult) -> str:
    ms = cell.server_cpu_ms
    return "    -   " if ms is None else f"{ms:6.1f}ms"


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = {} if args.pool_size is None else {"GATEWAY_DB_POOL_SIZE": str(args.pool_size)}
    if args.floor_gc_tuned:
        env["BENCH_FLOOR_GC_TUNED"] = "1"  # bench.handwritten.GC_TUNED_ENV
    return env


def pool_size(args: argparse.Namespace) -> int:
    if args.pool_size is not None:
        return int(args.pool_size)
    return int(Settings.model_fields["db_pool_size"].default)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_config(
    shop: Shop,
    latency_ms: float,
    args: argparse.Namespace,
    run: RunResult,
) -> ConfigResult:
    config = Config(shop.backend, latency_ms)
    result = ConfigResult(config, load_before=os.getloadavg()[0])
    log(f"== {config.title}")
    log_dir = RESULTS_DIR / "logs"
    t0 = time.perf_counter()
    running = servers.start_all(args.variants, shop, latency_ms, log_dir, server_env(args))
    log(f"   {len(running)} servers started in {time.perf_counter() - t0:.1f} s")
    reference: dict[str, Any] = {}
    try:
        for variant in args.variants:
            # One server at a time touches the databases: a server's pool connects lazily,
            # so the idle ones hold no connection (PostgreSQL's max_connections is shared).
            server = running[variant]
            verify(server, shop, args.scenarios, reference, result)
            for name in args.scenarios:
                server = measure_scenario(server, name, shop, latency_ms, args, result)
                running[variant] = server
            if variant == "floor" and run.client_ceiling is None and not args.quick:
                run.client_ceiling = client_ceiling(server, args)
            server.stop()  # its pooled connections go with it
    finally:
        for server in running.values():
            server.stop()
    result.load_after = os.getloadavg()[0]
    return result


def verify(
    server: servers.Server,
    shop: Shop,
    scenarios: list[str],
    reference: dict[str, Any],
    result: ConfigResult,
) -> None:
    """The server answers every screen with the gateway's exact JSON (compared parsed; the
    gateway runs first and sets ``reference``), and what one request costs in source calls.
    """
    for name in scenarios:
        scenario = SCENARIOS[name]
        payload = server.fetch(scenario, shop.detail_slug)
        if name not in reference:
            reference[name] = payload
        else:
            where = first_difference(reference[name], payload)
            if where is not None:
                raise Mismatch(
                    f"{server.variant} answers {name} differently from the gateway "
                    f"({result.config.title}): {where}"
                )
        result.calls[(name, server.variant)] = server.calls_per_query(scenario, shop.detail_slug)


def measure_scenario(
    server: servers.Server,
    name: str,
    shop: Shop,
    latency_ms: float,
    args: argparse.Namespace,
    result: ConfigResult,
) -> servers.Server:
    """Every concurrency of one screen on one server; returns the server to go on with
    (a fresh one after a capped cell)."""
    variant = server.variant
    method, path, body = server.request(SCENARIOS[name], shop.detail_slug)
    calls = sum(result.calls[(name, variant)].values())
    for conc in args.concurrency:
        skip = _hopeless(result, name, variant, conc, args)
        if skip is not None:
            result.skipped[(name, variant, conc)] = skip
            log(f"   {variant:8} {name:10} c={conc:<3} not run: {skip}")
            continue
        request = build_request(
            server.host, server.port, method, path, body, servers.auth_headers(SCENARIOS[name])
        )
        cpu_before = server.cpu_seconds()
        cell = run_async(
            run_cell(
                server.host,
                server.port,
                request,
                concurrency=conc,
                warmup=args.warmup,
                duration=args.duration,
                min_requests=args.min_requests,
                max_seconds=args.max_cell_seconds,
            )
        )
        cell.server_cpu = server.cpu_seconds() - cpu_before
        result.cells[(name, variant, conc)] = cell
        log(
            f"   {variant:8} {name:10} c={conc:<3} {cell.rps:9.1f} req/s  "
            f"p50 {cell.percentile(50):7.2f} ms  p99 {cell.percentile(99):7.2f} ms  "
            f"{calls:4} calls/query  server cpu/req {_cpu(cell)}  "
            f"client cpu {cell.client_cpu:4.0%}"
            + ("  (capped, server restarted)" if cell.truncated else "")
            + (f"  ERRORS {cell.errors}: {cell.first_error}" if cell.errors else "")
        )
        if cell.truncated:
            # The server is still working on the abandoned requests: a fresh one keeps
            # them out of the next cell.
            server.stop()
            server = servers.start(
                variant, shop, latency_ms, RESULTS_DIR / "logs", server_env(args)
            )
    return server


def client_ceiling(server: servers.Server, args: argparse.Namespace) -> CellResult:
    """How fast the load generator drives a trivial endpoint: the bound on any cell."""
    conc = max(args.concurrency)
    request = build_request(server.host, server.port, "GET", "/healthz")
    cell = run_async(
        run_cell(
            server.host,
            server.port,
            request,
            concurrency=conc,
            warmup=args.warmup,
            duration=args.duration,
        )
    )
    log(
        f"   client ceiling (floor /healthz, c={conc}): {cell.rps:.0f} req/s, "
        f"client cpu {cell.client_cpu:.0%}"
    )
    return cell


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Storefront benchmarks: gateway vs N+1 (loaders off) vs a hand-written "
        "floor, over HTTP, on SQLite and PostgreSQL.",
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="default both"
    )
    parser.add_argument(
        "--source-latency-ms",
        type=float,
        nargs="+",
        default=None,
        metavar="MS",
        help="simulated round trip per source call, held on a pooled connection; one table "
        "per value (default: 0 2; 0 with --quick)",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=tuple(SCENARIOS),
        default=list(SCENARIOS),
        help="default: all",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=servers.VARIANTS,
        default=list(servers.VARIANTS),
        help="default: all (the gateway always runs: it is the reference)",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="default: 1 16")
    parser.add_argument(
        "--duration", type=float, default=None, help="measured seconds per cell (default 1.5)"
    )
    parser.add_argument(
        "--warmup", type=float, default=None, help="warm-up seconds per cell (default 0.3)"
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=None,
        help="a cell's window stretches until this many responses (default 2; 1 with --quick)",
    )
    parser.add_argument(
        "--max-cell-seconds",
        type=float,
        default=None,
        help="cap on one cell, warm-up included; requests still in flight then are "
        "abandoned and the server restarted (default 15; 6 with --quick)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="GATEWAY_DB_POOL_SIZE for every server (default: the gateway's own default); "
        "lower it if PostgreSQL runs out of connections (N+1 opens up to 2x this per source)",
    )
    parser.add_argument(
        "--floor-gc-tuned",
        action="store_true",
        help="give the floor's process the gateway's collector settings (gateway/asgi.py: "
        "start-up heap frozen, young collections at 10,000): the floor as tuned as the gateway",
    )
    parser.add_argument(
        "--products", type=int, default=1000, help="size of the seeded shop (default 1000)"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="rebuild the bench shops even if up to date"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: latency 0 only, short cells (0.3 s), no client ceiling, no profile",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profile the gateway's listing in-process with pyinstrument (default: on, off "
        "with --quick)",
    )
    parser.add_argument(
        "--profile-only", action="store_true", help="only the profile, no HTTP benchmarks"
    )
    parser.add_argument(
        "--executors",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare the executors in-process: CPU per execution, peak memory (default on)",
    )
    parser.add_argument(
        "--executors-only", action="store_true", help="only the in-process executor comparison"
    )
    parser.add_argument(
        "--profile-requests", type=int, default=50, help="listing requests profiled"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.md", help="markdown report"
    )
    args = parser.parse_args(argv)
    if args.source_latency_ms is None:
        args.source_latency_ms = [0.0] if args.quick else [0.0, 2.0]
    if any(ms < 0 for ms in args.source_latency_ms):
        parser.error("--source-latency-ms must not be negative")
    if any(c < 1 for c in args.concurrency):
        parser.error("--concurrency must be at least 1")
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (0.3 if quick else 1.5)
    args.warmup = args.warmup if args.warmup is not None else (0.1 if quick else 0.3)
    args.min_requests = args.min_requests or (1 if quick else 2)
    if args.max_cell_seconds is None:
        args.max_cell_seconds = 6.0 if quick else 15.0
    if args.profile is None:
        args.profile = not quick
    args.profile = (args.profile or args.profile_only) and not args.executors_only
    args.scenarios = list(dict.fromkeys(args.scenarios))
    args.variants = [v for v in servers.VARIANTS if v == "gateway" or v in args.variants]
    args.concurrency = sorted(set(args.concurrency))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    measurement = Measurement.begin("storefront", "bench", argv)
    started = time.perf_counter()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    run = RunResult(
        machine=machine(),
        command=command.strip(),
        settings=(
            f"Shop: demo seed, {args.products} products. Each cell: {args.warmup:g} s warm-up, "
            f"{args.duration:g} s measured (stretched to at least {args.min_requests} "
            f"responses, capped at {args.max_cell_seconds:g} s per cell: a capped cell "
            "counts what completed and restarts the server); closed loop over N keep-alive "
            "connections. Servers: one uvicorn worker each, started together, measured one at "
            f"a time (the others idle), GATEWAY_DB_POOL_SIZE={pool_size(args)}, no sweeper "
            "(GATEWAY_SWEEP_INTERVAL_SECONDS=0: no hold or unpaid order expires mid-run)."
        ),
    )
    shops: dict[str, Shop] = {}
    for variant in servers.VARIANTS:  # keep only this run's server logs
        for old_log in (RESULTS_DIR / "logs").glob(f"{servers.log_name(variant)}-*.log"):
            old_log.unlink()
    for backend in backends:
        if backend == "postgresql":
            reason = asyncio.run(postgres_unavailable())
            if reason is not None:
                if args.backend == "postgresql":
                    log(f"PostgreSQL is unreachable: {reason}")
                    return 2
                log(f"skipping PostgreSQL (unreachable: {reason})")
                run.notes.append(f"PostgreSQL skipped: unreachable ({reason}).")
                continue
        shop = asyncio.run(prepare(backend, args.products, reseed=args.reseed))
        log(
            f"{backend}: shop of {shop.products} products "
            f"{'seeded' if shop.seeded_now else 'reused'}; detail page: {shop.detail_slug}"
        )
        shops[backend] = shop

    if not (args.profile_only or args.executors_only):
        for shop in shops.values():
            for latency in args.source_latency_ms:
                try:
                    run.configs.append(bench_config(shop, latency, args, run))
                except RuntimeError as exc:
                    if "too many clients" in str(exc):
                        log(
                            "PostgreSQL ran out of connections (max_connections is shared "
                            "with everything else on it); try a smaller --pool-size"
                        )
                    raise

    executors: dict[str, Any] | None = None
    if args.executors:
        from .executor import figures, measure, section

        shop = shops.get("sqlite") or asyncio.run(prepare("sqlite", args.products))
        runs = 5 if args.quick else 20
        log(f"the executors in-process ({runs} executions per screen)")
        measured = measure(shop, args.scenarios, runs)
        run.executors = section(measured)
        executors = figures(measured)

    if args.profile:
        from .profile import profile_listing

        shop = shops.get("sqlite") or asyncio.run(prepare("sqlite", args.products))
        log(f"profiling the listing ({args.profile_requests} requests, in-process)")
        run.profile = profile_listing(
            shop, requests=args.profile_requests, html_path=RESULTS_DIR / "profile-listing.html"
        )

    run.notes.append(f"Total run time {time.perf_counter() - started:.0f} s.")
    report = render(run, args.scenarios, args.concurrency)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n")
    print(report)
    log(f"written to {args.output}")
    if not args.profile_only:
        measurement.save(
            run_figures(run)
            | {
                "products": args.products,
                "quick": args.quick,
                "scenarios": args.scenarios,
                "variants": args.variants,
                "concurrency": args.concurrency,
                "executors": executors,
            }
        )
    if run.errors:
        log(f"{run.errors} failed requests (see the tables)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
