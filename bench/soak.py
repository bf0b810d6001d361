"""``python -m bench.soak`` (``make soak``): a bounded load on loopback, mixing browsing
(80%), cart building (15%) and checkouts (5%) against one gateway process on PostgreSQL
and a private Redis, while the run kills Redis and restarts it, takes the pricing source
away in the middle (its tables renamed away, then back), and terminates every PostgreSQL
connection of the shop once. Then the shop must add up: no negative stock, reserved within
on hand, every order holding exactly the stock it sold, no hold left behind once the
sweeper has judged them; and during the pricing outage at least 99% of storefront reads
must have been answered with data (last-known prices, marked) and no order placed.

Prints requests/s, p50/p99 per kind of traffic, errors by code, the outage's figures and
the invariants; exits non-zero if an invariant breaks or a request got a 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.invariants import counts, violations
from gateway.auth import ViewerKind, issue_token
from gateway.checkout.sweeper import ATTEMPT_GRACE, sweep
from gateway.settings import SOURCE_NAMES, Settings
from gateway.sources import Sources

from . import servers
from .shop import PG_HOST, PG_PORT, PG_USER, Shop, _admin, _migrate_and_seed

SECRET = "soak-test-secret-0123456789abcdef-0123"
LISTING = """query Listing($first: Int, $sort: ProductSort, $after: String) {
  products(first: $first, sort: $sort, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id slug name kind inStock priceRange { min { amount } }
      skus { id code price { sale { amount } } stock { available } } } } } }"""
DETAIL = """query Detail($slug: String!) { product(slug: $slug) { id name description kind
  category { slug parent { slug } } skus { id name price { list { amount } sale { amount } }
  stock { available inStock } } promotions { name kind } } }"""
CATEGORIES = "query Categories { categories { slug name parent { slug } } }"
CART_CREATE = """mutation Cart($input: CartCreateInput!) { cartCreate(input: $input) {
  cart { id lines { id quantity } cost { total { amount } } }
  userErrors { code } } }"""
CART_UPDATE = """mutation Update($cartId: ID!, $lines: [CartLineUpdateInput!]!) {
  cartLinesUpdate(cartId: $cartId, lines: $lines) { cart { id cost { total { amount } } }
  userErrors { code } } }"""
CHECKOUT = """mutation Checkout($cartId: ID!, $key: String!, $total: Decimal!) {
  checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) {
    order { id number } userErrors { code } } }"""
ADDRESS = {
    "name": "Soak Buyer",
    "phone": "13800138000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "1 Renmin Road",
    "postalCode": "200000",
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # GraphQL errors by code
    user_errors: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    # (started, finished, answered with data / an order placed), for the outage's figures;
    # a read also says whether it came with errors (products left out, a field lost)
    reads: list[tuple[float, float, bool, bool]] = field(default_factory=list)
    checkouts: list[tuple[float, float, bool]] = field(default_factory=list)

    def record(self, kind: str, seconds: float, status: int, body: Any) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses[status] += 1
        if not isinstance(body, dict):
            self.errors["(not JSON)"] += 1
            return
        for error in body.get("errors") or ():
            self.errors[(error.get("extensions") or {}).get("code", "(validation)")] += 1
        for payload in (body.get("data") or {}).values():
            if not isinstance(payload, dict):
                continue
            for error in payload.get("userErrors") or ():
                self.user_errors[error["code"]] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def _answered(status: int, body: Any) -> bool:
    """A storefront read answered with data: its root field is there (a listing with some
    products left out, or prices marked as last known, still counts; a null page does not)."""
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return False
    return all(value is not None for value in body["data"].values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


class Buyer:
    """One storefront user: browses mostly, sometimes builds a cart, now and then pays."""

    def __init__(
        self, client: httpx.AsyncClient, tally: Tally, skus: list[str], token: str, seed: int
    ) -> None:
        self.client = client
        self.tally = tally
        self.skus = skus
        self.token = token
        self.random = random.Random(seed)
        self.slugs: list[str] = []
        self.saved_cart: dict[str, Any] | None = None  # built earlier, not yet paid

    async def post(self, kind: str, query: str, variables: dict[str, Any], auth: bool) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        started = time.perf_counter()
        begun = time.monotonic()
        try:
            response = await self.client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            status, body = response.status_code, response.json()
        except (httpx.HTTPError, ValueError) as exc:
            status, body = 599, {"errors": [{"extensions": {"code": type(exc).__name__}}]}
        self.tally.record(kind, time.perf_counter() - started, status, body)
        if kind == "browse":
            errors = isinstance(body, dict) and bool(body.get("errors"))
            self.tally.reads.append((begun, time.monotonic(), _answered(status, body), errors))
        return body

    async def browse(self) -> None:
        pick = self.random.random()
        if pick < 0.5 or not self.slugs:
            sort = self.random.choice(["NEWEST", "PRICE_ASC", "PRICE_DESC", None])
            body = await self.post(
                "browse", LISTING, {"first": self.random.choice([10, 20]), "sort": sort}, False
            )
            edges = (((body.get("data") or {}).get("products")) or {}).get("edges") or []
            self.slugs = [e["node"]["slug"] for e in edges] or self.slugs
        elif pick < 0.9:
            await self.post("browse", DETAIL, {"slug": self.random.choice(self.slugs)}, False)
        else:
            await self.post("browse", CATEGORIES, {}, False)

    async def cart(self, quantity: int | None = None) -> dict[str, Any] | None:
        lines = [
            {"skuId": sku, "quantity": quantity or self.random.randint(1, 2)}
            for sku in self.random.sample(self.skus, 1 if quantity else self.random.randint(1, 2))
        ]
        body = await self.post(
            "cart", CART_CREATE, {"input": {"lines": lines, "shippingAddress": ADDRESS}}, True
        )
        cart = (((body.get("data") or {}).get("cartCreate")) or {}).get("cart")
        if cart and cart["lines"] and quantity is None and self.random.random() < 0.5:
            line = cart["lines"][0]
            update = [{"lineId": line["id"], "quantity": self.random.randint(1, 3)}]
            body = await self.post(
                "cart", CART_UPDATE, {"cartId": cart["id"], "lines": update}, True
            )
            updated = (((body.get("data") or {}).get("cartLinesUpdate")) or {}).get("cart")
            cart = {**cart, **updated} if updated else None
        if cart and quantity is None:
            self.saved_cart = cart
        return cart  # type: ignore[no-any-return]

    async def checkout(self) -> None:
        # A cart built earlier is paid when a new one cannot be built now (a source down):
        # a buyer with a full cart presses "pay" whatever the shop is going through.
        cart = await self.cart(quantity=1) or self.saved_cart
        self.saved_cart = None
        if not cart:
            return
        variables = {
            "cartId": cart["id"],
            "key": uuid.uuid4().hex,
            "total": cart["cost"]["total"]["amount"],
        }
        begun = time.monotonic()
        body = await self.post("checkout", CHECKOUT, variables, True)
        placed = bool((((body.get("data") or {}).get("checkoutComplete")) or {}).get("order"))
        self.tally.orders += placed
        self.tally.checkouts.append((begun, time.monotonic(), placed))

    async def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            roll = self.random.random()
            if roll < 0.80:
                await self.browse()
            elif roll < 0.95:
                await self.cart()
            else:
                await self.checkout()


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.port = servers.free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.3)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


async def _create_database() -> str:
    name = f"gw_soak_{uuid.uuid4().hex[:8]}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_database(name: str) -> None:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _terminate_connections(name: str) -> int:
    conn = await _admin()
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await conn.close()
    return len(rows)


PRICING_TABLES = ("prices", "promotions")


async def _take_pricing_away(name: str, *, back: bool) -> None:
    """The pricing source cannot answer: its tables are not there (then are again)."""
    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=name, timeout=10
    )
    try:
        for table in PRICING_TABLES:
            old, new = (f"{table}_away", table) if back else (table, f"{table}_away")
            await conn.execute(f'ALTER TABLE "{old}" RENAME TO "{new}"')
    finally:
        await conn.close()


@dataclass
class Outage:
    """The pricing outage's window and what the storefront saw during it."""

    started: float = 0.0
    ended: float = 0.0

    def reads(self, tally: Tally) -> tuple[int, int]:
        inside = [ok for begun, _, ok, _ in tally.reads if self.started <= begun < self.ended]
        return sum(inside), len(inside)

    def partial(self, tally: Tally) -> int:
        """Reads during the outage answered with data but with errors (a product left out
        because nothing at all was known of its price)."""
        return sum(
            ok and errors
            for begun, _, ok, errors in tally.reads
            if self.started <= begun < self.ended
        )

    def orders(self, tally: Tally) -> int:
        """Orders placed by checkouts that ran wholly inside the outage: each would have
        been priced from something other than the pricing source."""
        return sum(
            placed
            for begun, done, placed in tally.checkouts
            if self.started <= begun and done < self.ended
        )

    def checkouts(self, tally: Tally) -> int:
        return sum(1 for begun, _, _ in tally.checkouts if self.started <= begun < self.ended)


async def _plain_skus(url: str) -> list[str]:
    """Global ids of published, active, physical, non-presale SKUs without a purchase
    limit and with stock: a checkout of one of them can only fail for want of stock."""
    import base64

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch(
            "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id "
            "WHERE p.is_published AND s.is_active AND p.kind = 'PHYSICAL' "
            "AND p.presale_starts_at IS NULL AND s.purchase_limit IS NULL "
            "AND p.supplier_id IS NULL AND s.id IN (SELECT sku_id FROM stock_items "
            "GROUP BY sku_id HAVING SUM(on_hand - reserved) >= 20) ORDER BY s.id LIMIT 40"
        )
    finally:
        await conn.close()
    return [base64.urlsafe_b64encode(f"Sku:{r['id']}".encode()).decode() for r in rows]


async def _sweep_as_after_grace(urls: dict[str, str]) -> None:
    """The sweeper as it will judge the shop once every hold has expired and every
    attempt's grace has passed (the run is shorter than RESERVATION_TTL + grace)."""
    settings = Settings(**{f"{name}_database_url": url for name, url in urls.items()})
    sources = Sources.from_settings(settings)
    try:
        await sweep(sources, datetime.now(UTC) + ATTEMPT_GRACE + timedelta(hours=1))
    finally:
        await sources.close()


async def _load(base_url: str, users: int, seconds: float, skus: list[str], tally: Tally) -> None:
    limits = httpx.Limits(max_connections=users + 2, max_keepalive_connections=users + 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        settings = Settings(jwt_secret=SECRET)
        buyers = [
            Buyer(
                client,
                tally,
                skus,
                issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(n + 1)),
                seed=n,
            )
            for n in range(users)
        ]
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(b.run(deadline) for b in buyers))


@dataclass
class SoakResult:
    tally: Tally
    seconds: float
    violations: list[str]
    counts: dict[str, int]
    chaos: list[str]
    cpu_seconds: float  # the gateway process's user + system CPU over the run
    outage: Outage = field(default_factory=Outage)

    @property
    def outage_answered(self) -> float:
        answered, total = self.outage.reads(self.tally)
        return answered / total if total else 0.0

    def report(self) -> str:
        t = self.tally
        lines = [
            f"soak: {t.requests} requests in {self.seconds:.0f} s = "
            f"{t.requests / self.seconds:.1f} req/s; {t.orders} orders placed; gateway CPU "
            f"{1000 * self.cpu_seconds / max(t.requests, 1):.1f} ms per request",
        ]
        for kind, values in sorted(t.latencies.items()):
            lines.append(
                f"  {kind:9} {len(values):6} requests  p50 {percentile(values, 0.5):7.1f} ms"
                f"  p99 {percentile(values, 0.99):7.1f} ms"
            )
        errors = sum(t.errors.values())
        lines.append(f"  HTTP statuses: {dict(sorted(t.statuses.items()))}")
        lines.append(
            f"  GraphQL errors: {errors} ({100 * errors / max(t.requests, 1):.2f}% of requests)"
            f" by code {dict(t.errors.most_common())}"
        )
        lines.append(f"  userErrors by code: {dict(t.user_errors.most_common())}")
        lines.append(f"  chaos: {'; '.join(self.chaos)}")
        answered, total = self.outage.reads(t)
        lines.append(
            f"  pricing outage ({self.outage.ended - self.outage.started:.0f} s): {answered} of "
            f"{total} storefront reads answered with data ({100 * self.outage_answered:.2f}%; "
            f"{self.outage.partial(t)} of them with a product left out or a field lost); "
            f"{self.outage.checkouts(t)} checkouts tried, {self.outage.orders(t)} orders placed"
        )
        lines.append(f"  after the sweeper: {self.counts}")
        lines.append(f"  invariants: {'all hold' if not self.violations else self.violations}")
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        c = self.counts
        return (
            not self.violations
            and not any(status >= 500 for status in self.tally.statuses)
            and c["units_ordered"] == c["units_held_or_sold"]
            and c["holds_pending"] == 0
            and self.tally.orders > 0
            and self.outage_answered >= 0.99
            and self.outage.orders(self.tally) == 0
        )


def run_soak(seconds: float, users: int, products: int = 240) -> SoakResult:
    """The whole soak; the caller checks ``result.ok`` (PostgreSQL on 127.0.0.1:5432 and
    redis-server on PATH are required)."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed")
    name = asyncio.run(_create_database())
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    urls = dict.fromkeys(SOURCE_NAMES, url)
    chaos: list[str] = []
    outage = Outage()
    with tempfile.TemporaryDirectory() as directory:
        redis = PrivateRedis(Path(directory))
        server: servers.Server | None = None
        try:
            asyncio.run(_migrate_and_seed(urls, products))
            skus = asyncio.run(_plain_skus(url))
            redis.start()
            shop = Shop("postgresql", urls, products, "", True)
            server = servers.launch(
                "cached",
                shop,
                0,
                Path(directory) / "logs",
                extra_env={
                    "REDIS_URL": redis.url,
                    "GATEWAY_JWT_SECRET": SECRET,
                    "GATEWAY_DB_POOL_SIZE": "4",
                    "RATE_LIMIT_ENABLED": "false",
                    "GATEWAY_SWEEP_INTERVAL_SECONDS": "5",
                    "RESERVATION_TTL": "30",
                },
            )
            servers.wait_ready(server)
            base_url = f"http://{server.host}:{server.port}"
            tally = Tally()

            async def chaos_monkey() -> None:
                # Redis dies early (its copies are rebuilt by the time pricing goes away),
                # pricing goes away in the middle, the connections are cut near the end.
                down = min(5.0, seconds / 12)
                away = min(30.0, seconds / 6)
                await asyncio.sleep(seconds / 6)
                redis.kill()
                chaos.append(f"Redis killed at {seconds / 6:.0f} s")
                await asyncio.sleep(down)
                redis.start()
                chaos.append("restarted")
                await asyncio.sleep(seconds / 2 - seconds / 6 - down)
                await _take_pricing_away(name, back=False)
                outage.started = time.monotonic()
                chaos.append(f"pricing away at {seconds / 2:.0f} s for {away:.0f} s")
                await asyncio.sleep(away)
                outage.ended = time.monotonic()
                await _take_pricing_away(name, back=True)
                await asyncio.sleep(5 * seconds / 6 - seconds / 2 - away)
                killed = await _terminate_connections(name)
                chaos.append(
                    f"{killed} PostgreSQL connections terminated at {5 * seconds / 6:.0f} s"
                )

            async def soak() -> None:
                await asyncio.gather(_load(base_url, users, seconds, skus, tally), chaos_monkey())

            started, cpu = time.monotonic(), server.cpu_seconds()
            asyncio.run(soak())
            elapsed, cpu = time.monotonic() - started, server.cpu_seconds() - cpu
        finally:
            if server is not None:
                server.stop()
            redis.kill()
        try:
            asyncio.run(_sweep_as_after_grace(urls))
            found = violations(urls)
            totals = counts(urls)
        finally:
            asyncio.run(_drop_database(name))
    return SoakResult(tally, elapsed, found, totals, chaos, cpu, outage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", "8")))
    parser.add_argument("--products", type=int, default=240)
    args = parser.parse_args(argv)
    result = run_soak(args.seconds, args.users, args.products)
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
