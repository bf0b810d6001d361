"""An empty orders database per test, on SQLite and PostgreSQL, built by the source's own
migrations (once per session), with three customers inserted directly; and small
factories for carts and orders."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, insert, select

from sources.common.db import Database
from sources.orders import models as m
from sources.orders.records import (
    Address,
    AttemptState,
    Cart,
    LineDiscount,
    NewOrder,
    NewOrderLine,
    Order,
)
from sources.orders.store import OrdersStore
from tests.conftest import require_postgres
from tests.migrated import upgrade_fresh
from tests.pg import create_temp_database, drop_database
from tests.remote import adapter_for

T = TypeVar("T")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STALE_AFTER = timedelta(minutes=5)
CUSTOMERS = (1, 2, 3)
ADDRESS = Address(
    name="Li Wei",
    phone="13800000000",
    country="CN",
    region="CN-SH",
    city="Shanghai",
    line1="88 Century Avenue, Room 1203",
    postal_code="200120",
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty orders database file; each test gets a copy (migrating per test
    would cost more than the test)."""
    path = tmp_path_factory.mktemp("orders") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session, emptied before each test."""
    require_postgres()
    url = _run(create_temp_database())
    try:
        _run(_migrate(url))
        yield url
    finally:
        _run(drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, adapter: str
) -> AsyncIterator[OrdersStore]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "orders.db")
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        async with db.begin() as conn:  # DELETE: on tables this small, faster than TRUNCATE
            for table in reversed(m.Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    try:
        async with db.begin() as conn:
            await conn.execute(
                insert(m.Customer),
                [
                    {
                        "id": n,
                        "email": f"customer{n}@example.com",
                        "name": f"Customer {n}",
                        "is_blocked": False,
                        "created_at": NOW - timedelta(days=30),
                    }
                    for n in CUSTOMERS
                ],
            )
        shared = request.param == "postgresql"  # one database for the session
        async with adapter_for(adapter, "orders", OrdersStore(db), shared=shared) as handle:
            yield handle
    finally:
        await db.dispose()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to the end from a session fixture, which may be set up while a test's
    event loop is running (requested by the async ``store`` fixture): on a loop of its own,
    in a worker thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade_fresh("orders", db)
    finally:
        await db.dispose()


async def count_rows(store: OrdersStore, model: type[m.Base]) -> int:
    async with store.db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


def order_line(sku_id: int, quantity: int = 1, *, discount: str = "0.00") -> NewOrderLine:
    unit = Decimal("25.00")
    subtotal = unit * quantity
    discounts = (LineDiscount(7, "Autumn sale", Decimal(discount)),) if Decimal(discount) else ()
    return NewOrderLine(
        sku_id=sku_id,
        product_id=sku_id * 10,
        product_name=f"Product {sku_id}",
        sku_name=f"SKU {sku_id}",
        quantity=quantity,
        unit_price=unit,
        subtotal=subtotal,
        discounts=discounts,
        total=subtotal - Decimal(discount),
        deposit=None,
        fulfillment="WAREHOUSE",
        supplier_id=None,
    )


def new_order(
    cart: Cart, *, customer_id: int, order_ref: str, lines: tuple[NewOrderLine, ...] = ()
) -> NewOrder:
    lines = lines or tuple(order_line(line.sku_id, line.quantity) for line in cart.lines)
    subtotal = sum((line.subtotal for line in lines), Decimal("0.00"))
    total = sum((line.total for line in lines), Decimal("0.00"))
    shipping = Decimal("10.00")
    return NewOrder(
        customer_id=customer_id,
        cart_id=cart.id,
        order_ref=order_ref,
        currency="CNY",
        subtotal=subtotal,
        discount_total=subtotal - total,
        shipping_total=shipping,
        total=total + shipping,
        deposit_due=None,
        shipping_address=ADDRESS,
        lines=lines,
    )


async def filled_cart(
    store: OrdersStore, *, customer_id: int | None, skus: dict[int, int], now: datetime = NOW
) -> Cart:
    cart = await store.create_cart(customer_id=customer_id, now=now)
    return await store.add_cart_lines(cart.id, list(skus.items()), now)


async def place_order(
    store: OrdersStore,
    customer_id: int,
    skus: dict[int, int] | None = None,
    *,
    now: datetime = NOW,
    key: str | None = None,
) -> Order:
    """What a successful checkout does to the orders source: claim, then create."""
    cart = await filled_cart(store, customer_id=customer_id, skus=skus or {101: 1}, now=now)
    key = key or f"key-{cart.id}"
    attempt = await store.checkout_attempt(
        customer_id=customer_id,
        idempotency_key=key,
        fingerprint=cart.id,
        now=now,
        stale_after=STALE_AFTER,
    )
    assert attempt.state is AttemptState.CLAIMED
    return await store.create_order(
        new_order(cart, customer_id=customer_id, order_ref=attempt.order_ref),
        idempotency_key=key,
        actor=f"customer:{customer_id}",
        now=now,
    )
