"""A checkout whose idempotency key another call is still placing waits for that call, on
real SQLite and PostgreSQL: it asks the orders source again less and less often (each ask
is a claim statement there), and past its wait answers "still in progress"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.checkout.place_order import CheckoutPolicy, complete_checkout
from gateway.errors import UserErrorCode
from gateway.resolvers.cart import cart_token
from gateway.sources import Sources
from sources.orders.records import AttemptState
from tests.gateway.checkout_helpers import BACKENDS, Shop, open_shop, run


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from open_shop(request.param, tmp_path_factory.mktemp(f"same-key-{request.param}"))


def test_a_key_still_being_placed_is_answered_in_progress_after_a_few_asks(shop: Shop) -> None:
    sku = shop.plain_skus()[0]
    token = shop.customer_token(8)
    customer_id = shop.customer_id("customer8@example.com")
    cart_id = str(cart_token(shop.create_cart([(sku.id, 1)], token=token)["cart"]["id"]))
    policy = CheckoutPolicy.from_settings(
        shop.settings, wait_for_other_attempt=timedelta(seconds=2)
    )

    async def go() -> tuple[Any, int, float]:
        sources = Sources.from_settings(shop.settings)
        orders = sources.orders
        try:
            held = await orders.checkout_start(  # the call still placing its order
                cart_id=cart_id,
                customer_id=customer_id,
                idempotency_key="held-1",
                now=datetime.now(UTC),
                stale_after=policy.attempt_stale_after,
            )
            assert held.attempt is not None and held.attempt.state is AttemptState.CLAIMED
            asks = 0
            start = orders.checkout_start

            async def counted(**arguments: Any) -> Any:
                nonlocal asks
                asks += 1
                return await start(**arguments)

            orders.checkout_start = counted  # type: ignore[method-assign]
            began = time.monotonic()
            result = await complete_checkout(
                sources,
                customer_id=customer_id,
                cart_id=cart_id,
                idempotency_key="held-1",
                expected_total=Decimal("0"),
                policy=policy,
                actor=f"customer:{customer_id}",
            )
            return result, asks, time.monotonic() - began
        finally:
            await sources.close()

    result, asks, waited = run(go)
    assert result.order is None
    [problem] = result.problems
    assert problem.code is UserErrorCode.IDEMPOTENCY_KEY_REUSED
    assert "still in progress" in problem.message
    assert 1.9 < waited < 4  # it waited its two seconds for the other call
    assert asks <= 10  # not one claim statement every 50 ms (40 in two seconds)
