"""Reserve on add, for flash-sale items, over real HTTP on SQLite and PostgreSQL: staff mark
a product ``reserveOnAdd``; adding its SKU holds the stock at once (no oversell, 40 buyers
for the last 10 units get exactly 10 holds), the line shows ``reservedUntil``, activity
extends it once, removal and decreases give units back, expiry (the sweeper) gives them
back, and checkout converts the hold instead of taking the stock twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.checkout.sweeper import sweep
from gateway.sources import Sources
from tests.gateway.checkout_helpers import (
    BACKENDS,
    CART_LINES_REMOVE,
    Goods,
    Shop,
    address,
    codes,
    global_id,
    open_shop,
    post_all,
    run,
    sku_gid,
)

TTL = 120  # short, so a sweeper clock past it stays within the attempts' 10 min grace
HOLD_LINES = "lines { id quantity reservedUntil sku { id } }"
ADD = f"""
mutation Add($cartId: ID!, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartId: $cartId, lines: $lines) {{
    cart {{ id {HOLD_LINES} }} userErrors {{ code field lineId message }}
  }}
}}"""
CREATE = f"""
mutation Create($input: CartCreateInput!) {{
  cartCreate(input: $input) {{
    cart {{ id {HOLD_LINES} cost {{ total {{ amount }} }} validation {{ ok errors {{ code }} }} }}
    userErrors {{ code field lineId message }}
  }}
}}"""
UPDATE = f"""
mutation Update($cartId: ID!, $lines: [CartLineUpdateInput!]!) {{
  cartLinesUpdate(cartId: $cartId, lines: $lines) {{
    cart {{ id {HOLD_LINES} }} userErrors {{ code field lineId message }}
  }}
}}"""
ADDRESS = f"""
mutation Ship($cartId: ID!, $address: AddressInput!) {{
  cartShippingAddressSet(cartId: $cartId, address: $address) {{
    cart {{ id {HOLD_LINES} }} userErrors {{ code }}
  }}
}}"""
PRODUCT_UPDATE = """
mutation Mark($id: ID!, $on: Boolean!) {
  productUpdate(productId: $id, input: { reserveOnAdd: $on }) {
    product { id reserveOnAdd } userErrors { code message }
  }
}"""


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    directory = tmp_path_factory.mktemp(f"reserve-{request.param}")
    yield from open_shop(request.param, directory, cart_reservation_ttl_seconds=TTL)


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _flash(shop: Shop, goods: Goods, units: int) -> int:
    """A plain SKU marked reserveOnAdd by staff, with exactly ``units`` free."""
    sku = goods.take()
    marked = shop.query(
        PRODUCT_UPDATE,
        {"id": global_id("Product", sku.product_id), "on": True},
        token=shop.staff_token("MANAGE_PRODUCTS"),
    )["productUpdate"]
    assert marked["userErrors"] == [] and marked["product"]["reserveOnAdd"] is True
    shop.set_available(sku.id, units)
    return sku.id


def _create(shop: Shop, sku: int, qty: int, **kw: Any) -> dict[str, Any]:
    payload = {"lines": [{"skuId": sku_gid(sku), "quantity": qty}], "shippingAddress": address()}
    return shop.query(CREATE, {"input": payload}, **kw)["cartCreate"]  # type: ignore[no-any-return]


def _until(line: dict[str, Any]) -> datetime | None:
    value = line["reservedUntil"]
    return datetime.fromisoformat(value) if value else None


def _held(shop: Shop, sku: int) -> int:
    return int(
        shop.scalar(
            "inventory",
            "SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l "
            "JOIN reservations r ON r.id = l.reservation_id "
            "WHERE l.sku_id = :s AND r.status IN ('HELD', 'CONFIRMED')",
            {"s": sku},
        )
    )


def _sweep_ahead(shop: Shop, ahead: timedelta) -> None:
    async def go() -> None:
        sources = Sources.from_settings(shop.settings)
        try:
            await sweep(sources, now=datetime.now(UTC) + ahead)
        finally:
            await sources.close()

    run(go)


def _expire(shop: Shop, cart_gid: str) -> None:
    """The cart's holds lapse now (as if CART_RESERVATION_TTL had passed) and the sweeper
    runs: only those, so the other tests' holds stay."""
    from gateway.schema.node import decode_id

    _, token = decode_id(cart_gid)
    shop.sql(
        "inventory",
        "UPDATE reservations SET expires_at = :t WHERE order_ref LIKE :p AND status = 'HELD'",
        {"t": datetime.now(UTC) - timedelta(seconds=1), "p": f"cart:{token}:%"},
    )
    _sweep_ahead(shop, timedelta(0))


def test_only_staff_mark_a_product_reserve_on_add_and_it_is_audited(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    pid = global_id("Product", sku.product_id)
    result = shop.live.query(PRODUCT_UPDATE, {"id": pid, "on": True}, token=shop.customer_token(1))
    assert "errors" in result or result["data"]["productUpdate"]["product"] is None
    marked = shop.query(
        PRODUCT_UPDATE, {"id": pid, "on": True}, token=shop.staff_token("MANAGE_PRODUCTS")
    )["productUpdate"]
    assert marked["product"]["reserveOnAdd"] is True
    trail = shop.sql(
        "catalog",
        "SELECT after FROM catalog_audit WHERE entity_type = 'product' AND entity_id = :i",
        {"i": sku.product_id},
    )
    assert any("reserve_on_add" in str(row[0]) for row in trail), trail


def test_forty_buyers_adding_the_last_ten_units_get_exactly_ten_holds(
    shop: Shop, goods: Goods
) -> None:
    sku = _flash(shop, goods, 10)
    payload = {"lines": [{"skuId": sku_gid(sku), "quantity": 1}]}
    bodies = run(lambda: post_all(shop.live.url, [(CREATE, {"input": payload}, None)] * 40))
    assert all("errors" not in b for b in bodies), [b["errors"] for b in bodies if "errors" in b]
    created = [b["data"]["cartCreate"] for b in bodies]
    holders = [c for c in created if c["cart"]["lines"]]
    refused = [c for c in created if not c["cart"]["lines"]]
    assert len(holders) == 10
    assert all(_until(c["cart"]["lines"][0]) is not None for c in holders)
    assert all(codes(c["userErrors"]) == ["INSUFFICIENT_STOCK"] for c in refused)
    assert all(c["userErrors"][0]["field"] == ["lines", "0"] for c in refused)
    assert shop.available(sku) == 0
    assert _held(shop, sku) == 10


def test_checkout_converts_the_hold_without_taking_the_stock_twice(
    shop: Shop, goods: Goods
) -> None:
    sku = _flash(shop, goods, 2)
    token = shop.customer_token(2)
    cart = _create(shop, sku, 2, token=token)
    assert cart["userErrors"] == []
    assert cart["cart"]["validation"]["ok"] is True, cart["cart"]["validation"]
    on_hand_before = sum(on_hand for _, on_hand, _ in shop.stock_rows(sku))
    placed = shop.checkout(cart["cart"], "reserve-convert", token=token)
    assert placed["userErrors"] == [] and placed["order"]["status"] == "PENDING_PAYMENT"
    assert shop.available(sku) == 0
    assert _held(shop, sku) == 2  # the order's reservation only: the hold became it
    assert sum(on_hand for _, on_hand, _ in shop.stock_rows(sku)) == on_hand_before


def test_a_buyer_who_holds_the_last_units_is_not_told_they_are_gone(
    shop: Shop, goods: Goods
) -> None:
    sku = _flash(shop, goods, 1)
    winner = _create(shop, sku, 1)
    loser = _create(shop, sku, 1)
    assert winner["cart"]["validation"]["ok"] is True
    assert codes(loser["userErrors"]) == ["INSUFFICIENT_STOCK"] and loser["cart"]["lines"] == []


def test_increase_is_held_or_refused_whole_decrease_and_removal_give_units_back(
    shop: Shop, goods: Goods
) -> None:
    sku = _flash(shop, goods, 3)
    cart = _create(shop, sku, 2)["cart"]
    line = cart["lines"][0]
    until = _until(line)
    refused = shop.query(
        UPDATE, {"cartId": cart["id"], "lines": [{"lineId": line["id"], "quantity": 5}]}
    )
    errors = refused["cartLinesUpdate"]["userErrors"]
    assert codes(errors) == ["INSUFFICIENT_STOCK"] and errors[0]["lineId"] == line["id"]
    assert "only 3" in errors[0]["message"]
    assert refused["cartLinesUpdate"]["cart"]["lines"][0]["quantity"] == 2
    extended = _until(refused["cartLinesUpdate"]["cart"]["lines"][0])
    assert until is not None and extended is not None and extended > until  # activity
    assert _held(shop, sku) == 2 and shop.available(sku) == 1

    grown = shop.query(
        UPDATE, {"cartId": cart["id"], "lines": [{"lineId": line["id"], "quantity": 3}]}
    )
    assert grown["cartLinesUpdate"]["userErrors"] == []
    assert _held(shop, sku) == 3 and shop.available(sku) == 0
    assert _until(grown["cartLinesUpdate"]["cart"]["lines"][0]) == extended  # a resize keeps it

    shop.query(UPDATE, {"cartId": cart["id"], "lines": [{"lineId": line["id"], "quantity": 1}]})
    assert _held(shop, sku) == 1 and shop.available(sku) == 2

    shop.query(CART_LINES_REMOVE, {"cartId": cart["id"], "lineIds": [line["id"]]})
    assert _held(shop, sku) == 0 and shop.available(sku) == 3


def test_the_buyers_activity_extends_a_hold_once(shop: Shop, goods: Goods) -> None:
    sku = _flash(shop, goods, 5)
    cart = _create(shop, sku, 1)["cart"]
    first = _until(cart["lines"][0])
    assert first is not None
    # As if most of the TTL had passed: the hold now lapses in a minute.
    soon = datetime.now(UTC) + timedelta(seconds=60)
    shop.sql(
        "inventory",
        "UPDATE reservations SET expires_at = :t WHERE order_ref LIKE :p",
        {"t": soon, "p": f"cart:%:sku:{sku}"},
    )
    shop.sql(
        "orders",
        "UPDATE cart_lines SET reserved_until = :t WHERE sku_id = :s",
        {"t": soon, "s": sku},
    )
    other = goods.take()
    once = shop.query(
        ADD, {"cartId": cart["id"], "lines": [{"skuId": sku_gid(other.id), "quantity": 1}]}
    )
    lines = {ln["sku"]["id"]: ln for ln in once["cartLinesAdd"]["cart"]["lines"]}
    extended = _until(lines[sku_gid(sku)])
    assert extended is not None and extended > soon + timedelta(seconds=TTL - 120)
    assert lines[sku_gid(other.id)]["reservedUntil"] is None  # not a flash-sale item

    shop.sql(
        "inventory",
        "UPDATE reservations SET expires_at = :t WHERE order_ref LIKE :p",
        {"t": soon, "p": f"cart:%:sku:{sku}"},
    )
    twice = shop.query(ADDRESS, {"cartId": cart["id"], "address": address("CN-BJ")})
    lines = {ln["sku"]["id"]: ln for ln in twice["cartShippingAddressSet"]["cart"]["lines"]}
    assert _until(lines[sku_gid(sku)]) == soon  # only once


def test_expiry_gives_the_units_back_and_a_late_checkout_retakes_or_refuses_honestly(
    shop: Shop, goods: Goods
) -> None:
    sku = _flash(shop, goods, 1)
    late = _create(shop, sku, 1, token=shop.customer_token(3))
    assert late["cart"]["lines"][0]["reservedUntil"] is not None
    _expire(shop, late["cart"]["id"])
    assert shop.available(sku) == 1 and _held(shop, sku) == 0
    shown = shop.query(
        f"query C($id: ID!) {{ cart(id: $id) {{ {HOLD_LINES} }} }}",
        {"id": late["cart"]["id"]},
        token=shop.customer_token(3),
    )
    assert shown["cart"]["lines"][0]["reservedUntil"] is None

    # Still free: the checkout takes it again.
    placed = shop.checkout(late["cart"], "reserve-late-ok", token=shop.customer_token(3))
    assert placed["userErrors"] == [] and placed["order"] is not None
    assert shop.available(sku) == 0 and _held(shop, sku) == 1

    # Someone else took it meanwhile: refused, nothing taken.
    sku2 = _flash(shop, goods, 1)
    slow = _create(shop, sku2, 1, token=shop.customer_token(4))
    _expire(shop, slow["cart"]["id"])
    quick = _create(shop, sku2, 1)
    assert quick["userErrors"] == [] and shop.available(sku2) == 0
    refused = shop.checkout(slow["cart"], "reserve-late-no", token=shop.customer_token(4))
    assert refused["order"] is None and "INSUFFICIENT_STOCK" in codes(refused["userErrors"])
    assert _held(shop, sku2) == 1  # the quick buyer's hold only


def test_concurrent_holders_and_the_sweeper_never_oversell(shop: Shop, goods: Goods) -> None:
    """Ten holders check out while a sweeper whose clock is past their holds' expiry
    releases them: each checkout converts its hold or re-takes the units the sweeper gave
    back (nobody else wants them), never both, never a deadlock: ten orders, ten units."""
    sku = _flash(shop, goods, 10)
    tokens = [shop.customer_token(10 + i) for i in range(10)]
    carts = [_create(shop, sku, 1, token=t)["cart"] for t in tokens]
    assert all(c["lines"][0]["reservedUntil"] for c in carts)
    checkout = """
    mutation C($cartId: ID!, $key: String!, $total: Decimal!) {
      checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) {
        order { id } userErrors { code message }
      }
    }"""

    async def race() -> list[dict[str, Any]]:
        requests = [
            (
                checkout,
                {"cartId": c["id"], "key": f"race-{i}", "total": c["cost"]["total"]["amount"]},
                t,
            )
            for i, (c, t) in enumerate(zip(carts, tokens, strict=True))
        ]
        sources = Sources.from_settings(shop.settings)
        done = asyncio.Event()

        async def sweeping() -> None:  # a clock past every hold's expiry, over and over
            while not done.is_set():
                await sweep(sources, now=datetime.now(UTC) + timedelta(seconds=TTL + 60))
                await asyncio.sleep(0.005)

        try:
            swept = asyncio.create_task(sweeping())
            bodies = await post_all(shop.live.url, requests)
            done.set()
            await swept
        finally:
            await sources.close()
        return bodies

    bodies = run(race)
    refused = [b["data"]["checkoutComplete"]["userErrors"] for b in bodies]
    assert all(b["data"]["checkoutComplete"]["order"] for b in bodies), refused
    assert shop.available(sku) == 0 and _held(shop, sku) == 10
    assert all(reserved <= on_hand for _, on_hand, reserved in shop.stock_rows(sku))


def test_a_flash_sale_cart_costs_only_the_hold_calls_more(shop: Shop, goods: Goods) -> None:
    """The hold is the checkout's conditional update, made once when the line is added:
    a flash-sale cartCreate makes the plain one's calls plus the hold's, none per line."""
    token = shop.customer_token(5)
    plain, flash = goods.take().id, _flash(shop, goods, 5)

    def create_calls(sku: int) -> dict[str, int]:
        payload = {"lines": [{"skuId": sku_gid(sku), "quantity": 2}], "shippingAddress": address()}
        body, calls = shop.live.calls_during(CREATE, {"input": payload}, token=token)
        assert body["data"]["cartCreate"]["userErrors"] == [], body
        return calls

    plain_calls, flash_calls = create_calls(plain), create_calls(flash)
    extra = {k: n - plain_calls.get(k, 0) for k, n in flash_calls.items()}
    assert {k: n for k, n in extra.items() if n} == {
        "orders.add_cart_lines": 1,  # the cart exists before its held lines join it
        "inventory.hold_stock": 1,  # the conditional update, all held lines at once
        "orders.set_cart_line_holds": 1,  # each line's reservedUntil
    }  # the snapshot reads the cart's holds inside its one inventory call (cart_stock)
