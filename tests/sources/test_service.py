"""A source as its own service: `gateway source serve` as a real process, its contract on the
wire (auth, typed errors, never a stack trace, request ids, writes answered once per request
key), and the start-up checks that keep an interface method from failing only when called."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import httpx
import pytest

from gateway.source_service import wait_until_healthy
from sources.apis import APIS
from sources.common.client import RemoteSource
from sources.common.db import Database
from sources.common.service import check_implementation, source_app
from sources.common.wire import (
    UnservableMethod,
    encode,
    interface_methods,
    public_methods,
    read,
)
from sources.orders.api import OrdersSource
from sources.orders.records import Address, Order, OrderStatus
from sources.orders.store import OrdersStore
from tests.migrated import orders_with_one_customer
from tests.remote import SECRET, free_port, source_service

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
MEMORY = "sqlite+aiosqlite:///:memory:"


@pytest.fixture(scope="module")
def orders_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return orders_with_one_customer(tmp_path_factory.mktemp("service"), NOW)


@pytest.fixture(scope="module")
def served(orders_url: str) -> Iterator[str]:
    """`gateway source serve orders` as its own process, on a free port (one per module:
    starting a process is the slow part)."""
    port = free_port()
    env = {
        **os.environ,
        "ORDERS_DATABASE_URL": orders_url,
        "GATEWAY_SERVICE_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "gateway", "source", "serve", "orders", "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def call(url: str, method: str, body: object, **headers: str) -> httpx.Response:
    auth = {"authorization": f"Bearer {SECRET}"}
    return httpx.post(
        f"{url}/v1/orders/{method}", content=encode(body), headers={**auth, **headers}
    )


def test_the_service_process_answers_health_and_refuses_callers_without_the_secret(
    served: str,
) -> None:
    assert httpx.get(f"{served}/healthz").json() == {"status": "ok", "source": "orders"}
    assert httpx.get(f"{served}/readyz").json()["database"] == "ok"
    body = encode({"ids": [1]})
    anonymous = httpx.post(f"{served}/v1/orders/customers_by_ids", content=body)
    forged = httpx.post(
        f"{served}/v1/orders/customers_by_ids",
        content=body,
        headers={"authorization": "Bearer not-the-secret-at-all"},
    )
    assert anonymous.status_code == forged.status_code == 401
    answered = call(served, "customers_by_ids", {"ids": [1]}, **{"x-request-id": "r-1"})
    assert answered.status_code == 200
    assert answered.json() == {
        "1": {"id": 1, "email": "c1@example.com", "name": "C1", "is_blocked": False}
    }
    assert answered.headers["x-request-id"] == "r-1"


def test_bad_calls_get_typed_errors_never_a_stack_trace(served: str) -> None:
    wrong_type = call(served, "customers_by_ids", {"ids": "one"})
    unknown_argument = call(served, "customers_by_ids", {"ids": [1], "extra": 1})
    missing = call(served, "customers_by_ids", {})
    not_json = httpx.post(
        f"{served}/v1/orders/customers_by_ids",
        content=b"{",
        headers={"authorization": f"Bearer {SECRET}"},
    )
    for response in (wrong_type, unknown_argument, missing, not_json):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "BadRequest"
        assert "Traceback" not in response.text
    assert call(served, "no_such_method", {}).status_code == 404
    refused = call(served, "add_cart_lines", {"cart_id": "nope", "items": [], "now": NOW})
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "type": "CartNotFound",
        "message": "cart 'nope' does not exist",
        "fields": {"cart_id": "nope"},
    }


def test_a_write_retried_with_its_request_key_is_applied_once(served: str) -> None:
    cart = call(served, "create_cart", {"customer_id": 1, "now": NOW}).json()
    add = {"cart_id": cart["id"], "items": [[101, 2]], "now": NOW}

    first = call(served, "add_cart_lines", add, **{"idempotency-key": "k-1"})
    again = call(served, "add_cart_lines", add, **{"idempotency-key": "k-1"})
    other_body = call(served, "add_cart_lines", {**add, "items": [[102, 1]]}, **{
        "idempotency-key": "k-1"
    })  # fmt: skip
    fresh_key = call(served, "add_cart_lines", add, **{"idempotency-key": "k-2"})

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert [line["quantity"] for line in first.json()["lines"]] == [2]
    assert other_body.status_code == 422
    assert other_body.json()["error"]["type"] == "RequestKeyReused"
    assert [line["quantity"] for line in fresh_key.json()["lines"]] == [4]


@pytest.fixture
async def remote_orders(orders_url: str) -> AsyncIterator[RemoteSource]:
    api = APIS["orders"]
    with source_service("orders", orders_url) as url:
        client = RemoteSource("orders", api.interface, api.errors, url, secret=SECRET)
        yield client
        await client.service.close()


async def test_records_come_back_exactly_as_the_store_returns_them(
    remote_orders: RemoteSource, orders_url: str
) -> None:
    remote: OrdersSource = remote_orders  # type: ignore[assignment]
    cart = await remote.create_cart(customer_id=1, now=NOW)
    cart = await remote.set_cart_address(
        cart.id, Address("Li", "138", "CN", "CN-SH", "Shanghai", "1 Road"), NOW
    )
    db = Database(orders_url)
    try:
        local = (await OrdersStore(db).carts_by_ids([cart.id]))[cart.id]
    finally:
        await db.dispose()
    assert cart == local
    assert cart.created_at.tzinfo is UTC


def test_money_and_time_keep_their_exact_form_on_the_wire() -> None:
    order = Order(
        id=1, number="SO-1", customer_id=1, cart_id="c", order_ref="r",
        status=OrderStatus.PAID, currency="CNY", subtotal=Decimal("25.00"),
        discount_total=Decimal("0"), shipping_total=Decimal("1E+1"), total=Decimal("35.00"),
        deposit_due=None, shipping_address=None, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    spec = interface_methods(OrdersSource)["orders_by_ids"]
    raw = encode({1: order})
    assert b'"subtotal":"25.00"' in raw and b'"2026-12-01T09:30:00Z"' in raw
    back = spec.result.decode(raw)
    assert back == {1: order}
    assert str(back[1].subtotal) == "25.00" and str(back[1].shipping_total) == "1E+1"
    assert back[1].created_at.tzinfo is UTC and back[1].status is OrderStatus.PAID


class Opaque:
    """A type msgspec cannot carry."""


class BrokenSource(Protocol):
    source: str

    @read
    async def things(self, keys: list[Opaque]) -> dict[int, str]: ...


class PositionalSource(Protocol):
    source: str

    async def things(self, *keys: int) -> int: ...


def test_a_method_whose_types_cannot_travel_stops_the_service_at_start() -> None:
    with pytest.raises(UnservableMethod, match=r"BrokenSource.things\(keys\).*Opaque"):
        source_app("orders", BrokenSource, APIS["orders"].errors, OrdersStore, MEMORY,
                   secret=SECRET)  # fmt: skip
    with pytest.raises(UnservableMethod, match="things"):
        RemoteSource("orders", BrokenSource, APIS["orders"].errors, "http://x", secret=SECRET)
    with pytest.raises(UnservableMethod, match="variadic"):
        interface_methods(PositionalSource)


def test_the_remote_client_offers_exactly_the_interface(
    remote_orders: RemoteSource,
) -> None:
    assert public_methods(remote_orders) == set(interface_methods(OrdersSource))


def test_every_store_method_is_declared_by_its_interface() -> None:
    for name, api in APIS.items():
        store = api.make_store(Database(MEMORY))
        check_implementation(name, api.interface, store)  # raises on drift

    class GrownStore(OrdersStore):
        async def bulk_archive(self, ids: list[int]) -> int:
            return 0

    with pytest.raises(TypeError, match=r"bulk_archive.*sources/orders/api.py"):
        check_implementation("orders", OrdersSource, GrownStore(Database(MEMORY)))


async def test_a_service_keeps_every_connection_it_opened_up_to_its_ceiling(
    orders_url: str,
) -> None:
    """A service's calls come in a steady stream: a connection opened for a burst past
    ``pool_size`` stays for the next one (an embedded source's overflow is closed at
    check-in), and the ceiling is the embedded one's, twice ``pool_size``."""
    api = APIS["orders"]
    app = source_app("orders", api.interface, api.errors, api.make_store, orders_url,
                     secret=SECRET, pool_size=2)  # fmt: skip
    service_db: Database = app.state.db
    embedded = Database(orders_url, pool_size=2)
    try:
        for db in (service_db, embedded):
            burst = [await db.engine.connect() for _ in range(4)]
            for conn in burst:
                await conn.close()
        assert service_db.engine.pool.checkedin() == 4  # type: ignore[attr-defined]
        assert embedded.engine.pool.checkedin() == 2  # type: ignore[attr-defined]
        held = [await service_db.engine.connect() for _ in range(4)]
        with pytest.raises(TimeoutError):  # the fifth waits: the ceiling is 2 x pool_size
            async with asyncio.timeout(0.3):
                await service_db.engine.connect()
        for conn in held:
            await conn.close()
    finally:
        await service_db.dispose()
        await embedded.dispose()
