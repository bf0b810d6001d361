"""Settling a placement whose answer was lost (gateway/checkout/outcome.py), on real SQLite
and PostgreSQL: an attempt that placed its order is answered with it; one that did not is
closed so that a placement still in flight writes nothing (the fence a buyer's honest
"no order" answer rests on); a database that cannot be asked gives OutcomeUnknown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from gateway.checkout.outcome import settle_placement
from gateway.resilience.errors import OutcomeUnknown
from gateway.resolvers.cart import cart_token
from gateway.settings import SOURCE_NAMES
from gateway.sources import Sources
from sources.orders.errors import CheckoutAttemptLost
from sources.orders.records import AttemptState, NewOrder, NewOrderLine
from tests.conftest import settings_for
from tests.gateway.checkout_helpers import BACKENDS, Shop, open_shop, run


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from open_shop(request.param, tmp_path_factory.mktemp(f"outcome-{request.param}"))


def _order(customer_id: int, cart_id: str, order_ref: str, sku_id: int) -> NewOrder:
    price = Decimal("10.00")
    line = NewOrderLine(
        sku_id=sku_id,
        product_id=1,
        product_name="p",
        sku_name="s",
        quantity=1,
        unit_price=price,
        subtotal=price,
        discounts=(),
        total=price,
        deposit=None,
        fulfillment="WAREHOUSE",
        supplier_id=None,
    )
    return NewOrder(
        customer_id=customer_id,
        cart_id=cart_id,
        order_ref=order_ref,
        currency="CNY",
        subtotal=price,
        discount_total=Decimal("0.00"),
        shipping_total=Decimal("0.00"),
        total=price,
        deposit_due=None,
        shipping_address=None,
        lines=(line,),
    )


def test_a_placed_order_is_found_and_an_unplaced_one_can_no_longer_be_written(
    shop: Shop,
) -> None:
    sku = shop.plain_skus()[0]
    token = shop.customer_token(7)
    customer_id = shop.customer_id("customer7@example.com")
    carts = [
        str(cart_token(shop.create_cart([(sku.id, 1)], token=token)["cart"]["id"]))
        for _ in range(2)
    ]

    async def go() -> None:
        sources = Sources.from_settings(shop.settings)
        orders = sources.orders
        now = datetime.now(UTC)
        try:
            refs = []
            for n, cart_id in enumerate(carts):
                start = await orders.checkout_start(
                    cart_id=cart_id,
                    customer_id=customer_id,
                    idempotency_key=f"settle-{n}",
                    now=now,
                    stale_after=timedelta(minutes=1),
                )
                assert start.attempt is not None
                assert start.attempt.state is AttemptState.CLAIMED
                refs.append(start.attempt.order_ref)
            # The first one's order was written (its answer, say, was lost).
            placed = await orders.create_order_with_lines(
                _order(customer_id, carts[0], refs[0], sku.id),
                idempotency_key="settle-0",
                actor="test",
                now=now,
            )
            settled = await settle_placement(
                orders,
                customer_id=customer_id,
                cart_id=carts[0],
                idempotency_key="settle-0",
                order_ref=refs[0],
            )
            assert settled.order is not None and settled.order.id == placed.order.id
            # The second one's never was: settled as not placed, and a write still in
            # flight for it now writes nothing.
            settled = await settle_placement(
                orders,
                customer_id=customer_id,
                cart_id=carts[1],
                idempotency_key="settle-1",
                order_ref=refs[1],
            )
            assert settled.order is None
            with pytest.raises(CheckoutAttemptLost):
                await orders.create_order_with_lines(
                    _order(customer_id, carts[1], refs[1], sku.id),
                    idempotency_key="settle-1",
                    actor="test",
                    now=now,
                )
            # And the key is free again: a retry claims it afresh.
            again = await orders.checkout_start(
                cart_id=carts[1],
                customer_id=customer_id,
                idempotency_key="settle-1",
                now=now,
                stale_after=timedelta(minutes=1),
            )
            assert again.attempt is not None and again.attempt.state is AttemptState.CLAIMED
            assert again.attempt.order_ref != refs[1]
        finally:
            await sources.close()

    run(go)
    counted = shop.scalar(
        "orders", "SELECT COUNT(*) FROM orders WHERE cart_id = :c", {"c": carts[1]}
    )
    assert counted == 0


def test_a_database_that_cannot_be_asked_leaves_the_outcome_unknown() -> None:
    dead = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # nothing listens there
    settings = settings_for(dict.fromkeys(SOURCE_NAMES, dead))

    async def go() -> None:
        sources = Sources.from_settings(settings)
        started = time.monotonic()
        try:
            with pytest.raises(OutcomeUnknown) as raised:
                await settle_placement(
                    sources.orders,
                    customer_id=1,
                    cart_id="cart",
                    idempotency_key="key",
                    order_ref="chk_ref",
                    within_s=0.5,
                )
        finally:
            await sources.close()
        assert time.monotonic() - started < 3  # bounded: the buyer is answered
        assert "same idempotencyKey" in str(raised.value)
        assert raised.value.source == "orders" and raised.value.retryable

    run(go)
