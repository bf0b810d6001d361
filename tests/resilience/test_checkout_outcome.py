"""What a buyer is told when the orders database fails while their order is being written.

A real PostgreSQL shop whose orders source is reached through a TCP proxy that breaks the
connection at the worst moment: right after the order statement went to the server. The
server commits it; the gateway never hears so. The buyer must not be told "failed" about
an order that exists (they would buy again under a new key): the gateway learns the
outcome before it answers (the order), or proves there is none (and gives the hold back
at once), or, when the database cannot tell it yet, says the outcome is unknown and the
same key must be retried, keeping the hold the order may need."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.checkout.place_order import CheckoutPolicy, complete_checkout
from gateway.checkout.sweeper import ATTEMPT_GRACE, sweep
from gateway.resolvers.cart import cart_token
from gateway.settings import SOURCE_NAMES
from gateway.sources import Sources
from tests.conftest import (
    _migrate_and_seed,
    require_postgres,
    serve,
    settings_for,
    with_remote_sources,
)
from tests.gateway.checkout_helpers import CHECKOUT, PRODUCTS, Shop, run
from tests.pg import create_temp_database, drop_database
from tests.resilience.tcp_fault import FaultyProxy, TrapAction, faulty_proxy

pytestmark = pytest.mark.load_sensitive  # tests/conftest.py: run again if the machine made it miss

RESILIENCE = {
    "read_timeout": 3.0,
    "write_timeout": 2.0,  # the stalled answer below: the guard gives up after this
    "breaker_failures": 5,
    "breaker_reset": 1.0,
}
# The one-statement placement's text (sources/orders/order_statement.py).
ORDER_STATEMENT = b"INSERT INTO orders (id, number"


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Shop, FaultyProxy]]:
    """A seeded PostgreSQL shop; the gateway reaches its orders source through a proxy
    (every statement's text sent each time: no prepared-statement cache), the test reads
    the databases directly."""
    require_postgres()
    url = run(create_temp_database)
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        run(lambda: _migrate_and_seed(urls, products=PRODUCTS))
        with faulty_proxy(url) as proxy:
            joiner = "&" if "?" in url else "?"
            orders = proxy.url_for(url) + f"{joiner}prepared_statement_cache_size=0"
            settings = settings_for(
                {**urls, "orders": orders},
                resilience=RESILIENCE,
                db_pool_size=2,
                sweep_interval_seconds=0,
                cache={"enabled": False},
            )
            for live in serve(settings):
                yield Shop("postgresql", urls, live), proxy
    finally:
        run(lambda: drop_database(url))


@pytest.fixture(scope="module")
def remote_shop(shop: tuple[Shop, FaultyProxy]) -> Iterator[tuple[Shop, FaultyProxy]]:
    """The same shop with every source reached through its own service over HTTP (the
    orders service's database behind the proxy): the service's client retries a write
    whose answer was lost."""
    live, proxy = shop
    if live.settings.remote.remote_sources:  # the whole run is remote already
        yield shop
        return
    with ExitStack() as services:
        settings = with_remote_sources(live.settings, services)
        for gateway in serve(settings):
            yield Shop("postgresql", live.urls, gateway), proxy


def reserved(shop: Shop, sku_id: int) -> int:
    return int(
        shop.scalar("inventory", f"SELECT SUM(reserved) FROM stock_items WHERE sku_id = {sku_id}")
    )


def orders_of_cart(shop: Shop, cart: dict[str, Any]) -> list[str]:
    """The numbers of the orders written for ``cart``, read from the database."""
    rows = shop.sql(
        "orders",
        "SELECT number FROM orders WHERE cart_id = :c ORDER BY id",
        {"c": cart_token(cart["id"])},
    )
    return [row[0] for row in rows]


def checkout(shop: Shop, cart: dict[str, Any], key: str, token: str) -> dict[str, Any]:
    """checkoutComplete over HTTP; the whole GraphQL response (data and errors)."""
    variables = {"cartId": cart["id"], "key": key, "total": cart["cost"]["total"]["amount"]}
    return shop.live.query(CHECKOUT, variables, token=token)


def checkout_through_trap(
    shop: Shop,
    proxy: FaultyProxy,
    action: TrapAction,
    cart: dict[str, Any],
    key: str,
    token: str,
    *,
    down_after: bool = False,
) -> dict[str, Any]:
    """checkoutComplete while the order statement meets ``action``; with ``down_after``,
    the database then refuses connections until the answer is given (longer than the
    gateway asks)."""
    trap = proxy.set_trap(ORDER_STATEMENT, action, refuse_after=down_after)
    try:
        body = checkout(shop, cart, key, token)
    finally:
        proxy.recover()
    assert trap.sprung.is_set()
    return body


def a_cart(shop: Shop, customer: int, index: int) -> tuple[dict[str, Any], int, str]:
    """A fresh cart of two units of its own SKU (so holds are counted per test)."""
    sku = shop.plain_skus(min_available=5)[index]
    return fresh_cart(shop, [(sku.id, 2)], customer), sku.id, shop.customer_token(customer)


def fresh_cart(shop: Shop, lines: list[tuple[int | str, int]], customer: int) -> dict[str, Any]:
    """cartCreate; once more if it met a connection an earlier test's trap left dead in
    the pool (a write is not retried unseen; its failure renews the pool)."""
    token = shop.customer_token(customer)
    try:
        return shop.create_cart(lines, token=token)["cart"]  # type: ignore[no-any-return]
    except AssertionError:
        return shop.create_cart(lines, token=token)["cart"]  # type: ignore[no-any-return]


def sweep_after_grace(shop: Shop) -> None:
    """The sweeper as it judges the shop once every attempt's grace has passed."""

    async def go() -> None:
        sources = Sources.from_settings(shop.settings)
        try:
            await sweep(sources, datetime.now(UTC) + ATTEMPT_GRACE + timedelta(minutes=20))
        finally:
            await sources.close()

    run(go)


def answered_with_the_order(
    live: Shop, body: dict[str, Any], cart: dict[str, Any]
) -> dict[str, Any]:
    """The checkout's payload, after checking it is the cart's one order, with no error."""
    assert "errors" not in body, body["errors"]
    placed: dict[str, Any] = body["data"]["checkoutComplete"]
    assert placed["userErrors"] == []
    assert orders_of_cart(live, cart) == [placed["order"]["number"]]
    return placed


def test_an_order_committed_as_its_connection_died_is_answered_with_the_order(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    live, proxy = shop
    cart, sku_id, token = a_cart(live, 1, 0)
    before = reserved(live, sku_id)
    body = checkout_through_trap(live, proxy, "cut", cart, "cut-1", token)
    # The order was written: the buyer is told so, not "unavailable".
    placed = answered_with_the_order(live, body, cart)
    assert reserved(live, sku_id) == before + 2  # the order keeps its stock
    again = live.checkout(cart, "cut-1", token=token)
    assert again["order"]["id"] == placed["order"]["id"]
    sweep_after_grace(live)
    assert reserved(live, sku_id) == before + 2
    assert orders_of_cart(live, cart) == [placed["order"]["number"]]


def test_a_remote_orders_source_retrying_a_committed_order_answers_with_the_order(
    remote_shop: tuple[Shop, FaultyProxy],
) -> None:
    """The orders service's connection dies after the order committed; its client retries
    the write, whose key the order's statement claimed: the service answers the failure
    (it was: the retry wrote again and found the cart completed, by itself). The
    checkout settles: the buyer gets their order, and its stock stays held."""
    live, proxy = remote_shop
    cart, sku_id, token = a_cart(live, 8, 5)
    before = reserved(live, sku_id)
    body = checkout_through_trap(live, proxy, "cut", cart, "remote-cut-1", token)
    answered_with_the_order(live, body, cart)
    assert reserved(live, sku_id) == before + 2


def test_a_commit_whose_answer_was_lost_is_answered_with_the_order(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    """An order with a purchase limit is written in a transaction: its COMMIT is what
    commits, and what the connection dies after."""
    live, proxy = shop
    sku = next(
        s
        for s in live.skus()
        if s.purchase_limit and s.kind == "PHYSICAL" and s.fulfillment == "WAREHOUSE"
        and s.is_published and s.is_active and s.sale is not None and not s.is_presale
        and s.available >= 5
    )  # fmt: skip
    token = live.customer_token(6)
    cart = fresh_cart(live, [(sku.id, 1)], 6)
    before = reserved(live, sku.id)
    # Not BEGIN ... READ COMMITTED. A remote orders service sends its COMMIT behind the
    # call's stored answer, in one simple query (sources/common/request_keys.py, answer).
    remote = bool(live.settings.remote.remote_sources)
    trap = proxy.set_trap(b"; COMMIT\x00" if remote else b"COMMIT;", "cut")
    body = checkout(live, cart, "commit-1", token)
    assert trap.sprung.is_set()
    answered_with_the_order(live, body, cart)
    assert reserved(live, sku.id) == before + 1


def test_an_order_answer_lost_to_a_timeout_is_answered_with_the_order(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    live, proxy = shop
    cart, sku_id, token = a_cart(live, 2, 1)
    before = reserved(live, sku_id)
    trap = proxy.set_trap(ORDER_STATEMENT, "stall")
    started = time.monotonic()
    body = checkout(live, cart, "stall-1", token)
    assert trap.sprung.is_set()
    assert time.monotonic() - started >= RESILIENCE["write_timeout"]  # it did time out
    answered_with_the_order(live, body, cart)
    assert reserved(live, sku_id) == before + 2


def test_an_unknown_outcome_says_so_and_the_same_key_finds_the_order(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    live, proxy = shop
    cart, sku_id, token = a_cart(live, 3, 2)
    before = reserved(live, sku_id)
    body = checkout_through_trap(live, proxy, "cut", cart, "unknown-1", token, down_after=True)
    # Not "failed": a coded, retryable answer that says the order may exist and how to
    # learn whether it does.
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["source"] == "orders"
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["outcome"] == "UNKNOWN"
    assert error["extensions"]["retryWithSameKey"] is True
    assert "same idempotencyKey" in error["message"]
    [number] = orders_of_cart(live, cart)  # it was written
    assert reserved(live, sku_id) == before + 2  # and its hold was not given back
    time.sleep(RESILIENCE["breaker_reset"] + 0.2)
    again = live.checkout(cart, "unknown-1", token=token)
    assert again["userErrors"] == [] and again["order"]["number"] == number
    sweep_after_grace(live)
    assert reserved(live, sku_id) == before + 2
    assert orders_of_cart(live, cart) == [number]


def test_an_unknown_outcome_without_an_order_frees_the_key_once_the_database_is_back(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    """The order statement never reached the database, which then refused connections
    past the answer: "unknown". Once it answers again, the gateway learns by itself that no
    order was written, gives the hold back and frees the key: the buyer's retry with the
    same key places the order at once, not after the attempt's one-minute lease."""
    live, proxy = shop
    cart, sku_id, token = a_cart(live, 7, 6)
    before = reserved(live, sku_id)
    body = checkout_through_trap(
        live, proxy, "drop", cart, "unknown-none-1", token, down_after=True
    )
    [error] = body["errors"]
    assert error["extensions"]["outcome"] == "UNKNOWN", error
    assert orders_of_cart(live, cart) == []
    assert reserved(live, sku_id) == before + 2  # held while the outcome is unknown
    deadline = time.monotonic() + 5
    while reserved(live, sku_id) != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reserved(live, sku_id) == before  # given back without the sweeper
    started = time.monotonic()
    placed = live.checkout(cart, "unknown-none-1", token=token)
    assert placed["userErrors"] == [] and placed["order"] is not None
    assert time.monotonic() - started < 3  # not the "still in progress" wait
    assert orders_of_cart(live, cart) == [placed["order"]["number"]]
    assert reserved(live, sku_id) == before + 2


def test_an_order_statement_that_never_ran_gives_the_hold_and_the_key_back_at_once(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    live, proxy = shop
    cart, sku_id, token = a_cart(live, 4, 3)
    before = reserved(live, sku_id)
    body = checkout_through_trap(live, proxy, "drop", cart, "drop-1", token)
    if live.settings.remote.remote_sources:  # --sources remote: the service's client
        assert "errors" not in body, body  # retried the write that never ran, and it ran
        return
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["retryable"] is True
    assert "outcome" not in error["extensions"]  # known: no order
    assert orders_of_cart(live, cart) == []
    assert reserved(live, sku_id) == before  # no sweeper needed
    # The key is free again: the same key places the order now.
    placed = live.checkout(cart, "drop-1", token=token)
    assert placed["userErrors"] == [] and placed["order"] is not None
    assert orders_of_cart(live, cart) == [placed["order"]["number"]]
    assert reserved(live, sku_id) == before + 2


def test_a_checkout_cancelled_after_its_order_was_sent_keeps_the_hold(
    shop: tuple[Shop, FaultyProxy],
) -> None:
    """A request cancelled mid-call (a shutdown's deadline, a caller gone) cannot know
    whether its order was written: it must not give back the stock the order may hold."""
    live, proxy = shop
    cart, sku_id, _ = a_cart(live, 5, 4)
    before = reserved(live, sku_id)
    customer_id = live.customer_id("customer5@example.com")
    trap = proxy.set_trap(ORDER_STATEMENT, "stall")
    policy = CheckoutPolicy.from_settings(live.settings)

    async def go() -> None:
        sources = Sources.from_settings(live.settings)
        try:
            task = asyncio.create_task(
                complete_checkout(
                    sources,
                    customer_id=customer_id,
                    cart_id=str(cart_token(cart["id"])),
                    idempotency_key="cancel-1",
                    expected_total=Decimal(cart["cost"]["total"]["amount"]),
                    policy=policy,
                    actor=f"customer:{customer_id}",
                )
            )
            sprung = await asyncio.to_thread(trap.sprung.wait, 20)
            assert sprung, task.result() if task.done() else "still running"
            await asyncio.sleep(0.5)  # the server commits meanwhile; its answer is held
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await sources.close()

    run(go)
    [number] = orders_of_cart(live, cart)
    assert reserved(live, sku_id) == before + 2
    sweep_after_grace(live)
    assert reserved(live, sku_id) == before + 2
    assert orders_of_cart(live, cart) == [number]
