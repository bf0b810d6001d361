"""The flash sale: a crowd of distinct buyers, one SKU, a small stock, each buyer trying
once.

``python -m bench.flash_sale --backend sqlite|postgresql --buyers 2000 --units 100`` seeds
a shop with that many customers (``gateway seed --customers``), gives one plain SKU
exactly ``units`` free units, starts the gateway as a uvicorn process, lets every buyer
put the SKU in a cart with an address (before the sale: not timed), then opens the sale:
every buyer sends ``checkoutComplete`` once, at most ``--concurrency`` in flight.

It reports attempts answered per second, orders, p50/p99 of the answers, the server's CPU
per attempt, and checks what must hold: exactly ``units`` orders (in the orders table, not
only in the answers), every other buyer answered ``INSUFFICIENT_STOCK``, no HTTP error, no
GraphQL error, no timeout, the SKU's stock at zero and never below.

The gateway is one worker (``uvicorn gateway.asgi:app``) unless ``--workers N`` serves N
(``gateway serve --workers N``, as issue 15's target has it at 2); with two, give
``--pool-size`` (6 is enough: each worker's door lets 16 requests in) or PostgreSQL's 100
connections, shared with whatever else runs, can run out.

``--timeline`` adds where the slowest answers come from (bench/flash_sale_timeline.py):
each attempt's latency by when it was sent and by outcome, in 100 ms buckets, joined to
the server's own time for it (the gateway's request log, on for that run only: it costs
the server some CPU, so a run with it is not compared with one without).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings
from sources.common.db import Database

from .checkout import ADDRESS, CheckoutShop, GatewayProcess, _percentile, _sku_gid, prepare_shop
from .client import GraphQLClient
from .client import run as run_on_uvloop
from .flash_sale_timeline import LoopLag, Sent, format_timeline, join, read_request_log, write_csv
from .shop import ROOT

CART_CREATE = """
mutation CartCreate($input: CartCreateInput!) {
  cartCreate(input: $input) {
    cart { id cost { total { amount } } validation { ok } }
    userErrors { code message }
  }
}"""
CHECKOUT = """
mutation CheckoutComplete($cartId: ID!, $key: String!, $total: Decimal!) {
  checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) {
    order { id number }
    userErrors { code message }
  }
}"""


async def _post(
    client: GraphQLClient, query: str, variables: dict[str, Any], token: str, request_id: str = ""
) -> tuple[int, dict[str, Any] | None]:
    """(status, body); status -1 when the request timed out or its connection failed."""
    try:
        status, body = await client.post(query, variables, token, request_id)
    except (TimeoutError, ConnectionError, OSError):
        return -1, None
    return (status, body) if status == 200 else (status, None)


async def _bounded(concurrency: int, jobs: Sequence[Any]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def run_flash_sale(
    base_url: str,
    tokens: Sequence[str],
    sku_id: int,
    *,
    concurrency: int,
    request_seconds: float,
    server_cpu: Callable[[], float] = lambda: 0.0,
    lag: LoopLag | None = None,
) -> dict[str, Any]:
    cart_input = {"lines": [{"skuId": _sku_gid(sku_id), "quantity": 1}], "shippingAddress": ADDRESS}
    async with GraphQLClient(base_url, idle=concurrency, timeout_s=request_seconds) as client:

        def create(token: str) -> Any:
            return lambda: _post(client, CART_CREATE, {"input": cart_input}, token)

        created = await _bounded(concurrency, [create(t) for t in tokens])
        carts: list[tuple[str, dict[str, Any]]] = []
        for token, (status, body) in zip(tokens, created, strict=True):
            if status != 200 or body is None or body.get("errors"):
                raise RuntimeError(f"cartCreate before the sale failed: {status} {body}")
            carts.append((token, body["data"]["cartCreate"]["cart"]))

        def attempt(token: str, cart: dict[str, Any]) -> Any:
            async def go() -> tuple[float, int, dict[str, Any] | None, str, float, float]:
                request_id, sent_at = uuid.uuid4().hex, time.time()
                started = time.perf_counter()
                variables = {
                    "cartId": cart["id"],
                    "key": uuid.uuid4().hex,
                    "total": cart["cost"]["total"]["amount"],
                }
                status, body = await _post(client, CHECKOUT, variables, token, request_id)
                took = time.perf_counter() - started
                return took, status, body, request_id, sent_at, started - opened

            return go

        cpu_before, opened = server_cpu(), time.perf_counter()
        with lag.running(opened) if lag is not None else nullcontext():
            answers = await _bounded(concurrency, [attempt(t, c) for t, c in carts])
        elapsed = time.perf_counter() - opened
        sale_cpu_ms = (server_cpu() - cpu_before) * 1000

    outcomes: Counter[str] = Counter()
    seconds: list[float] = []
    loser_seconds: list[float] = []
    numbers: list[str] = []
    timeline: list[Sent] = []
    for took, status, body, request_id, sent_at, since in answers:
        won = None if status != 200 or body is None or body.get("errors") else (
            body["data"]["checkoutComplete"]["order"] is not None
        )  # fmt: skip
        timeline.append(Sent(request_id, sent_at, since, took, won))
        if status != 200 or body is None:
            outcomes["timeout" if status == -1 else f"HTTP {status}"] += 1
            continue
        if body.get("errors"):
            outcomes["GraphQL error"] += 1
            continue
        seconds.append(took)
        payload = body["data"]["checkoutComplete"]
        if payload["order"] is not None:
            outcomes["order"] += 1
            numbers.append(payload["order"]["number"])
        else:
            loser_seconds.append(took)
            outcomes[",".join(sorted(e["code"] for e in payload["userErrors"]))] += 1
    return {
        "attempts": len(answers),
        "seconds": round(elapsed, 2),
        "attempts_per_s": round(len(answers) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile([s * 1000 for s in seconds], 50), 1),
        "p99_ms": round(_percentile([s * 1000 for s in seconds], 99), 1),
        "loser_p50_ms": round(_percentile([s * 1000 for s in loser_seconds], 50), 1),
        "loser_p99_ms": round(_percentile([s * 1000 for s in loser_seconds], 99), 1),
        "server_cpu_ms_per_attempt": round(sale_cpu_ms / len(answers), 1) if answers else 0,
        "outcomes": dict(outcomes),
        "numbers": numbers,
        "sent": timeline,
    }


async def _stock_and_orders(urls: dict[str, str], sku_id: int) -> tuple[int, int, int]:
    """(free units, rows below zero, order lines of the SKU), read from the tables."""
    inventory = Database(urls["inventory"], pool_size=1)
    orders = Database(urls["orders"], pool_size=1)
    try:
        async with inventory.connect() as conn:
            free, negative = (
                await conn.execute(
                    text(
                        "SELECT COALESCE(SUM(on_hand - reserved), 0), "
                        "COALESCE(SUM(CASE WHEN reserved < 0 OR on_hand < reserved "
                        "THEN 1 ELSE 0 END), 0) FROM stock_items WHERE sku_id = :s"
                    ),
                    {"s": sku_id},
                )
            ).one()
        async with orders.connect() as conn:
            sold = await conn.scalar(
                text("SELECT COUNT(*) FROM order_lines WHERE sku_id = :s"), {"s": sku_id}
            )
    finally:
        await inventory.dispose()
        await orders.dispose()
    return int(free), int(negative), int(sold or 0)


async def bench_flash_sale(
    backend: str,
    *,
    buyers: int,
    units: int,
    concurrency: int,
    request_seconds: float,
    timeline: bool = False,
    max_in_flight: int | None = None,
    workers: int = 1,
    pool_size: int | None = None,
) -> dict[str, Any]:
    shop = await prepare_shop(backend, 240, crowd=buyers + 50)
    try:  # a run that fails (the database out of connections) leaves no database behind
        return await _sale_in(
            shop,
            buyers=buyers,
            units=units,
            concurrency=concurrency,
            request_seconds=request_seconds,
            timeline=timeline,
            max_in_flight=max_in_flight,
            workers=workers,
            pool_size=pool_size,
        )
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()


async def _sale_in(
    shop: CheckoutShop,
    *,
    buyers: int,
    units: int,
    concurrency: int,
    request_seconds: float,
    timeline: bool,
    max_in_flight: int | None,
    workers: int,
    pool_size: int | None,
) -> dict[str, Any]:
    backend = shop.backend
    sku_id = shop.sku_ids[0]
    db = Database(shop.urls["inventory"], pool_size=1)
    try:
        async with db.begin() as conn:  # exactly ``units`` free, in the first warehouse row
            rows = await conn.execute(
                text("SELECT warehouse_id FROM stock_items WHERE sku_id = :s ORDER BY 1"),
                {"s": sku_id},
            )
            for index, (warehouse_id,) in enumerate(list(rows)):
                await conn.execute(
                    text(
                        "UPDATE stock_items SET on_hand = reserved + :n "
                        "WHERE sku_id = :s AND warehouse_id = :w"
                    ),
                    {"n": units if index == 0 else 0, "s": sku_id, "w": warehouse_id},
                )
    finally:
        await db.dispose()
    logs = ROOT / "bench" / "results" / "logs"
    server = GatewayProcess(
        shop,
        logs / f"flash-sale-{backend}.log",
        pool_size,
        request_log=timeline,
        max_in_flight=max_in_flight,
        workers=workers,
    )
    lag = LoopLag() if timeline else None
    try:
        settings = Settings()
        crowd = [c for c in shop.customer_ids if c > 50][:buyers]
        tokens = [issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c)) for c in crowd]
        cpu_before = server.cpu_seconds()
        result = await run_flash_sale(
            server.url,
            tokens,
            sku_id,
            concurrency=concurrency,
            request_seconds=request_seconds,
            server_cpu=server.cpu_seconds,
            lag=lag,
        )
        # The server's CPU over the whole run (carts before the sale included) per buyer.
        result["server_cpu_ms_per_buyer"] = round(
            (server.cpu_seconds() - cpu_before) * 1000 / max(len(tokens), 1), 1
        )
    finally:
        server.stop()
    free, negative, sold = await _stock_and_orders(shop.urls, sku_id)
    orders = result["outcomes"].get("order", 0)
    losers = result["outcomes"].get("INSUFFICIENT_STOCK", 0)
    result.update(
        backend=backend,
        workers=workers,
        buyers=len(tokens),
        units=units,
        free_after=free,
        negative_rows=negative,
        order_lines_in_table=sold,
        load_average=round(os.getloadavg()[0], 1),
        ok=orders == units == sold and losers == len(tokens) - units and free == 0 and not negative,
    )
    result.pop("numbers")
    sent: list[Sent] = result.pop("sent")
    if lag is not None:
        served = read_request_log(server.log_path, {s.request_id for s in sent})
        attempts = join(sent, served)
        write_csv(logs / f"flash-sale-timeline-{backend}-c{concurrency}.csv", attempts)
        result["timeline"] = format_timeline(attempts, lag)
    return result


def format_row(r: dict[str, Any]) -> str:
    return (
        f"  {r['backend']:10} {r['workers']}w {r['buyers']} buyers for {r['units']} units: "
        f"{r['attempts_per_s']:7.1f} attempts/s  "
        f"p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms "
        f"(losers p50 {r['loser_p50_ms']:.1f} / p99 {r['loser_p99_ms']:.1f})  "
        f"server cpu {r['server_cpu_ms_per_attempt']:.1f} ms/attempt "
        f"({r['server_cpu_ms_per_buyer']:.1f} ms/buyer with the cart)  outcomes {r['outcomes']}  "
        f"in table {r['order_lines_in_table']}  free after {r['free_after']}  "
        f"{'OK' if r['ok'] else 'WRONG'}  (load {r['load_average']})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.flash_sale", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="latency by send time and outcome, joined to the server's request log",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="the server's GATEWAY_MAX_IN_FLIGHT (0: no door); unset: its default",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway worker processes (GATEWAY_WORKERS; issue 15's target is at 2)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="GATEWAY_DB_POOL_SIZE per source and worker (PostgreSQL's 100 connections are "
        "shared: two workers at the default 10 can run out); unset: its default",
    )
    args = parser.parse_args(argv)
    if not 0 < args.units < args.buyers:
        parser.error("need 0 < units < buyers")
    wrong = False
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        result = run_on_uvloop(
            bench_flash_sale(
                backend, buyers=args.buyers, units=args.units,
                concurrency=args.concurrency, request_seconds=args.timeout,
                timeline=args.timeline, max_in_flight=args.max_in_flight,
                workers=args.workers, pool_size=args.pool_size,
            )
        )  # fmt: skip
        print(format_row(result), file=sys.stderr, flush=True)
        if "timeline" in result:
            print(result["timeline"], file=sys.stderr, flush=True)
        if args.max_in_flight is not None:
            print(f"  (GATEWAY_MAX_IN_FLIGHT={args.max_in_flight})", file=sys.stderr, flush=True)
        wrong = wrong or not result["ok"]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
