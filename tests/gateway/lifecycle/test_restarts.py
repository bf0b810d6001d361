"""Restarting gateways in the middle of a sale, as an operator does it: real ``gateway
serve`` processes sharing one shop's databases, buyers checking out through a load
balancer that sends a refused or cut-off request to another process (the same
idempotency key: a retry can never buy twice).

- A rolling restart (a new gateway started, then SIGTERM to one of the two serving) loses
  nothing: every order a buyer was told about exists exactly once, every buyer's key ends
  as one order, the stock taken is exactly the orders' quantities, no hold is left, and
  no buyer saw a 5xx other than a retryable 503 with Retry-After. The draining process
  finishes its requests in flight within the grace (its log never says it had to cut one).
- The same holds for a SIGTERM to one of a `GATEWAY_WORKERS=2` gateway's workers: it
  drains alone, the other serves on, and uvicorn starts a new worker in its place.
- A SIGKILL mid-checkout leaves at worst a hold without an order, and the sweeper gives
  it back: after the sweep the stock taken is again exactly the orders' quantities.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.checkout.sweeper import sweep
from gateway.settings import Settings
from gateway.sources import Sources
from sources.common.db import Database
from tests.conftest import INVARIANT, seeded_shop_urls
from tests.gateway.checkout_helpers import BACKENDS, CART_CREATE, CHECKOUT, address, run
from tests.gateway.lifecycle.processes import spawn_gateway
from tests.remote import free_port

pytestmark = [
    pytest.mark.load_sensitive,  # tests/conftest.py: run again if the machine made it miss
    pytest.mark.long(seconds=70),  # tests/ordering.py: started first on a worker
]

PRODUCTS = 60
BUYERS = 4
# Orders placed before the SIGTERM and again after it: the buyers never pause, so checkouts
# are in flight whenever the signal lands; more orders would only take longer.
ORDERS_EACH_SIDE = 4
SKUS = 6


@pytest.fixture(params=BACKENDS)
def shop_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from seeded_shop_urls(request.param, tmp_path, PRODUCTS)


def _sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    async def go() -> list[Any]:
        db = Database(url, pool_size=1)
        try:
            async with db.begin() as conn:
                result = await conn.execute(text(statement), params or {})
                return list(result.all()) if result.returns_rows else []
        finally:
            await db.dispose()

    return run(go)


@dataclass
class Gateway:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_gateway(urls: dict[str, str], tmp_path: Path, name: str, workers: int = 1) -> Gateway:
    port = free_port()
    env = {
        "GATEWAY_WORKERS": str(workers),
        **os.environ,
        **{f"{source.upper()}_DATABASE_URL": url for source, url in urls.items()},
        "GATEWAY_SHUTDOWN_GRACE": "20",
        "GATEWAY_SWEEP_INTERVAL_SECONDS": "0",  # the test sweeps when it means to
        "GATEWAY_DB_POOL_SIZE": "3",
        "GATEWAY_LOG_LEVEL": "INFO",
        # Every source call holds its connection a little: checkouts are in flight when
        # the signal comes, as in a busy shop.
        "GATEWAY_SOURCE_LATENCY_MS": "15",
        "RATE_LIMIT_ENABLED": "false",
    }
    log = tmp_path / f"{name}.log"
    process = spawn_gateway(port, env, tmp_path, log)
    return Gateway(f"http://127.0.0.1:{port}", process, log)


@dataclass
class Balancer:
    """Round robin over the gateways in rotation; a request refused (connection refused or
    cut before an answer, or a 503) goes to the next one, as a load balancer's retry."""

    backends: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    turn: Iterator[int] = field(default_factory=itertools.count)
    refusals: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def post(self, client: httpx.Client, body: dict[str, Any], token: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with self.lock:
                backends = list(self.backends)
                if not backends:
                    raise AssertionError("no gateway left in rotation")
                backend = backends[next(self.turn) % len(backends)]
            try:
                response = client.post(
                    f"{backend}/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError as exc:
                self.refusals.append(f"{backend}: {type(exc).__name__}")
                time.sleep(0.02)
                continue
            if response.status_code == 503 and response.headers.get("retry-after"):
                self.refusals.append(f"{backend}: 503")
                continue
            if response.status_code != 200:
                self.failures.append(f"{backend}: HTTP {response.status_code} {response.text}")
                raise AssertionError(self.failures[-1])
            payload: dict[str, Any] = response.json()
            return payload
        raise AssertionError("no gateway answered for two minutes")


@dataclass
class Buyer:
    """Checks out one unit at a time until told to stop; remembers every order it was
    told about, by the idempotency key it used."""

    number: int
    token: str
    skus: list[int]
    balancer: Balancer
    stop: threading.Event
    orders: dict[str, str] = field(default_factory=dict)  # key -> order number
    bought: dict[int, int] = field(default_factory=dict)  # sku -> units
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        # A fresh connection per request: a keep-alive connection to a process that has
        # stopped is a transport error the balancer retries anyway.
        with httpx.Client(timeout=60) as client:
            for attempt in itertools.count():
                if self.stop.is_set():
                    return
                try:
                    self._buy_one(client, attempt)
                except AssertionError as exc:
                    self.errors.append(str(exc))
                    return

    def _buy_one(self, client: httpx.Client, attempt: int) -> None:
        sku = self.skus[(self.number + attempt) % len(self.skus)]
        created = self.balancer.post(
            client,
            {
                "query": CART_CREATE,
                "variables": {
                    "input": {
                        "lines": [{"skuId": _sku_gid(sku), "quantity": 1}],
                        "shippingAddress": address("CN-SH"),
                    }
                },
            },
            self.token,
        )
        payload = created["data"]["cartCreate"]
        assert payload["userErrors"] == [], payload["userErrors"]
        cart = payload["cart"]
        key = f"buyer{self.number}-{attempt}"
        variables = {"cartId": cart["id"], "key": key, "total": cart["cost"]["total"]["amount"]}
        placed = self.balancer.post(client, {"query": CHECKOUT, "variables": variables}, self.token)
        result = placed["data"]["checkoutComplete"]
        assert result["userErrors"] == [], result["userErrors"]
        self.orders[key] = result["order"]["number"]
        self.bought[sku] = self.bought.get(sku, 0) + 1


def _sku_gid(sku: int) -> str:
    from tests.gateway.checkout_helpers import sku_gid

    return sku_gid(sku)


def _plain_skus(urls: dict[str, str]) -> list[int]:
    """Warehouse goods with plenty of stock and no special rule."""
    rows = _sql(
        urls["catalog"],
        """SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id
           WHERE p.kind = 'PHYSICAL' AND p.fulfillment = 'WAREHOUSE' AND p.is_published
             AND s.is_active AND s.purchase_limit IS NULL AND p.presale_starts_at IS NULL
             AND s.id NOT IN (SELECT sku_id FROM bundle_items)
           ORDER BY s.id""",
    )
    priced = {r[0] for r in _sql(urls["pricing"], "SELECT sku_id FROM prices")}
    stock = dict(
        _sql(
            urls["inventory"],
            "SELECT sku_id, SUM(on_hand - reserved) FROM stock_items GROUP BY sku_id",
        )
    )
    return [r[0] for r in rows if r[0] in priced and int(stock.get(r[0]) or 0) >= 200][:SKUS]


def _available(urls: dict[str, str], skus: list[int]) -> dict[int, int]:
    rows = _sql(
        urls["inventory"],
        "SELECT sku_id, SUM(on_hand - reserved) FROM stock_items GROUP BY sku_id",
    )
    found = {int(sku): int(n) for sku, n in rows}
    return {sku: found[sku] for sku in skus}


def _buyers(urls: dict[str, str], skus: list[int], balancer: Balancer) -> list[Buyer]:
    settings = Settings()
    customers = _sql(
        urls["orders"],
        "SELECT id FROM customers WHERE NOT is_blocked ORDER BY id LIMIT :n",
        {"n": BUYERS},
    )
    stop = threading.Event()
    return [
        Buyer(
            number,
            issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(cid)),
            skus,
            balancer,
            stop,
        )
        for number, (cid,) in enumerate(customers)
    ]


def _orders_told(buyers: list[Buyer]) -> dict[str, str]:
    return {key: number for buyer in buyers for key, number in buyer.orders.items()}


def _wait_for_orders(buyers: list[Buyer], at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(_orders_told(buyers)) < at_least:
        failed = [e for b in buyers for e in b.errors]
        assert not failed, failed
        assert time.monotonic() < deadline, f"only {len(_orders_told(buyers))} orders"
        time.sleep(0.05)


def _sweep_as_if_later(urls: dict[str, str]) -> None:
    """The sweeper, an hour on: every hold that expired, every abandoned attempt."""

    async def go() -> None:
        settings = Settings(**{f"{name}_database_url": url for name, url in urls.items()})
        sources = Sources.from_settings(settings)
        try:
            await sweep(sources, now=datetime.now(UTC) + timedelta(hours=1))
        finally:
            await sources.close()

    run(go)


def _assert_nothing_lost(
    urls: dict[str, str], buyers: list[Buyer], before: dict[int, int], skus: list[int]
) -> None:
    told = _orders_told(buyers)
    rows = _sql(urls["orders"], "SELECT number, COUNT(*) FROM orders GROUP BY number")
    counts = {str(number): int(n) for number, n in rows}
    missing = [number for number in told.values() if counts.get(number) != 1]
    assert not missing, f"{INVARIANT} orders told but not stored once: {missing}"
    assert len(set(told.values())) == len(told), f"{INVARIANT} two keys answered with one order"
    held = _sql(urls["inventory"], "SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
    assert held[0][0] == 0, f"{INVARIANT} a hold without an order outlived the sweeper"
    # The stock taken is exactly what the orders hold: nothing sold twice, no hold leaked.
    lines = _sql(urls["orders"], "SELECT sku_id, SUM(quantity) FROM order_lines GROUP BY sku_id")
    ordered = {int(sku): int(n) for sku, n in lines}
    after = _available(urls, skus)
    taken = {s: before[s] - after[s] for s in skus}
    assert taken == {s: ordered.get(s, 0) for s in skus}, f"{INVARIANT} stock taken {taken}"


def _stop(gateway: Gateway) -> None:
    if gateway.process.poll() is None:
        gateway.process.send_signal(signal.SIGTERM)
    try:
        gateway.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait()


def test_a_rolling_restart_under_checkout_load_loses_no_order(
    shop_urls: dict[str, str], tmp_path: Path
) -> None:
    skus = _plain_skus(shop_urls)
    before = _available(shop_urls, skus)
    first = start_gateway(shop_urls, tmp_path, "a")
    # Started and ready before the old one is told to stop, as a rolling deployment of one
    # replica does it (a surge of one); out of rotation until then. One replica is the
    # harder case: no other process absorbs the requests while the old one drains.
    replacement = start_gateway(shop_urls, tmp_path, "a2")
    gateways = [first, replacement]
    balancer = Balancer([first.url])
    buyers = _buyers(shop_urls, skus, balancer)
    threads = [threading.Thread(target=b.run, daemon=True) for b in buyers]
    try:
        for thread in threads:
            thread.start()
        _wait_for_orders(buyers, ORDERS_EACH_SIDE)

        first.process.send_signal(signal.SIGTERM)  # mid-run: checkouts are in flight
        try:  # out of rotation at once: draining, or no longer listening, never "ok"
            assert httpx.get(f"{first.url}/readyz", timeout=5).status_code == 503
        except httpx.TransportError:
            pass
        with balancer.lock:
            balancer.backends = [replacement.url]
        assert first.process.wait(timeout=60) in (0, -signal.SIGTERM)
        told = len(_orders_told(buyers))
        _wait_for_orders(buyers, told + ORDERS_EACH_SIDE)
    finally:
        buyers[0].stop.set()
        for thread in threads:
            thread.join(timeout=120)
        for gateway in gateways:
            _stop(gateway)

    assert not [e for b in buyers for e in b.errors]
    assert not balancer.failures  # no 5xx but the retryable 503
    first_log = first.log.read_text()
    assert "timeout graceful shutdown exceeded" not in first_log, first_log[-2000:]
    _sweep_as_if_later(shop_urls)
    _assert_nothing_lost(shop_urls, buyers, before, skus)


def test_a_gateway_killed_mid_checkout_leaves_only_a_hold_the_sweeper_releases(
    shop_urls: dict[str, str], tmp_path: Path
) -> None:
    skus = _plain_skus(shop_urls)
    before = _available(shop_urls, skus)
    doomed = start_gateway(shop_urls, tmp_path, "doomed")
    balancer = Balancer([doomed.url])
    buyers = _buyers(shop_urls, skus, balancer)
    threads = [threading.Thread(target=b.run, daemon=True) for b in buyers]
    try:
        for thread in threads:
            thread.start()
        _wait_for_orders(buyers, 6)
        doomed.process.kill()  # SIGKILL: no drain, no shutdown, requests cut mid-saga
        with balancer.lock:  # nowhere else to go: the requests in flight stay unanswered
            balancer.backends = []
        buyers[0].stop.set()
        doomed.process.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=120)
    finally:
        if doomed.process.poll() is None:
            doomed.process.kill()

    assert not balancer.failures
    _sweep_as_if_later(shop_urls)
    _assert_nothing_lost(shop_urls, buyers, before, skus)


def _workers(parent: int) -> set[int]:
    """The pids of uvicorn's worker processes under ``parent`` (spawned interpreters)."""
    found: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in command:
            found.add(int(proc.name))
    return found


def _wait_for_workers(parent: int, count: int, timeout: float = 90) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        workers = _workers(parent)
        if len(workers) == count:
            return workers
        assert time.monotonic() < deadline, f"{len(workers)} workers, not {count}"
        time.sleep(0.05)


@pytest.mark.parametrize("shop_urls", ["postgresql"], indirect=True)
def test_a_worker_restarted_under_checkout_load_loses_no_order(
    shop_urls: dict[str, str], tmp_path: Path
) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("finding a gateway's workers needs /proc")
    skus = _plain_skus(shop_urls)
    before = _available(shop_urls, skus)
    gateway = start_gateway(shop_urls, tmp_path, "workers", workers=2)
    balancer = Balancer([gateway.url])
    buyers = _buyers(shop_urls, skus, balancer)
    threads = [threading.Thread(target=b.run, daemon=True) for b in buyers]
    try:
        old = _wait_for_workers(gateway.process.pid, 2)
        for thread in threads:
            thread.start()
        _wait_for_orders(buyers, 8)

        doomed = min(old)
        os.kill(doomed, signal.SIGTERM)  # mid-run: checkouts are in flight on it
        deadline = time.monotonic() + 90
        while doomed in _workers(gateway.process.pid) or len(_workers(gateway.process.pid)) < 2:
            assert time.monotonic() < deadline, "no new worker took the restarted one's place"
            assert gateway.process.poll() is None, "the gateway itself stopped"
            time.sleep(0.05)
        told = len(_orders_told(buyers))
        _wait_for_orders(buyers, told + 8)  # served by the new worker and the other one
    finally:
        buyers[0].stop.set()
        for thread in threads:
            thread.join(timeout=120)
        _stop(gateway)

    assert not [e for b in buyers for e in b.errors]
    assert not balancer.failures  # no 5xx but the retryable 503
    said = gateway.log.read_text()
    assert "timeout graceful shutdown exceeded" not in said, said[-2000:]
    # The restarted worker shut down cleanly, and so did both at the end.
    assert said.count("background work stopped, pools closed") == 3, said[-2000:]
    _sweep_as_if_later(shop_urls)
    _assert_nothing_lost(shop_urls, buyers, before, skus)
