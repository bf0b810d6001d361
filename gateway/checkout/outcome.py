"""An order whose write was sent and whose answer was lost: learn what happened before the
buyer is told anything.

The order statement can reach the orders database and commit while the gateway hears
only a failure: the connection dies after the statement went out, the guard's timeout
stops waiting for an answer the server is about to give (or gave, and lost), the database
refuses connections under overload as the answer is due. Answering that "the orders
system is unavailable" tells a buyer "failed" about an order that exists: they may walk
away, or buy again under a new key and get two orders.

So, once the orders database answers again (a few tries within ``SETTLE_WITHIN_S``), the
attempt is settled with the sweeper's own conditional DELETE (``forget_checkout_attempt``:
only an attempt that names no order):

- it deleted the attempt: no order was written, and none can be any more (a placement
  still in flight finds no attempt and writes nothing, CheckoutAttemptLost; PostgreSQL's
  row lock or SQLite's write lock orders the two). The caller gives the hold and the
  coupon uses back at once, and the key is free for the buyer's retry;
- it did not: the attempt names its order (answered with it), or is gone because the
  sweeper settled it first (not placed; the sweeper gives back what it held).

If the database cannot be asked in time, the outcome stays unknown: ``OutcomeUnknown``
(``SOURCE_UNAVAILABLE`` with ``outcome: UNKNOWN`` and ``retryWithSameKey: true``), and the
hold stays until no order can come of it, so an order never loses its stock. The buyer is
answered, and the same question keeps being asked in the background (``settle_later``):
once the database answers, an attempt that wrote nothing is forgotten and its hold given
back, so the buyer's retry with the same key places the order at once instead of waiting
out the attempt's lease (a minute) in "still in progress". A process that stops before
then leaves it to that lease and the sweeper, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from sources.common.fast_init import fast_inits
from sources.orders.api import OrdersSource
from sources.orders.records import AttemptState, Order

from ..resilience.errors import OutcomeUnknown

log = structlog.get_logger("gateway.checkout")

# How long a checkout keeps asking before it answers "unknown": a database refusing
# connections under a burst is often back within a second or two; a buyer waits no more.
SETTLE_WITHIN_S = 3.0
FIRST_PAUSE_S = 0.05
LONGEST_PAUSE_S = 1.0  # a database back after an outage is heard within a second
UNKNOWN_MESSAGE = (
    "the orders system stopped answering while your order was being placed, so whether "
    "it was placed is not known yet; retry checkoutComplete with the same idempotencyKey: "
    "it returns the order if there is one, and never places a second"
)


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of a placement whose answer was lost: its order, or None when none was
    written and none can be any more."""

    order: Order | None


async def settle_placement(
    orders: OrdersSource,
    *,
    customer_id: int,
    cart_id: str,
    idempotency_key: str,
    order_ref: str,
    within_s: float = SETTLE_WITHIN_S,
) -> Settled:
    """The placement's outcome, asked of the orders source until it answers (bounded by
    ``within_s``, each try included); OutcomeUnknown when it never did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    pause = FIRST_PAUSE_S
    while True:
        left = deadline - loop.time()
        if left <= 0:
            log.warning("order outcome unknown: answered retry-with-same-key", order_ref=order_ref)
            raise OutcomeUnknown("orders", UNKNOWN_MESSAGE)
        try:
            async with asyncio.timeout(left):
                return await _settle(orders, customer_id, cart_id, idempotency_key, order_ref)
        except Exception as exc:  # still down (or refused by its breaker): ask again
            log.info("order outcome not known yet", order_ref=order_ref, error=repr(exc))
        await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
        pause = min(pause * 2, LONGEST_PAUSE_S)


async def settle_later(
    orders: OrdersSource,
    release: Callable[[], Awaitable[None]],
    *,
    customer_id: int,
    cart_id: str,
    idempotency_key: str,
    order_ref: str,
    within_s: float,
) -> None:
    """After an unknown outcome was answered: ``settle_placement`` again, for ``within_s``
    (kept below the attempt's lease, after which a retry takes the attempt over with its
    hold and this must not forget it); ``release`` gives back the hold and the coupon uses
    when no order was written."""
    try:
        settled = await settle_placement(
            orders,
            customer_id=customer_id,
            cart_id=cart_id,
            idempotency_key=idempotency_key,
            order_ref=order_ref,
            within_s=within_s,
        )
    except OutcomeUnknown:
        log.warning("order outcome still unknown: left to the sweeper", order_ref=order_ref)
        return
    if settled.order is None:
        await release()
        log.info("unknown order outcome settled: not placed, hold given back", order_ref=order_ref)


async def _settle(
    orders: OrdersSource, customer_id: int, cart_id: str, idempotency_key: str, order_ref: str
) -> Settled:
    if await orders.forget_checkout_attempt(order_ref):
        log.info("lost order answer settled: not placed", order_ref=order_ref)
        return Settled(None)
    looked = await orders.checkout_lookup(
        cart_id=cart_id, customer_id=customer_id, idempotency_key=idempotency_key
    )
    attempt = looked.attempt
    if attempt is None or attempt.state is not AttemptState.DONE or attempt.order_id is None:
        return Settled(None)  # the sweeper forgot it first: no order, and it releases the hold
    order = (await orders.orders_by_ids([attempt.order_id]))[attempt.order_id]
    log.info("lost order answer settled: placed", order_ref=order_ref, order_id=order.id)
    return Settled(order)


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
