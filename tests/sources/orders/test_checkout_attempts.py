"""Checkout attempts: one order per (customer, idempotency key), whatever the retries and
the concurrency; a crashed attempt is taken over once; the sweeper finds what crashed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sources.orders.records import AttemptState, CheckoutAttempt
from sources.orders.store import OrdersStore

from .conftest import NOW, STALE_AFTER, filled_cart, new_order


async def claim(
    store: OrdersStore,
    key: str = "k1",
    *,
    fingerprint: str = "cart-a",
    now: datetime = NOW,
    customer_id: int = 1,
) -> CheckoutAttempt:
    return await store.checkout_attempt(
        customer_id=customer_id,
        idempotency_key=key,
        fingerprint=fingerprint,
        now=now,
        stale_after=STALE_AFTER,
    )


async def test_a_new_key_is_claimed_with_a_fresh_order_ref(store: OrdersStore) -> None:
    first = await claim(store, "k1")
    second = await claim(store, "k2")
    other_customer = await claim(store, "k1", customer_id=2)

    assert first.state is AttemptState.CLAIMED and first.order_id is None
    assert first.order_ref.startswith("chk_")
    assert len({first.order_ref, second.order_ref, other_customer.order_ref}) == 3
    assert other_customer.state is AttemptState.CLAIMED


async def test_ten_concurrent_checkouts_with_one_key_claim_it_once(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1})

    attempts = await asyncio.gather(*(claim(store, fingerprint=cart.id) for _ in range(10)))

    states = Counter(a.state for a in attempts)
    assert states == {AttemptState.CLAIMED: 1, AttemptState.IN_PROGRESS: 9}
    assert len({a.order_ref for a in attempts}) == 1
    winner = next(a for a in attempts if a.state is AttemptState.CLAIMED)

    order = await store.create_order(
        new_order(cart, customer_id=1, order_ref=winner.order_ref),
        idempotency_key="k1",
        actor="customer:1",
        now=NOW,
    )

    retries = await asyncio.gather(*(claim(store, fingerprint=cart.id) for _ in range(10)))
    assert set(retries) == {CheckoutAttempt(AttemptState.DONE, winner.order_ref, order.id)}


async def test_the_same_key_with_another_cart_is_refused(store: OrdersStore) -> None:
    claimed = await claim(store, fingerprint="cart-a")

    reused = await claim(store, fingerprint="cart-b")

    assert reused.state is AttemptState.KEY_REUSED
    assert (await claim(store, fingerprint="cart-a")).state is AttemptState.IN_PROGRESS
    assert reused.order_ref == claimed.order_ref


async def test_a_key_that_placed_an_order_still_refuses_another_cart(store: OrdersStore) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1})
    claimed = await claim(store, fingerprint=cart.id)
    await store.create_order(
        new_order(cart, customer_id=1, order_ref=claimed.order_ref),
        idempotency_key="k1",
        actor="customer:1",
        now=NOW,
    )

    assert (await claim(store, fingerprint="another cart")).state is AttemptState.KEY_REUSED


async def test_a_crashed_attempt_is_taken_over_once_with_its_order_ref(
    store: OrdersStore,
) -> None:
    crashed = await claim(store)
    assert (await claim(store, now=NOW + STALE_AFTER)).state is AttemptState.IN_PROGRESS

    later = NOW + STALE_AFTER + timedelta(seconds=1)
    takers = await asyncio.gather(*(claim(store, now=later) for _ in range(10)))

    assert Counter(a.state for a in takers) == {
        AttemptState.CLAIMED: 1,
        AttemptState.IN_PROGRESS: 9,
    }
    assert {a.order_ref for a in takers} == {crashed.order_ref}
    # The take-over restarted the clock: it is not stale again right away.
    assert (await claim(store, now=later + timedelta(minutes=1))).state is AttemptState.IN_PROGRESS


async def test_an_abandoned_attempt_lets_the_buyer_retry_with_the_same_key(
    store: OrdersStore,
) -> None:
    first = await claim(store)

    assert await store.abandon_checkout_attempt(1, "k1") is True
    assert await store.abandon_checkout_attempt(1, "k1") is False
    retry = await claim(store, fingerprint="fixed cart")

    assert retry.state is AttemptState.CLAIMED
    assert retry.order_ref != first.order_ref


async def test_an_attempt_with_an_order_is_never_abandoned_or_forgotten(
    store: OrdersStore,
) -> None:
    cart = await filled_cart(store, customer_id=1, skus={101: 1})
    claimed = await claim(store, fingerprint=cart.id)
    order = await store.create_order(
        new_order(cart, customer_id=1, order_ref=claimed.order_ref),
        idempotency_key="k1",
        actor="customer:1",
        now=NOW,
    )

    assert await store.abandon_checkout_attempt(1, "k1") is False
    assert await store.forget_checkout_attempt(claimed.order_ref) is False
    assert await store.stale_checkout_attempts(NOW + timedelta(days=1)) == []
    assert (await claim(store, fingerprint=cart.id)).order_id == order.id


async def test_the_sweeper_finds_crashed_attempts_and_forgets_them_once(
    store: OrdersStore,
) -> None:
    old = await claim(store, "old", now=NOW - timedelta(hours=1))
    older = await claim(store, "older", now=NOW - timedelta(hours=2))
    await claim(store, "fresh", now=NOW)

    stale = await store.stale_checkout_attempts(NOW - STALE_AFTER)
    assert stale == [older.order_ref, old.order_ref]  # oldest first
    assert await store.stale_checkout_attempts(NOW - STALE_AFTER, limit=1) == [older.order_ref]

    # A retry took "old" over between the sweeper's listing and its forgetting: kept.
    assert (await claim(store, "old", now=NOW)).state is AttemptState.CLAIMED
    assert await store.forget_checkout_attempt(old.order_ref, older_than=NOW - STALE_AFTER) is False

    assert await store.forget_checkout_attempt(older.order_ref, older_than=NOW - STALE_AFTER)
    assert await store.forget_checkout_attempt(older.order_ref) is False
    assert await store.stale_checkout_attempts(NOW - STALE_AFTER) == []
    assert (await claim(store, "older")).state is AttemptState.CLAIMED


async def test_a_lookup_reads_the_attempt_as_it_stands_and_claims_nothing(
    store: OrdersStore,
) -> None:
    """``checkout_lookup``: what ``checkout_start`` would find for the key, as a read."""
    cart = await filled_cart(store, customer_id=1, skus={101: 2, 102: 1})

    async def look(key: str = "k1", *, customer_id: int = 1, cart_id: str = cart.id) -> Any:
        return await store.checkout_lookup(
            cart_id=cart_id, customer_id=customer_id, idempotency_key=key
        )

    before = await look()
    assert before.cart == cart and before.attempt is None and before.buyer is None
    assert (await look()).attempt is None  # the lookup claimed nothing
    assert (await look(customer_id=2)).cart is None  # another customer's cart
    assert (await look(cart_id="no-such-cart")).cart is None

    started = await store.checkout_start(
        cart_id=cart.id, customer_id=1, idempotency_key="k1", now=NOW, stale_after=STALE_AFTER
    )
    assert started.attempt is not None and started.attempt.state is AttemptState.CLAIMED
    ref = started.attempt.order_ref
    assert (await look()).attempt == CheckoutAttempt(AttemptState.IN_PROGRESS, ref)
    other = await filled_cart(store, customer_id=1, skus={103: 1})
    assert (await look(cart_id=other.id)).attempt == CheckoutAttempt(AttemptState.KEY_REUSED, ref)
    assert (await look("k2")).attempt is None

    order = await store.create_order(
        new_order(cart, customer_id=1, order_ref=ref),
        idempotency_key="k1",
        actor="customer:1",
        now=NOW,
    )
    done = await look()
    assert done.attempt == CheckoutAttempt(AttemptState.DONE, ref, order.id)
    assert done.cart is not None and done.cart.order_id == order.id
