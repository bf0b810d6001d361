"""What tracing costs: the signed-in listing's server CPU per request with tracing off and
with tracing on (OTLP over HTTP to a receiver on loopback) at a sampling rate.

The same gateway (caches on, as `make run` starts it; the listing asks for the customer's
own ``viewer`` too, so the response cache cannot answer it and every request executes) is
started once per setting, and the settings take turns for several rounds, so a machine busy
with other work weighs on both alike. CPU per request (the server process's user + system
time over the requests it answered) is the figure: it holds on a busy machine, where req/s
does not. Target: under 5% more CPU at 10% sampling. The figures are also written to
bench/results/tracing.json (docs/benchmarks.md is rendered from it).

    python -m bench.tracing [--products 1000] [--ratio 0.1] [--rounds 3] [--duration 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from .load import build_request, run_cell
from .provenance import Measurement
from .queries import LISTING_PERSONAL
from .servers import BENCH_JWT_SECRET, free_port, start
from .shop import prepare


@contextmanager
def otlp_sink() -> Iterator[tuple[str, list[int]]]:
    """A receiver that takes OTLP/HTTP exports and counts their bytes (in this process:
    its CPU is not the server's)."""
    received: list[int] = []

    async def take(request: Request) -> Response:
        received.append(len(await request.body()))
        return Response(b"", media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/v1/traces", take, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def customer_token() -> str:
    settings = Settings(jwt_secret=BENCH_JWT_SECRET, jwt_audience=None, jwt_issuer=None)
    return issue_token(settings, kind=ViewerKind.CUSTOMER, subject="1")


async def measure(port: int, request: bytes, duration: float, concurrency: int) -> int:
    cell = await run_cell(
        "127.0.0.1",
        port,
        request,
        concurrency=concurrency,
        warmup=1.0,
        duration=duration,
        max_seconds=duration * 4,
    )
    if cell.errors:
        raise RuntimeError(f"{cell.errors} failed requests: {cell.first_error}")
    return cell.completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--ratio", type=float, default=0.1, help="OTEL_TRACES_SAMPLER_ARG")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    measurement = Measurement.begin("tracing", "bench.tracing")

    shop = asyncio.run(prepare("sqlite", args.products))
    body = orjson.dumps({"query": LISTING_PERSONAL, "operationName": "BenchListingPersonal"})
    headers = {"Authorization": f"Bearer {customer_token()}"}
    logs = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    cpu_ms: dict[str, list[float]] = {"off": [], "on": []}
    with otlp_sink() as (collector, received):
        tracing_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": str(args.ratio),
        }
        for round_ in range(args.rounds):
            for setting in ("off", "on"):
                extra = tracing_env if setting == "on" else {}
                server = start("cached", shop, 0.0, logs, extra)
                try:
                    request = build_request(
                        "127.0.0.1", server.port, "POST", "/graphql", body, headers
                    )
                    asyncio.run(measure(server.port, request, 1.0, args.concurrency))  # warm
                    cpu_before = server.cpu_seconds()
                    answered = asyncio.run(
                        measure(server.port, request, args.duration, args.concurrency)
                    )
                    cpu = server.cpu_seconds() - cpu_before
                finally:
                    server.stop()
                cpu_ms[setting].append(cpu / answered * 1000)
                print(
                    f"round {round_ + 1} tracing {setting:>3}: {answered:5d} requests, "
                    f"{cpu_ms[setting][-1]:.2f} ms CPU per request",
                    flush=True,
                )
    off, on = statistics.median(cpu_ms["off"]), statistics.median(cpu_ms["on"])
    print(
        f"signed-in listing, {args.products} products, sampling {args.ratio:g}: "
        f"{off:.2f} ms CPU/request off, {on:.2f} ms on: {(on / off - 1) * 100:+.1f}% "
        f"({len(received)} OTLP exports, {sum(received):,} bytes received)"
    )
    measurement.save(
        {
            "products": args.products,
            "ratio": args.ratio,
            "rounds": args.rounds,
            "duration_s": args.duration,
            "concurrency": args.concurrency,
            "cpu_ms_off": cpu_ms["off"],
            "cpu_ms_on": cpu_ms["on"],
            "median_off_ms": off,
            "median_on_ms": on,
            "exports": len(received),
            "export_bytes": sum(received),
        }
    )


if __name__ == "__main__":
    main()
