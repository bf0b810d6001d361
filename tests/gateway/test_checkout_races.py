"""Checkouts racing each other over real HTTP, on SQLite and on PostgreSQL: buyers racing
for the last units of a SKU or the last uses of a coupon, one buyer's doubled "place order"
and the sweeper racing checkouts whose stock hold runs out. Whatever the interleaving: no
more orders than stock or coupon uses, never negative stock, one order per idempotency key,
and never an order without its stock held nor stock held without an order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from gateway.checkout.sweeper import ATTEMPT_GRACE, sweep
from gateway.resolvers.cart import cart_token
from gateway.sources import Sources
from sources.common.db import Database
from sources.inventory.records import ReservationRequest, ReservationStatus
from sources.pricing import models as pricing_models
from tests.gateway.checkout_helpers import (
    BACKENDS,
    CHECKOUT,
    Goods,
    Shop,
    address,
    codes,
    open_shop,
    post_all,
    run,
    sku_gid,
)

# What a "buy now" button needs back: the cart, its total and whether it can be placed.
CART_CREATE_LEAN = """
mutation CartCreate($input: CartCreateInput!) {
  cartCreate(input: $input) {
    cart { id cost { total { amount } discountTotal { amount } } validation { ok errors { code } } }
    userErrors { code field message }
  }
}"""
BUYERS = 40
LAST_UNITS = 10
COUPON_USES = 5
HOLD_EXPIRED = timedelta(seconds=11)  # past the 10 s hold, long before the attempt is stale
ATTEMPT_STALE = timedelta(minutes=11)  # past the sweeper's 10 min grace for attempts


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    # The shortest hold the gateway accepts, so the sweeper race below can expire holds
    # with a ``now`` only seconds ahead.
    yield from open_shop(
        request.param,
        tmp_path_factory.mktemp(f"race-{request.param}"),
        reservation_ttl_seconds=10,
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _carts(
    shop: Shop, buyers: list[int], lines: list[tuple[int, int]], **input: Any
) -> list[dict[str, Any]]:
    """One cart per buyer, created all at once as many storefronts would."""
    cart_input = {
        "lines": [{"skuId": sku_gid(sku), "quantity": qty} for sku, qty in lines],
        "shippingAddress": address("CN-SH"),
        **input,
    }
    results = run(
        lambda: post_all(
            shop.live.url,
            [(CART_CREATE_LEAN, {"input": cart_input}, shop.customer_token(n)) for n in buyers],
        )
    )
    carts = []
    for result in results:
        assert "errors" not in result, result["errors"]
        payload = result["data"]["cartCreate"]
        assert payload["userErrors"] == [], payload["userErrors"]
        assert payload["cart"]["validation"]["ok"], payload["cart"]["validation"]
        carts.append(payload["cart"])
    return carts


def _checkouts(
    shop: Shop, buyers: list[int], carts: list[dict[str, Any]], key: str
) -> list[dict[str, Any]]:
    """Every buyer presses "place order" at the same moment, paying what they were shown."""
    requests = [
        (
            CHECKOUT,
            {"cartId": cart["id"], "key": f"{key}-{n}", "total": cart["cost"]["total"]["amount"]},
            shop.customer_token(n),
        )
        for n, cart in zip(buyers, carts, strict=True)
    ]
    results = run(lambda: post_all(shop.live.url, requests))
    payloads = []
    for result in results:
        assert "errors" not in result, result["errors"]
        payloads.append(result["data"]["checkoutComplete"])
    return payloads


def _orders_of_carts(shop: Shop, carts: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """{order number: (status, order_ref, cart token)} of the orders placed from these carts."""
    from base64 import urlsafe_b64decode

    tokens = [urlsafe_b64decode(c["id"]).decode().split(":", 1)[1] for c in carts]
    placeholders = ", ".join(f":c{i}" for i in range(len(tokens)))
    rows = shop.sql(
        "orders",
        f"SELECT number, status, order_ref, cart_id FROM orders WHERE cart_id IN ({placeholders})",
        {f"c{i}": t for i, t in enumerate(tokens)},
    )
    return {number: (status, ref, cart) for number, status, ref, cart in rows}


def _stock_is_sane(shop: Shop, sku_id: int) -> None:
    for warehouse, on_hand, reserved in shop.stock_rows(sku_id):
        assert 0 <= reserved <= on_hand, (warehouse, on_hand, reserved)


@pytest.mark.parametrize(
    "split", [(LAST_UNITS,), (4, LAST_UNITS - 4)], ids=["one-warehouse", "two-warehouses"]
)
def test_forty_buyers_race_for_the_last_ten_units(
    shop: Shop, goods: Goods, split: tuple[int, ...]
) -> None:
    sku = next(s for s in iter(goods.take, None) if len(shop.stock_rows(s.id)) >= len(split))
    shop.set_available(sku.id, *split)
    on_hand = [row[1] for row in shop.stock_rows(sku.id)]
    buyers = list(range(1, BUYERS + 1))
    carts = _carts(shop, buyers, [(sku.id, 1)])

    results = _checkouts(shop, buyers, carts, f"last-units-{len(split)}")

    won = [r["order"] for r in results if r["order"] is not None]
    lost = [r["userErrors"] for r in results if r["order"] is None]
    assert len(won) == LAST_UNITS
    assert all(r["userErrors"] == [] for r in results if r["order"] is not None)
    assert all(codes(errors) == ["INSUFFICIENT_STOCK"] for errors in lost), lost
    assert shop.available(sku.id) == 0
    _stock_is_sane(shop, sku.id)
    assert [row[1] for row in shop.stock_rows(sku.id)] == on_hand, "on hand is untouched"
    assert shop.staff_stock(sku.id)["available"] == 0
    placed = _orders_of_carts(shop, carts)
    assert sorted(placed) == sorted(o["number"] for o in won)
    assert {status for status, _, _ in placed.values()} == {"PENDING_PAYMENT"}


def test_forty_buyers_race_for_the_last_five_uses_of_a_coupon(shop: Shop, goods: Goods) -> None:
    coupon = shop.coupon("SAVE50")
    active = int(
        shop.scalar(
            "pricing",
            "SELECT COUNT(*) FROM coupon_usages WHERE promotion_id = :p AND released_at IS NULL",
            {"p": coupon["id"]},
        )
    )
    shop.sql(
        "pricing",
        "UPDATE promotions SET usage_limit = :n WHERE id = :p",
        {"n": active + COUPON_USES, "p": coupon["id"]},
    )
    sku = goods.take(dearer_than=Decimal(520))  # over the coupon's threshold on its own
    shop.sql(
        "inventory",
        "UPDATE stock_items SET on_hand = reserved + 1000 WHERE sku_id = :s",
        {"s": sku.id},
    )
    available = shop.available(sku.id)
    buyers = list(range(1, BUYERS + 1))
    carts = _carts(shop, buyers, [(sku.id, 1)], couponCodes=["SAVE50"])
    assert all(Decimal(c["cost"]["discountTotal"]["amount"]) >= 50 for c in carts)

    try:
        results = _checkouts(shop, buyers, carts, "last-coupons")
    finally:
        shop.sql(
            "pricing",
            "UPDATE promotions SET usage_limit = :n WHERE id = :p",
            {"n": coupon["usage_limit"], "p": coupon["id"]},
        )

    won = [r["order"] for r in results if r["order"] is not None]
    lost = [codes(r["userErrors"]) for r in results if r["order"] is None]
    assert len(won) == COUPON_USES
    # Refused by validation (the coupon drops out, so the total the buyer saw is also
    # stale) or by the usage count itself: the limit is named either way, nothing else.
    for errors in lost:
        assert "COUPON_USAGE_LIMIT_REACHED" in errors, errors
        assert set(errors) <= {"COUPON_USAGE_LIMIT_REACHED", "PRICE_CHANGED"}, errors
    placed = _orders_of_carts(shop, carts)
    refs = {ref for _, ref, _ in placed.values()}
    uses = shop.sql(
        "pricing",
        "SELECT order_ref FROM coupon_usages WHERE promotion_id = :p AND released_at IS NULL",
        {"p": coupon["id"]},
    )
    ours = [ref for (ref,) in uses if ref in refs]
    assert len(ours) == COUPON_USES and len(uses) == active + COUPON_USES
    assert sorted(ours) == sorted(refs)
    # The refused buyers' stock holds went back.
    assert shop.available(sku.id) == available - COUPON_USES
    _stock_is_sane(shop, sku.id)


def test_the_same_key_ten_times_at_once_places_one_order(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    available = shop.available(sku.id)
    token = shop.customer_token(41)
    carts = _carts(shop, [41], [(sku.id, 2)])
    variables = {
        "cartId": carts[0]["id"],
        "key": "double-click",
        "total": carts[0]["cost"]["total"]["amount"],
    }

    results = run(lambda: post_all(shop.live.url, [(CHECKOUT, variables, token)] * 10))

    for result in results:
        assert "errors" not in result, result["errors"]
        assert result["data"]["checkoutComplete"]["userErrors"] == []
    numbers = {r["data"]["checkoutComplete"]["order"]["number"] for r in results}
    assert len(numbers) == 1
    assert sorted(_orders_of_carts(shop, carts)) == sorted(numbers)
    assert shop.available(sku.id) == available - 2
    held = shop.scalar(
        "inventory",
        "SELECT COUNT(*) FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id "
        "WHERE l.sku_id = :s AND r.status IN ('HELD', 'CONFIRMED')",
        {"s": sku.id},
    )
    assert int(held) == 1


async def _sweep(shop: Shop, ahead: timedelta, *, until: asyncio.Event | None = None) -> None:
    """Run the sweeper with a clock ``ahead`` of now: once, or over and over until told."""
    sources = Sources.from_settings(shop.settings)
    try:
        await sweep(sources, now=datetime.now(UTC) + ahead)
        while until is not None and not until.is_set():
            await asyncio.sleep(0.005)
            await sweep(sources, now=datetime.now(UTC) + ahead)
    finally:
        await sources.close()


def test_the_sweeper_racing_late_checkouts_never_splits_an_order_from_its_stock(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    shop.sql(
        "inventory",
        "UPDATE stock_items SET on_hand = reserved + 500 WHERE sku_id = :s",
        {"s": sku.id},
    )
    buyers = list(range(21, 41))
    carts = _carts(shop, buyers, [(sku.id, 1)])
    requests = [
        (
            CHECKOUT,
            {"cartId": c["id"], "key": f"late-{n}", "total": c["cost"]["total"]["amount"]},
            shop.customer_token(n),
        )
        for n, c in zip(buyers, carts, strict=True)
    ]

    async def race() -> list[dict[str, Any]]:
        # Every hold expires as soon as it is made: each checkout races the sweeper between
        # its hold and its confirmation.
        done = asyncio.Event()
        sweeper = asyncio.create_task(_sweep(shop, HOLD_EXPIRED, until=done))
        try:
            return await post_all(shop.live.url, requests)
        finally:
            done.set()
            await sweeper

    results = run(race)
    # One more sweep, as the next interval would: what is still held must be an order's.
    run(lambda: _sweep(shop, HOLD_EXPIRED))

    payloads = []
    for result in results:
        assert "errors" not in result, result["errors"]
        payloads.append(result["data"]["checkoutComplete"])
    for payload in payloads:
        if payload["order"] is None:
            assert codes(payload["userErrors"]) == ["INSUFFICIENT_STOCK"], payload
    told = {p["order"]["number"] for p in payloads if p["order"] is not None}

    placed = _orders_of_carts(shop, carts)
    statuses = {
        ref: status
        for ref, status in shop.sql(
            "inventory", "SELECT order_ref, status FROM reservations WHERE order_ref LIKE 'chk_%'"
        )
    }
    live_refs = set()
    for number, (status, ref, _) in placed.items():
        if status == "PENDING_PAYMENT":
            assert statuses.get(ref) == "CONFIRMED", (number, statuses.get(ref))
            assert number in told, "a buyer told 'no order' has a live order"
            live_refs.add(ref)
        else:
            assert status == "CANCELLED"
            assert statuses.get(ref) == "RELEASED", (number, statuses.get(ref))
            assert number not in told, "a buyer was told they have an order that is cancelled"
    assert told <= set(placed)
    live_orders = {
        ref
        for (ref,) in shop.sql(
            "orders", "SELECT order_ref FROM orders WHERE status = 'PENDING_PAYMENT'"
        )
    }
    held = [ref for ref, status in statuses.items() if status in ("HELD", "CONFIRMED")]
    orphans = [ref for ref in held if ref not in live_orders]
    assert orphans == [], "stock held without an order"
    reserved = sum(row[2] for row in shop.stock_rows(sku.id))
    assert reserved == len(live_refs)
    _stock_is_sane(shop, sku.id)


# -- a checkout held up mid-saga -------------------------------------------------------------
#
# To put the sweeper (or a second checkout) exactly between a checkout's stock hold and its
# order, the test holds the row of the cart's coupon, as another checkout recording a use of
# that coupon would: the checkout validates and holds its stock, then waits on that row to
# record its coupon use. SQLite: the pricing database's write lock; PostgreSQL: the
# promotion row's lock (SELECT ... FOR UPDATE), both what ``record_coupon_uses`` takes.

HELD_UP_COUPON = "SAVE50"


class HeldUp:
    """Checkouts sent while the coupon's row is held, and the sources' databases to watch
    them from."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.dbs = {name: Database(url, pool_size=2) for name, url in shop.urls.items()}
        self.sources = Sources.from_settings(shop.settings)

    async def close(self) -> None:
        for db in self.dbs.values():
            await db.dispose()
        await self.sources.close()

    async def value(self, source: str, statement: str, **params: Any) -> Any:
        async with self.dbs[source].connect() as conn:
            return (await conn.execute(text(statement), params)).scalar()

    async def until(self, source: str, statement: str, **params: Any) -> Any:
        """Poll until the statement gives a truthy value (10 s at most)."""
        for _ in range(1000):
            found = await self.value(source, statement, **params)
            if found:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for: {statement} {params}")

    async def held(self, customer_id: int, key: str) -> str:
        """The order_ref of the customer's checkout once its stock is held."""
        ref = await self.until(
            "orders",
            "SELECT order_ref FROM checkout_attempts "
            "WHERE customer_id = :c AND idempotency_key = :k",
            c=customer_id,
            k=key,
        )
        await self.until(
            "inventory",
            "SELECT 1 FROM reservations WHERE order_ref = :r AND status = 'HELD'",
            r=ref,
        )
        return str(ref)

    def lock_coupon(self) -> Any:
        shop = self.shop
        pricing = self.dbs["pricing"]
        promotion_id = shop.coupon(HELD_UP_COUPON)["id"]

        class Lock:
            async def __aenter__(self) -> None:
                self.cm = pricing.begin()
                conn = await self.cm.__aenter__()
                await conn.execute(
                    select(pricing_models.Promotion.id)
                    .where(pricing_models.Promotion.id == promotion_id)
                    .with_for_update()
                )

            async def __aexit__(self, *exc: Any) -> None:
                await self.cm.__aexit__(None, None, None)

        return Lock()


def _held_up_cart(
    shop: Shop, goods: Goods, buyer: int, *, quantity: int = 1
) -> tuple[dict[str, Any], Any]:
    sku = goods.take(dearer_than=Decimal(520))  # over the coupon's threshold on its own
    shop.sql(
        "inventory",
        "UPDATE stock_items SET on_hand = reserved + 50 WHERE sku_id = :s",
        {"s": sku.id},
    )
    return _carts(shop, [buyer], [(sku.id, quantity)], couponCodes=[HELD_UP_COUPON])[0], sku


def _checkout_request(
    shop: Shop, buyer: int, cart: dict[str, Any], key: str
) -> tuple[str, dict[str, Any], str]:
    return (
        CHECKOUT,
        {"cartId": cart["id"], "key": key, "total": cart["cost"]["total"]["amount"]},
        shop.customer_token(buyer),
    )


def _late_checkout(
    shop: Shop, goods: Goods, buyer: int, ahead: timedelta
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A checkout whose stock is held when the sweeper runs ``ahead`` of now, before its
    order is placed. (its response, its cart, its order_ref)"""
    cart, _ = _held_up_cart(shop, goods, buyer)
    key = f"late-{ahead.total_seconds():g}"
    customer_id = shop.customer_id(f"customer{buyer}@example.com")

    async def scenario() -> tuple[dict[str, Any], str]:
        watch = HeldUp(shop)
        try:
            async with watch.lock_coupon():
                checkout = asyncio.create_task(
                    post_all(shop.live.url, [_checkout_request(shop, buyer, cart, key)])
                )
                ref = await watch.held(customer_id, key)
                sweeper = asyncio.create_task(sweep(watch.sources, now=datetime.now(UTC) + ahead))
                if ahead < ATTEMPT_GRACE:
                    await sweeper  # it only releases the expired hold
                else:
                    # It forgets the attempt, then releases its coupon uses, which on SQLite
                    # waits for the row held here: go on once the attempt is forgotten.
                    await watch.until(
                        "orders",
                        "SELECT 1 WHERE NOT EXISTS "
                        "(SELECT 1 FROM checkout_attempts WHERE order_ref = :r)",
                        r=ref,
                    )
            await sweeper
            (result,) = await checkout
            return result, ref
        finally:
            await watch.close()

    result, ref = run(scenario)
    return result, cart, ref


def _nothing_left_behind(shop: Shop, cart: dict[str, Any], ref: str) -> None:
    """No live order for the cart, its hold released, its coupon use not counted."""
    placed = _orders_of_carts(shop, [cart])
    assert [status for status, _, _ in placed.values() if status != "CANCELLED"] == []
    assert (
        shop.scalar("inventory", "SELECT status FROM reservations WHERE order_ref = :r", {"r": ref})
        == "RELEASED"
    )
    active = shop.scalar(
        "pricing",
        "SELECT COUNT(*) FROM coupon_usages WHERE order_ref = :r AND released_at IS NULL",
        {"r": ref},
    )
    assert int(active) == 0


def test_a_hold_that_expires_before_the_order_is_placed_leaves_nothing_behind(
    shop: Shop, goods: Goods
) -> None:
    result, cart, ref = _late_checkout(shop, goods, 42, HOLD_EXPIRED)
    assert "errors" not in result, result["errors"]
    payload = result["data"]["checkoutComplete"]
    assert payload["order"] is None
    assert codes(payload["userErrors"]) == ["INSUFFICIENT_STOCK"]
    _nothing_left_behind(shop, cart, ref)


def test_a_buyer_whose_hold_expired_mid_checkout_can_try_again(shop: Shop, goods: Goods) -> None:
    result, cart, _ = _late_checkout(shop, goods, 43, HOLD_EXPIRED)
    assert codes(result["data"]["checkoutComplete"]["userErrors"]) == ["INSUFFICIENT_STOCK"]
    # The client retries as told, with the same key (a retry) ...
    (retry,) = run(
        lambda: post_all(
            shop.live.url,
            [_checkout_request(shop, 43, cart, f"late-{HOLD_EXPIRED.total_seconds():g}")],
        )
    )
    again = retry["data"]["checkoutComplete"]
    assert again["order"] is not None and again["order"]["status"] == "PENDING_PAYMENT", again


def test_a_checkout_the_sweeper_gave_up_on_leaves_nothing_behind(shop: Shop, goods: Goods) -> None:
    _, cart, ref = _late_checkout(shop, goods, 44, ATTEMPT_STALE)
    _nothing_left_behind(shop, cart, ref)


def test_a_checkout_the_sweeper_gave_up_on_gets_a_user_error(shop: Shop, goods: Goods) -> None:
    result, _, _ = _late_checkout(shop, goods, 45, ATTEMPT_STALE)
    assert "errors" not in result, result["errors"]
    payload = result["data"]["checkoutComplete"]
    assert payload["order"] is None
    assert codes(payload["userErrors"]) == ["INSUFFICIENT_STOCK"]


def test_a_checkout_that_died_after_its_confirmed_reservation_leaves_nothing_behind(
    shop: Shop, goods: Goods
) -> None:
    """Without a coupon the reservation is CONFIRMED as it is made (no expiry). A checkout
    that dies before its order exists leaves that and its attempt: the sweeper's pass over
    stale attempts gives the stock back, and the buyer's retry with the key then orders."""
    sku, buyer, key = goods.take(), 46, "died-confirmed"
    before = shop.available(sku.id)
    (cart,) = _carts(shop, [buyer], [(sku.id, 1)])

    async def die_after_reserving() -> str:
        sources = Sources.from_settings(shop.settings)
        try:
            now = datetime.now(UTC)
            start = await sources.orders.checkout_start(
                cart_id=str(cart_token(cart["id"])),
                customer_id=buyer,
                idempotency_key=key,
                now=now,
                stale_after=timedelta(seconds=60),
            )
            assert start.attempt is not None
            made = await sources.inventory.reserve(
                order_ref=start.attempt.order_ref,
                items=[ReservationRequest(sku.id, 1)],
                now=now,
                ttl=timedelta(minutes=15),
                confirmed=True,
            )
            assert made.ok and made.status is ReservationStatus.CONFIRMED
            return start.attempt.order_ref
        finally:
            await sources.close()

    ref = run(die_after_reserving)
    assert shop.available(sku.id) == before - 1
    run(lambda: _sweep(shop, HOLD_EXPIRED))  # not expired: a confirmed one has no expiry
    assert shop.available(sku.id) == before - 1
    run(lambda: _sweep(shop, ATTEMPT_STALE))
    assert shop.available(sku.id) == before
    assert (
        shop.scalar("inventory", "SELECT status FROM reservations WHERE order_ref = :r", {"r": ref})
        == "RELEASED"
    )
    (retry,) = run(lambda: post_all(shop.live.url, [_checkout_request(shop, buyer, cart, key)]))
    placed = retry["data"]["checkoutComplete"]
    assert placed["userErrors"] == [] and placed["order"] is not None, placed
    assert shop.available(sku.id) == before - 1


def test_one_customer_racing_their_own_purchase_limit_gets_one_order(
    shop: Shop, goods: Goods
) -> None:
    buyer = 46
    first, sku = _held_up_cart(shop, goods, buyer)
    shop.sql("catalog", "UPDATE skus SET purchase_limit = 1 WHERE id = :s", {"s": sku.id})
    second = _carts(shop, [buyer], [(sku.id, 1)], couponCodes=[HELD_UP_COUPON])[0]
    customer_id = shop.customer_id(f"customer{buyer}@example.com")

    async def scenario() -> list[dict[str, Any]]:
        watch = HeldUp(shop)
        try:
            async with watch.lock_coupon():
                both = asyncio.create_task(
                    post_all(
                        shop.live.url,
                        [
                            _checkout_request(shop, buyer, first, "tab-1"),
                            _checkout_request(shop, buyer, second, "tab-2"),
                        ],
                    )
                )
                await watch.held(customer_id, "tab-1")
                await watch.held(customer_id, "tab-2")
            return await both
        finally:
            await watch.close()

    results = run(scenario)
    payloads = [r["data"]["checkoutComplete"] for r in results]
    assert sorted(codes(p["userErrors"]) for p in payloads) == [[], ["PURCHASE_LIMIT_EXCEEDED"]]
