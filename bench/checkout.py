"""The checkout scenario: buyers placing orders over HTTP, as a storefront does it.

One *checkout* is three requests: ``cartCreate`` with 3 lines, ``cartShippingAddressSet``,
``checkoutComplete`` with the total the cart showed (``--flow three``), or the two of issue
15's figures (``--flow two``): ``cartCreate`` with the lines and the address, then
``checkoutComplete``. ``run_checkout_bench`` drives ``concurrency`` buyers in a closed loop,
first for ``warmup`` seconds not measured (connection pools opening, plans being made: a
server's first second, reported apart), then for ``duration`` seconds, and reports orders/s, p50
and p99 of a whole checkout (and of ``checkoutComplete`` alone), the source calls one
checkout costs, and whether every order a buyer was told about is in the orders table
exactly once (lost or duplicate orders are the failure this benchmark exists to catch).

``python -m bench.checkout --backend sqlite|postgresql`` seeds a shop of its own (SQLite
files in a temporary directory, or a throwaway PostgreSQL database; never the read-only
bench shops of ``python -m bench``), gives its SKUs a stock no run can exhaust, starts the
gateway as a uvicorn process and measures each concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from sources.demo.seed import seed_demo_shop

from .client import GraphQLClient
from .client import run as run_on_uvloop
from .servers import HTTP, LOOP, SCRUBBED_PREFIXES, free_port, process_cpu_seconds
from .shop import PG_ADMIN_DATABASE, PG_HOST, PG_PORT, PG_USER, ROOT

LINES_PER_CHECKOUT = 3
STOCK = 10_000_000  # on hand per stocked warehouse row: no run sells out
ADDRESS = {
    "name": "Wang Wei",
    "phone": "13800138000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "1 Renmin Road",
    "postalCode": "200000",
}

CART_CREATE = """
mutation CartCreate($input: CartCreateInput!) {
  cartCreate(input: $input) {
    cart { id lines { id quantity sku { id } } cost { total { amount } } }
    userErrors { code message }
  }
}"""
CART_CREATE_ADDRESSED = """
mutation CartCreate($input: CartCreateInput!) {
  cartCreate(input: $input) {
    cart { id cost { subtotal { amount } shippingTotal { amount } total { amount } } }
    userErrors { code message }
  }
}"""
ADDRESS_SET = """
mutation CartShippingAddressSet($cartId: ID!, $address: AddressInput!) {
  cartShippingAddressSet(cartId: $cartId, address: $address) {
    cart { id cost { subtotal { amount } shippingTotal { amount } total { amount } } }
    userErrors { code message }
  }
}"""
CHECKOUT = """
mutation CheckoutComplete($cartId: ID!, $key: String!, $total: Decimal!) {
  checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) {
    order { id number status cost { total { amount } } }
    userErrors { code message }
  }
}"""


# ---------------------------------------------------------------------------------------
# One checkout, many buyers
# ---------------------------------------------------------------------------------------


class CheckoutFailed(Exception):
    """A checkout step did not do its job; ``reason`` is what failures are counted by."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass
class Flow:
    """One buyer's checkout as the client saw it."""

    started: float
    seconds: float = 0.0
    complete_seconds: float = 0.0
    cart_token: str | None = None
    order_number: str | None = None
    error: str | None = None
    reason: str | None = None


def _sku_gid(sku_id: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"Sku:{sku_id}".encode()).decode()


def _cart_token(global_id: str) -> str:
    import base64

    return base64.urlsafe_b64decode(global_id).decode().split(":", 1)[1]


def payload_of(name: str, status: int, body: Any) -> dict[str, Any]:
    """The mutation's payload from an answer, or ``CheckoutFailed`` saying what went wrong."""
    if status != 200 or body is None:
        raise CheckoutFailed(f"{name} HTTP {status}", str(body)[:300])
    if body.get("errors"):
        raise CheckoutFailed(f"{name} GraphQL error", str(body["errors"][0].get("message")))
    payload: dict[str, Any] = body["data"][name]
    if payload["userErrors"]:
        codes = ",".join(e["code"] for e in payload["userErrors"])
        raise CheckoutFailed(f"{name} {codes}", payload["userErrors"][0]["message"])
    return payload


async def _graphql(
    client: GraphQLClient, query: str, variables: dict[str, Any], token: str, name: str
) -> dict[str, Any]:
    status, body = await client.post(query, variables, token)
    return payload_of(name, status, body)


FLOWS = {
    "three": "cartCreate with 3 lines, cartShippingAddressSet, checkoutComplete",
    "two": "cartCreate with 3 lines and the address, checkoutComplete",
}


async def checkout_once(
    client: GraphQLClient,
    token: str,
    sku_ids: Sequence[int],
    rng: random.Random,
    flow_name: str = "three",
) -> Flow:
    """One checkout as ``FLOWS[flow_name]`` says; what the buyer saw."""
    flow = Flow(started=time.perf_counter())
    try:
        chosen = rng.sample(list(sku_ids), min(LINES_PER_CHECKOUT, len(sku_ids)))
        lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in chosen]
        if flow_name == "two":
            addressed = await _graphql(
                client, CART_CREATE_ADDRESSED,
                {"input": {"lines": lines, "shippingAddress": ADDRESS}}, token, "cartCreate",
            )  # fmt: skip
            cart_id = addressed["cart"]["id"]
            flow.cart_token = _cart_token(cart_id)
        else:
            created = await _graphql(
                client, CART_CREATE, {"input": {"lines": lines}}, token, "cartCreate"
            )
            cart_id = created["cart"]["id"]
            flow.cart_token = _cart_token(cart_id)
            addressed = await _graphql(
                client, ADDRESS_SET, {"cartId": cart_id, "address": ADDRESS}, token,
                "cartShippingAddressSet",
            )  # fmt: skip
        total = addressed["cart"]["cost"]["total"]["amount"]
        before = time.perf_counter()
        placed = await _graphql(
            client,
            CHECKOUT,
            {"cartId": cart_id, "key": uuid.uuid4().hex, "total": total},
            token,
            "checkoutComplete",
        )
        flow.complete_seconds = time.perf_counter() - before
        flow.order_number = placed["order"]["number"]
    except CheckoutFailed as exc:
        flow.reason, flow.error = exc.reason, str(exc)[:300]
    except (ConnectionError, OSError, TimeoutError) as exc:
        flow.reason, flow.error = type(exc).__name__, f"{type(exc).__name__}: {exc}"[:300]
    flow.seconds = time.perf_counter() - flow.started
    return flow


async def source_calls(client: GraphQLClient) -> dict[str, float]:
    """gateway_source_calls_total by 'source.method', from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(await client.get_text("/metrics")):
        if family.name == "gateway_source_calls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[f"{sample.labels['source']}.{sample.labels['method']}"] = sample.value
    return counts


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    return {k: int(v - before.get(k, 0)) for k, v in after.items() if v > before.get(k, 0)}


def _machine_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (Linux /proc/stat, idle and iowait
    left out): beside the server's and the client's own, what the database and the
    neighbours took."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _orders_for_carts(orders_database_url: str, carts: list[str]) -> list[tuple[str, str]]:
    """(cart id, order number) of every order placed from these carts, from the table."""
    db = Database(orders_database_url, pool_size=1)
    found: list[tuple[str, str]] = []
    try:
        async with db.connect() as conn:
            for start in range(0, len(carts), 500):
                chunk = carts[start : start + 500]
                names = ", ".join(f":c{i}" for i in range(len(chunk)))
                rows = await conn.execute(
                    text(f"SELECT cart_id, number FROM orders WHERE cart_id IN ({names})"),
                    {f"c{i}": c for i, c in enumerate(chunk)},
                )
                found.extend((str(c), str(n)) for c, n in rows)
    finally:
        await db.dispose()
    return found


async def _orders_seen_by_buyers(
    client: GraphQLClient, tokens: Sequence[str]
) -> list[tuple[str, str]]:
    """Without database access: every order number of these buyers (GraphQL does not say
    which cart an order came from, so only lost orders can be told this way)."""
    numbers: list[tuple[str, str]] = []
    query = """query Mine($first: Int, $after: String) { viewer { orders(first: $first,
      after: $after) { pageInfo { hasNextPage endCursor } edges { node { number } } } } }"""
    for token in set(tokens):
        after = None
        while True:
            _, body = await client.post(query, {"first": 100, "after": after}, token)
            page = body["data"]["viewer"]["orders"]
            numbers.extend(("?", e["node"]["number"]) for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return numbers


async def run_checkout_bench(
    base_url: str,
    tokens: Sequence[str],
    sku_ids: Sequence[int],
    concurrency: int,
    duration: float,
    *,
    orders_database_url: str | None = None,
    seed: int = 0,
    flow_name: str = "three",
    warmup: float = 0.0,
    server_cpu_seconds: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Closed loop: ``concurrency`` buyers (buyer i uses ``tokens[i % len(tokens)]``), each
    starting its next checkout when the last one is answered, for ``warmup`` seconds (its
    orders are checked, its times reported apart as ``warmup_*``) and then ``duration``
    seconds measured (``server_cpu_seconds``, if given, is read around that part alone).

    Returns orders/s, p50/p99 of a whole checkout and of ``checkoutComplete`` (ms), failed
    checkouts by reason, source calls per checkout (one checkout measured alone first, and
    the average under load), and the order check: ``lost`` (an order a buyer was told about
    that is not in the orders table), ``duplicates`` (orders in the table nobody was told
    about, or one number told twice), read from the table when ``orders_database_url`` is
    given, else from each buyer's ``viewer.orders``.
    """
    if concurrency < 1 or not tokens or len(sku_ids) < LINES_PER_CHECKOUT:
        raise ValueError("need concurrency >= 1, a token and at least 3 SKUs")
    async with GraphQLClient(base_url, idle=concurrency + 2) as client:
        rng = random.Random(seed)
        # One checkout alone: what it costs in source calls (and a warm-up).
        before = await source_calls(client)
        alone = await checkout_once(client, tokens[0], sku_ids, rng, flow_name)
        if alone.error:
            raise CheckoutFailed("a checkout on an idle server failed", alone.error)
        calls_alone = _delta(before, await source_calls(client))

        async def crowd(seconds: float, into: list[Flow], round_: int) -> None:
            deadline = time.perf_counter() + seconds

            async def buyer(index: int) -> None:
                token = tokens[index % len(tokens)]
                buyer_rng = random.Random((seed * 1000 + index + 1) * 10 + round_)
                while time.perf_counter() < deadline:
                    into.append(await checkout_once(client, token, sku_ids, buyer_rng, flow_name))

            await asyncio.gather(*(buyer(i) for i in range(concurrency)))

        warmed: list[Flow] = []
        if warmup > 0:
            await crowd(warmup, warmed, 1)
        flows: list[Flow] = [alone, *warmed]
        measured: list[Flow] = []

        before = await source_calls(client)
        started = time.perf_counter()
        client_cpu, machine_cpu = time.process_time(), _machine_cpu_seconds()
        server_cpu = server_cpu_seconds() if server_cpu_seconds else 0.0
        await crowd(duration, measured, 0)
        server_cpu = server_cpu_seconds() - server_cpu if server_cpu_seconds else float("nan")
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        machine_cpu = _machine_cpu_seconds() - machine_cpu
        calls_under_load = _delta(before, await source_calls(client))
        flows += measured

        ok = [f for f in measured if f.order_number is not None]
        told = Counter(f.order_number for f in flows if f.order_number is not None)
        carts = {f.cart_token for f in flows if f.cart_token is not None}
        if orders_database_url is not None:
            in_table = await _orders_for_carts(orders_database_url, sorted(carts))
            source = "orders table"
        else:
            in_table = await _orders_seen_by_buyers(client, tokens)
            source = "viewer.orders"
        table_numbers = Counter(number for _, number in in_table)
        lost = sorted(n for n in told if n not in table_numbers)
        duplicates = sorted(
            {n for n, c in told.items() if c > 1}
            | {n for n, c in table_numbers.items() if c > 1}
            | ({n for n in table_numbers if n not in told} if source == "orders table" else set())
        )

    failures = Counter(f.reason for f in measured if f.reason is not None)
    flow_ms = [f.seconds * 1000 for f in ok]
    complete_ms = [f.complete_seconds * 1000 for f in ok]
    warm_ms = [f.seconds * 1000 for f in warmed if f.order_number is not None]
    return {
        "flow": flow_name,
        "concurrency": concurrency,
        "warmup_seconds": warmup,
        "warmup_checkouts": len(warmed),
        "warmup_failed": sum(1 for f in warmed if f.reason is not None),
        "warmup_p99_ms": round(_percentile(warm_ms, 99), 1),
        "seconds": round(elapsed, 2),
        "checkouts": len(measured),
        "orders": len(ok),
        "orders_per_s": round(len(ok) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(flow_ms, 50), 1),
        "p99_ms": round(_percentile(flow_ms, 99), 1),
        "mean_ms": round(statistics.fmean(flow_ms), 1) if flow_ms else float("nan"),
        "complete_p50_ms": round(_percentile(complete_ms, 50), 1),
        "complete_p99_ms": round(_percentile(complete_ms, 99), 1),
        "failed": dict(failures),
        "first_failure": next((f.error for f in measured if f.error), None),
        "source_calls_per_checkout": sum(calls_alone.values()),
        "source_calls_by_method": calls_alone,
        "source_calls_per_checkout_under_load": round(
            sum(calls_under_load.values()) / len(measured), 1
        )
        if measured
        else None,
        "source_calls_by_method_under_load": {
            k: round(v / len(measured), 2) for k, v in sorted(calls_under_load.items())
        }
        if measured
        else {},
        "server_cpu_ms_per_checkout": round(server_cpu * 1000 / max(len(measured), 1), 1),
        "client_cpu_ms_per_checkout": round(client_cpu * 1000 / max(len(measured), 1), 1),
        "machine_cpu_ms_per_checkout": round(machine_cpu * 1000 / max(len(measured), 1), 1),
        "machine_cpu_busy": round(machine_cpu / elapsed / (os.cpu_count() or 1), 2)
        if elapsed
        else None,
        "orders_checked_against": source,
        "lost": lost,
        "duplicates": duplicates,
    }


# ---------------------------------------------------------------------------------------
# Standalone: a shop and a server of its own
# ---------------------------------------------------------------------------------------


@dataclass
class CheckoutShop:
    backend: str
    urls: dict[str, str]
    sku_ids: list[int]
    customer_ids: list[int]
    cleanup: Any = None


async def _pg_admin(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DATABASE, timeout=5
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def prepare_shop(backend: str, products: int, crowd: int = 50) -> CheckoutShop:
    """A freshly seeded shop for this run only (checkouts write orders and stock)."""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
        urls = {name: f"sqlite+aiosqlite:///{directory}/{name}.db" for name in SOURCE_NAMES}

        async def cleanup() -> None:
            shutil.rmtree(directory, ignore_errors=True)

    elif backend == "postgresql":
        name = f"gw_bench_checkout_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        # As docs/deployment.md advises for a database on SSD or in memory: with the default
        # of 4, a shop this small has its checkout reads scan whole tables where a real
        # catalog's would probe the primary keys.
        await _pg_admin(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
        urls = dict.fromkeys(
            SOURCE_NAMES, f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        )

        async def cleanup() -> None:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    else:
        raise ValueError(f"unknown backend {backend!r}")
    dbs = {source: Database(url) for source, url in urls.items()}
    try:
        for source in SOURCE_NAMES:
            await upgrade_source(source, dbs[source])
        await seed_demo_shop(dbs, products=products, now=datetime.now(UTC), customers=crowd)
        sku_ids = await _plain_skus(dbs)
        async with dbs["inventory"].begin() as conn:
            await conn.execute(
                text(
                    "UPDATE stock_items SET on_hand = reserved + :n "
                    "WHERE sku_id IN (" + ", ".join(str(s) for s in sku_ids) + ")"
                ),
                {"n": STOCK},
            )
        async with dbs["orders"].connect() as conn:
            customers = [
                int(c)
                for (c,) in await conn.execute(
                    text("SELECT id FROM customers WHERE NOT is_blocked ORDER BY id")
                )
            ]
        if backend == "postgresql":  # the planner sees real row counts, as in production
            async with dbs["catalog"].begin() as conn:
                await conn.execute(text("ANALYZE"))
    finally:
        for db in dbs.values():
            await db.dispose()
    return CheckoutShop(backend, urls, sku_ids, customers, cleanup)


async def _plain_skus(dbs: dict[str, Database]) -> list[int]:
    """Goods any buyer can order anywhere: published, active, priced physical warehouse
    SKUs without presale, purchase limit or bundle role."""
    async with dbs["catalog"].connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id "
                "WHERE p.kind = 'PHYSICAL' AND p.fulfillment = 'WAREHOUSE' AND p.is_published "
                "AND s.is_active AND p.presale_starts_at IS NULL AND s.purchase_limit IS NULL "
                "AND s.id NOT IN (SELECT sku_id FROM bundle_items) ORDER BY s.id"
            )
        )
        candidates = [int(s) for (s,) in rows]
    async with dbs["pricing"].connect() as conn:
        priced = {int(s) for (s,) in await conn.execute(text("SELECT sku_id FROM prices"))}
    async with dbs["inventory"].connect() as conn:
        stocked = {
            int(s) for (s,) in await conn.execute(text("SELECT DISTINCT sku_id FROM stock_items"))
        }
    return [s for s in candidates if s in priced and s in stocked]


def _with_descendants(pids: Sequence[int]) -> list[int]:
    """The processes and every live child of theirs (uvicorn's workers), from /proc."""
    found: list[int] = []
    stack = list(pids)
    while stack:
        pid = stack.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                stack.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return found


class GatewayProcess:
    """The gateway over the shop, served as ``make run`` serves it: ``uvicorn
    gateway.asgi:app`` for one worker, ``gateway serve --workers N`` for more (its balanced
    accept spreads the buyers' keep-alive connections over the workers; plain uvicorn
    workers can leave a burst of them all on one worker, docs/benchmarks.md)."""

    def __init__(
        self,
        shop: CheckoutShop,
        log_path: Path,
        pool_size: int | None,
        *,
        remote: bool = False,
        workers: int = 1,
        sources_in_one_process: bool = False,
        request_log: bool = False,
        max_in_flight: int | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
        inherited.pop("REDIS_URL", None)
        env = {
            **inherited,
            **{f"{name.upper()}_DATABASE_URL": url for name, url in shop.urls.items()},
            # One JSON line per request (its id, duration and source calls) only when a bench
            # joins them to its own clock (bench.flash_sale --timeline): it costs server CPU.
            "GATEWAY_LOG_LEVEL": "INFO" if request_log else "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        if pool_size is not None:
            env["GATEWAY_DB_POOL_SIZE"] = str(pool_size)
        if max_in_flight is not None:  # the door (gateway/admission.py); None: its default
            env["GATEWAY_MAX_IN_FLIGHT"] = str(max_in_flight)
        command = [
            sys.executable, "-m", "uvicorn", "gateway.asgi:app", "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", str(workers), "--loop", LOOP, "--http", HTTP,
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        if workers > 1:
            command = [
                sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(workers),
            ]  # fmt: skip
        self.workers = workers
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self.companions: list[subprocess.Popen[bytes]] = []
        if remote:  # the four sources as `gateway source serve` processes of their own
            from gateway.source_service import start_sources  # (or all four in one)

            ports = {name: free_port() for name in SOURCE_NAMES}
            with log_path.open("wb") as log:
                spawned = start_sources(env, ports, output=log, one_process=sources_in_one_process)
            self.companions = spawned.processes
            env.update(spawned.env)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the gateway did not start in 60 s ({log_path})")
            time.sleep(0.05)
        if workers > 1:  # every worker taking connections, not only the first up
            from .processes import Serve, _wait_for_workers_serving

            _wait_for_workers_serving(Serve(self.port, self.process), workers, log_path)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server processes so far (Linux /proc)."""
        pids = [p.pid for p in (self.process, *self.companions)]
        return sum(process_cpu_seconds(pid) for pid in _with_descendants(pids))

    def stop(self) -> None:
        for companion in self.companions:
            companion.terminate()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def bench_backend(
    backend: str,
    concurrencies: Sequence[int],
    duration: float,
    *,
    products: int = 240,
    pool_size: int | None = None,
    log: Any = None,
    remote: bool = False,
    workers: int = 1,
    floor: bool = True,
    flows: Sequence[str] = ("three",),
    warmup: float = 2.0,
) -> list[dict[str, Any]]:
    """Seed a shop, start the gateway, measure each concurrency; the results, one dict per
    concurrency (see ``run_checkout_bench``) with ``backend`` added. Cleans up after."""
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    started = time.perf_counter()
    shop = await prepare_shop(backend, products)
    say(f"checkout bench: {backend} shop of {products} products seeded in "
        f"{time.perf_counter() - started:.1f} s ({len(shop.sku_ids)} SKUs on sale)")  # fmt: skip
    sources = "remote" if remote else "embedded"
    try:
        server = GatewayProcess(
            shop,
            ROOT / "bench" / "results" / "logs" / f"checkout-{backend}-{sources}.log",
            pool_size,
            remote=remote,
            workers=workers,
        )
    except BaseException:  # a gateway that never started leaves no database behind
        if shop.cleanup is not None:
            await shop.cleanup()
        raise
    results: list[dict[str, Any]] = []
    floors: dict[int, dict[str, Any]] = {}
    try:
        settings = Settings()  # the server's secret is the default development one
        tokens = [
            issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids
        ]
        for flow_name, conc in ((f, c) for f in flows for c in concurrencies):
            result = await run_checkout_bench(
                server.url,
                tokens,
                shop.sku_ids,
                conc,
                duration,
                orders_database_url=shop.urls["orders"],
                seed=conc,
                flow_name=flow_name,
                warmup=warmup,
                server_cpu_seconds=server.cpu_seconds,
            )
            result["backend"] = backend
            result["sources"] = sources
            result["workers"] = workers
            result["load_average"] = round(os.getloadavg()[0], 1)
            if floor:  # the database's own limit, on the same shop, in the same run
                from .floor import run_floor

                if conc not in floors:
                    floors[conc] = await run_floor(backend, shop.urls, shop.sku_ids, conc, duration)
                bare = floors[conc]
                result["floor_orders_per_s"] = bare["orders_per_s"]
                result["floor_client_cpu_ms_per_order"] = bare["client_cpu_ms_per_order"]
                result["ratio_to_floor"] = (
                    round(result["orders_per_s"] / bare["orders_per_s"], 3)
                    if bare["orders_per_s"]
                    else None
                )
            results.append(result)
            say(format_row(result))
    finally:
        server.stop()
        if shop.cleanup is not None:
            await shop.cleanup()
    return results


def format_row(r: dict[str, Any]) -> str:
    failed = sum(r["failed"].values())
    return (
        f"  {r['backend']:10} {r.get('sources', 'embedded'):8} flow {r.get('flow', 'three'):5} "
        f"c={r['concurrency']:<3} "
        f"{r['orders_per_s']:7.1f} orders/s  "
        f"checkout p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
        f"(complete p50 {r['complete_p50_ms']:6.1f} / p99 {r['complete_p99_ms']:6.1f})  "
        f"{r['source_calls_per_checkout']} source calls  "
        f"server cpu {r.get('server_cpu_ms_per_checkout', float('nan')):.0f} ms/checkout "
        f"(client {r.get('client_cpu_ms_per_checkout', float('nan')):.1f}, machine "
        f"{r.get('machine_cpu_ms_per_checkout', float('nan')):.1f}, "
        f"cores busy {r.get('machine_cpu_busy', float('nan')):.0%})  "
        f"lost {len(r['lost'])}  duplicates {len(r['duplicates'])}  failed {failed}"
        + (
            f"  workers {r.get('workers', 1)}  floor {r['floor_orders_per_s']:.0f} orders/s "
            f"({r['floor_client_cpu_ms_per_order']} ms client CPU/order), "
            f"gateway/floor {r['ratio_to_floor']}"
            if "floor_orders_per_s" in r
            else ""
        )
        + (
            f"  warm-up {r['warmup_seconds']:.0f} s: {r['warmup_checkouts']} checkouts, "
            f"p99 {r['warmup_p99_ms']:.0f} ms, failed {r['warmup_failed']}"
            if r.get("warmup_seconds")
            else ""
        )
        + f"  load {r.get('load_average', '?')}"
    )


def render_markdown(results: Sequence[dict[str, Any]]) -> str:
    """The checkout table for bench/results/latest.md."""
    rows = [
        "## Checkout",
        "",
        "Flows: "
        + "; ".join(f"**{name}** = {steps}" for name, steps in FLOWS.items())
        + ". After a warm-up at the same concurrency (not measured; its p99 is the last column).",
        "",
        "| backend | sources | flow | concurrency | orders/s | p50 ms | p99 ms "
        "| checkoutComplete p50 / p99 ms "
        "| source calls per checkout | server CPU ms per checkout | lost | duplicates | failed "
        "| workers | bare-SQL floor orders/s | gateway / floor | warm-up p99 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r['backend']} | {r.get('sources', 'embedded')} | {r.get('flow', 'three')} "
            f"| {r['concurrency']} "
            f"| {r['orders_per_s']:.1f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['complete_p50_ms']:.1f} / {r['complete_p99_ms']:.1f} "
            f"| {r['source_calls_per_checkout']} | {r.get('server_cpu_ms_per_checkout', '-')} "
            f"| {len(r['lost'])} | {len(r['duplicates'])} "
            f"| {sum(r['failed'].values())} | {r.get('workers', 1)} "
            f"| {r.get('floor_orders_per_s', '-')} | {r.get('ratio_to_floor', '-')} "
            f"| {r.get('warmup_p99_ms', '-') if r.get('warmup_seconds') else '-'} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.checkout", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per concurrency")
    parser.add_argument("--products", type=int, default=240, help="size of the seeded shop")
    parser.add_argument("--pool-size", type=int, default=None, help="GATEWAY_DB_POOL_SIZE")
    parser.add_argument(
        "--sources",
        choices=("embedded", "remote", "both"),
        default="embedded",
        help="remote: the four sources as `gateway source serve` processes, over HTTP",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="uvicorn worker processes"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-SQL floor")
    parser.add_argument(
        "--flow",
        choices=tuple(FLOWS),
        nargs="+",
        default=["three"],
        help="; ".join(f"{name}: {steps}" for name, steps in FLOWS.items()),
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of the same load before each measurement, not measured (0: none)",
    )
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results: list[dict[str, Any]] = []
    modes = (False, True) if args.sources == "both" else (args.sources == "remote",)
    for backend in backends:
        for remote in modes:
            for workers in args.workers:
                results += run_on_uvloop(
                    bench_backend(
                        backend, args.concurrency, args.duration, products=args.products,
                        pool_size=args.pool_size, remote=remote, workers=workers,
                        floor=not args.no_floor, flows=args.flow, warmup=args.warmup,
                    )
                )  # fmt: skip
    print(render_markdown(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    bad = [r for r in results if r["lost"] or r["duplicates"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
