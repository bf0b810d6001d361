"""checkoutComplete: the order placement saga across inventory, pricing and orders.

validate -> reserve stock (held, expiring) -> record coupon uses -> confirm the hold ->
create the order. Uses and the confirmation come before the order exists (the design lists
them after): a refused coupon, or a hold the sweeper took back, then costs a released hold,
never a cancelled order in the buyer's history. Without a coupon to record, nothing between
the reservation and the order can refuse it, so it is made CONFIRMED at once (one call, no
confirmation step). A failure after a step undoes the steps before it; a crash between
steps leaves at worst a held or confirmed reservation and coupon uses of an attempt with no
order, which the sweeper releases (a held one when it expires, all of them with the stale
attempt).

Idempotency: (customer, key) is claimed with a fingerprint of the cart before anything
else (``cart_fingerprint``, computed by the orders source in the same call that reads the
cart). The same key again returns the same order, also while the first call is still
running (the second waits for it); the same key with another cart is refused.

A flash sale's losers: while a sold-out mark is live, the cart and the key's attempt are
first looked up with one read (``checkout_lookup``); a key nobody holds, on a cart the
marks refuse, is answered INSUFFICIENT_STOCK without claiming (and then releasing) it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import structlog

from sources.common.fast_init import fast_inits
from sources.inventory.records import ReservationRequest, ReservationStatus
from sources.inventory.sold_out import SoldOutMarks
from sources.orders.api import OrdersSource
from sources.orders.records import (
    AttemptState,
    Cart,
    CartStatus,
    LineDiscount,
    NewOrder,
    NewOrderLine,
    Order,
    OrderLine,
)
from sources.orders.store import CartClosed, CheckoutAttemptLost, PurchaseLimitReached

from ..errors import Problem, UserErrorCode
from ..resilience.errors import OutcomeUnknown, is_ambiguous
from ..settings import Settings
from ..sources import Sources
from ..stock.view import left_in_stock
from ..tracing.spans import saga_step
from .holds import may_hold, reserve_for_order
from .outcome import Settled, settle_later, settle_placement
from .pricing import CartPricing, price
from .snapshot import CartSnapshot, KnownBuyer, load_snapshot
from .validation import price_changed, reservation_items, validate

log = structlog.get_logger("gateway.checkout")
# A call finding its key's attempt still running asks again after 50 ms, then less and less
# often: each ask is a claim statement on the orders database, and an attempt that runs
# long is most often one whose database is struggling.
FIRST_WAIT_S = 0.05
LONGEST_WAIT_S = 0.5
EXPIRED = UserErrorCode.INSUFFICIENT_STOCK
CART_COMPLETED = UserErrorCode.CART_COMPLETED


@dataclass(frozen=True, slots=True)
class CheckoutPolicy:
    currency: str
    free_shipping_over: Decimal
    reservation_ttl: timedelta
    attempt_stale_after: timedelta
    wait_for_other_attempt: timedelta

    @classmethod
    def from_settings(
        cls, settings: Settings, *, wait_for_other_attempt: timedelta = timedelta(seconds=20)
    ) -> CheckoutPolicy:
        """The shop's policy: its currency, free-shipping threshold and hold time; an
        attempt untouched for a minute may be taken over (crashed), and a call with the
        same key waits ``wait_for_other_attempt`` for the one still running."""
        return cls(
            currency=settings.currency,
            free_shipping_over=settings.free_shipping_over,
            reservation_ttl=timedelta(seconds=settings.reservation_ttl_seconds),
            attempt_stale_after=timedelta(seconds=60),
            wait_for_other_attempt=wait_for_other_attempt,
        )


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    order: Order | None
    problems: list[Problem]
    # What the saga read from the sources of truth, and the order's lines as written, for
    # the payload to reuse.
    snapshot: CartSnapshot | None = None
    lines: list[OrderLine] | None = None


def _fail(code: UserErrorCode, message: str, *field: str) -> CheckoutResult:
    return CheckoutResult(None, [Problem(code, message, field or None)])


async def complete_checkout(
    sources: Sources,
    *,
    customer_id: int,
    cart_id: str,
    idempotency_key: str,
    expected_total: Decimal,
    policy: CheckoutPolicy,
    actor: str,
) -> CheckoutResult:
    orders = sources.orders
    marks = sources.sold_out
    if marks is not None and marks.live():
        answered = await _answer_without_claim(
            sources, marks, cart_id=cart_id, customer_id=customer_id, key=idempotency_key
        )
        if answered is not None:
            return answered
    deadline = datetime.now(UTC) + policy.wait_for_other_attempt
    pause = FIRST_WAIT_S
    while True:
        now = datetime.now(UTC)
        # The cart, the claim and (claimed) the buyer: the orders source's reads, one call.
        start = await saga_step(
            "claim_key",
            orders.checkout_start(
                cart_id=cart_id,
                customer_id=customer_id,
                idempotency_key=idempotency_key,
                now=now,
                stale_after=policy.attempt_stale_after,
            ),
        )
        cart, attempt = start.cart, start.attempt
        if cart is None or attempt is None:
            return _fail(UserErrorCode.CART_NOT_FOUND, "no such cart", "cartId")
        if attempt.state is AttemptState.KEY_REUSED:
            return _fail(
                UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this idempotency key was used for another cart",
                "idempotencyKey",
            )
        if attempt.state is AttemptState.DONE and attempt.order_id is not None:
            order = (await orders.orders_by_ids([attempt.order_id]))[attempt.order_id]
            return CheckoutResult(order, [])
        if attempt.state is AttemptState.CLAIMED:
            break
        if now >= deadline:  # the other call is still running: the client may retry later
            return _fail(
                UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                "a checkout with this key is still in progress; retry shortly",
                "idempotencyKey",
            )
        await asyncio.sleep(min(pause, (deadline - now).total_seconds()))
        pause = min(pause * 2, LONGEST_WAIT_S)

    region = cart.shipping_address.region if cart.shipping_address else None
    buyer = KnownBuyer(customer_id, region, start.buyer) if start.buyer else None
    order_ref = attempt.order_ref
    progress = _Progress()
    try:
        result = await _place(
            sources,
            customer_id,
            cart,
            order_ref,
            expected_total,
            policy,
            actor,
            idempotency_key,
            now,
            progress,
            buyer,
        )
    except Exception:
        # A source failed while the checkout only read (its snapshot): nothing is held, so
        # the key is free again at once; the buyer's retry must not wait for the sweeper.
        if not progress.has_written:
            await _abandon(orders, customer_id, idempotency_key)
        raise
    if result.order is None:
        await orders.abandon_checkout_attempt(customer_id, idempotency_key)
    return result


async def _answer_without_claim(
    sources: Sources, marks: SoldOutMarks, *, cart_id: str, customer_id: int, key: str
) -> CheckoutResult | None:
    """A flash sale's losers, answered from one read and no write: while some SKU is marked
    sold out, the cart and the key's attempt are looked up first (``checkout_lookup``). No
    attempt yet and a cart the marks refuse (or a completed one): the answer is what the
    claim, the refusal and the claim's release would have given, without them. An attempt
    that exists keeps its meaning: its order, KEY_REUSED, or (still running) the claim's
    wait below, so the same key while the first call runs still gets that call's order.
    None: claim as usual."""
    looked = await saga_step(
        "look_up_key",
        sources.orders.checkout_lookup(
            cart_id=cart_id, customer_id=customer_id, idempotency_key=key
        ),
    )
    cart, attempt = looked.cart, looked.attempt
    if cart is None:
        return _fail(UserErrorCode.CART_NOT_FOUND, "no such cart", "cartId")
    if attempt is not None:
        if attempt.state is AttemptState.KEY_REUSED:
            return _fail(
                UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this idempotency key was used for another cart",
                "idempotencyKey",
            )
        if attempt.state is AttemptState.DONE and attempt.order_id is not None:
            order = (await sources.orders.orders_by_ids([attempt.order_id]))[attempt.order_id]
            return CheckoutResult(order, [])
        return None  # running (or crashed): the claim waits for it or takes it over
    if cart.status is CartStatus.COMPLETED:
        return _fail(
            UserErrorCode.CART_COMPLETED, "this cart has already been checked out", "cartId"
        )
    if sold_out := _marked_sold_out(marks, cart):
        return CheckoutResult(None, sold_out)
    return None


async def _place(
    sources: Sources,
    customer_id: int,
    cart: Cart,
    order_ref: str,
    expected_total: Decimal,
    policy: CheckoutPolicy,
    actor: str,
    idempotency_key: str,
    now: datetime,
    progress: _Progress,
    buyer: KnownBuyer | None,
) -> CheckoutResult:
    if cart.status is CartStatus.COMPLETED:
        return _fail(
            UserErrorCode.CART_COMPLETED, "this cart has already been checked out", "cartId"
        )
    marks = sources.sold_out
    if marks is not None and (sold_out := _marked_sold_out(marks, cart)):
        return CheckoutResult(None, sold_out)
    snapshot = await saga_step(
        "snapshot",
        load_snapshot(
            sources,
            cart,
            customer_id=customer_id,
            currency=policy.currency,
            now=now,
            known_buyer=buyer,
        ),
    )
    pricing = price(snapshot, free_shipping_over=policy.free_shipping_over)
    problems = validate(snapshot, pricing) + price_changed(pricing, expected_total)
    if problems:
        if marks is not None and any(p.code is UserErrorCode.INSUFFICIENT_STOCK for p in problems):
            _note_sold_out(marks, snapshot)
        return CheckoutResult(None, problems)

    inventory, coupons, orders = sources.inventory, sources.pricing, sources.orders
    coupon_ids = [
        pid for pid in _applied(pricing) if pricing.promotions[pid].coupon_code is not None
    ]
    progress.has_written = True
    reservation = await saga_step(
        "reserve_stock",
        reserve_for_order(  # a cart's flash-sale holds are converted, not taken again
            sources,
            cart,
            order_ref=order_ref,
            items=[
                ReservationRequest(sku, qty, supplier)
                for sku, qty, supplier in reservation_items(snapshot)
            ],
            now=now,
            ttl=policy.reservation_ttl,
            # Nothing between the reservation and the order can refuse it (no coupon use to
            # record): confirmed at once, one call fewer. Undone like a hold if the order
            # fails; a crash before the order leaves a stale attempt, which the sweeper
            # releases it with.
            confirmed=not coupon_ids,
        ),
    )
    if not reservation.ok:
        if reservation.status is ReservationStatus.RELEASED:  # a stale attempt's hold
            return _fail(
                UserErrorCode.INSUFFICIENT_STOCK, "the stock hold expired; please try again"
            )
        if marks is not None:
            marks.note({(sku, None): free for sku, free in reservation.shortages.items()})
        return CheckoutResult(None, _shortage_problems(snapshot, reservation.shortages))

    try:
        if coupon_ids:
            refused = await saga_step(
                "record_coupon_uses",
                coupons.record_coupon_uses(
                    order_ref=order_ref, customer_id=customer_id, promotion_ids=coupon_ids, at=now
                ),
            )
            if refused:
                await inventory.release_reservation(order_ref, now)
                codes = ", ".join(str(pricing.promotions[pid].coupon_code) for pid in refused)
                return _fail(
                    UserErrorCode.COUPON_USAGE_LIMIT_REACHED,
                    f"{codes}: this coupon has been used up",
                    "couponCodes",
                )

        # Confirm the hold before the order exists: if the sweeper took it back meanwhile, the
        # buyer hears so and no cancelled order is left in their history. A hold already
        # confirmed by a crashed attempt that this call took over stays as it is.
        if reservation.status is not ReservationStatus.CONFIRMED:
            if not await saga_step(
                "confirm_reservation", inventory.confirm_reservation(order_ref, now)
            ):
                await coupons.release_coupon_uses(order_ref, now)
                return _fail(EXPIRED, "the stock hold expired; please try again")
    except BaseException:  # a source failed before the order existed: nothing to keep
        await _undo(sources, order_ref, now)
        raise

    async def settle() -> Settled:
        """What became of this attempt's order write (outcome.py); when it cannot be known
        yet, it keeps being asked after the buyer's answer, and a hold no order came of is
        given back then."""
        try:
            return await settle_placement(
                orders,
                customer_id=customer_id,
                cart_id=cart.id,
                idempotency_key=idempotency_key,
                order_ref=order_ref,
            )
        except OutcomeUnknown:
            sources.afterwork.start(
                settle_later(
                    orders,
                    lambda: _undo(sources, order_ref, datetime.now(UTC)),
                    customer_id=customer_id,
                    cart_id=cart.id,
                    idempotency_key=idempotency_key,
                    order_ref=order_ref,
                    within_s=policy.attempt_stale_after.total_seconds() / 2,
                ),
                name=f"settle {order_ref}",
            )
            raise

    try:
        placed = await saga_step(
            "create_order",
            orders.create_order_with_lines(
                _new_order(snapshot, pricing, customer_id, order_ref),
                idempotency_key=idempotency_key,
                actor=actor,
                now=now,
            ),
        )
    except (CartClosed, CheckoutAttemptLost) as exc:
        # Another checkout completed the cart, or the sweeper judged this attempt
        # abandoned; or this very write had committed and a remote source's retry of it,
        # its answer lost, found its own work done. The attempt says which (outcome.py).
        settled = await settle()
        if settled.order is not None:
            return CheckoutResult(settled.order, [], snapshot)
        await _undo(sources, order_ref, now)
        if isinstance(exc, CartClosed):
            return _fail(CART_COMPLETED, "this cart has already been checked out", "cartId")
        return _fail(EXPIRED, "the checkout took too long; please try again")
    except PurchaseLimitReached as exc:  # another order of theirs landed meanwhile
        await _undo(sources, order_ref, now)
        return CheckoutResult(None, _limit_problems(snapshot, exc.sku_ids))
    except Exception as exc:
        # Not BaseException: a call cancelled mid-way (a shutdown's deadline) may have
        # written the order and has no time to ask; releasing its stock would leave an
        # order without a reservation. Its attempt stays: a retry with the same key finds
        # the order or takes the attempt over, and the sweeper releases the hold of an
        # attempt that never became an order.
        if not is_ambiguous(exc):  # the source answered: nothing was written
            await _undo(sources, order_ref, now)
            raise
        # Timed out or cut off mid-call, the order may exist: the buyer is told what
        # became of it, not "failed" (outcome.py); its hold stays unless none was written.
        settled = await settle()
        if settled.order is None:
            await _undo(sources, order_ref, now)
            raise
        return CheckoutResult(settled.order, [], snapshot)
    return CheckoutResult(placed.order, [], snapshot, placed.lines)


@dataclass
class _Progress:
    """How far a checkout got: whether it may have written anything yet."""

    has_written: bool = False


async def _abandon(orders: OrdersSource, customer_id: int, idempotency_key: str) -> None:
    try:
        await orders.abandon_checkout_attempt(customer_id, idempotency_key)
    except Exception as exc:  # its source is down too: the sweeper frees the key later
        log.warning("checkout attempt left to the sweeper", error=repr(exc))


async def _undo(sources: Sources, order_ref: str, now: datetime) -> None:
    """Best effort, one step at a time: a release that fails (its source is down) is left
    to the sweeper, and does not keep the other from running."""
    for release in (sources.pricing.release_coupon_uses, sources.inventory.release_reservation):
        try:
            await saga_step("undo", release(order_ref, now))
        except Exception as exc:
            log.warning("checkout undo left to the sweeper", order_ref=order_ref, error=repr(exc))


def _marked_sold_out(marks: SoldOutMarks, cart: Cart) -> list[Problem]:
    """A flash sale's losers, answered before any read: lines whose SKU a recent truth
    (a locked reservation, or a read of the stock) found short. Only ever refuses; the
    marks expire, and the embedded inventory clears them on any stock increase."""
    wanted: Counter[tuple[int, int | None]] = Counter()
    for line in cart.lines:
        if not may_hold(line):  # a flash-sale line's own hold is no loser's: check it
            wanted[(line.sku_id, None)] += line.quantity
    short = marks.shortages(wanted)
    return [
        Problem(
            UserErrorCode.INSUFFICIENT_STOCK,
            left_in_stock(short[line.sku_id]),
            ("lines",),
            str(line.id),
            units_left=short[line.sku_id],
        )
        for line in cart.lines
        if line.sku_id in short
    ]


def _note_sold_out(marks: SoldOutMarks, snapshot: CartSnapshot) -> None:
    """Warehouse items the snapshot's stock read found short (a bundle's parts included)."""
    wanted: Counter[int] = Counter()
    for sku_id, quantity, supplier in reservation_items(snapshot):
        if supplier is None:
            wanted[sku_id] += quantity
    marks.note(
        {
            (sku_id, None): level.warehouse_available
            for sku_id, quantity in wanted.items()
            if (level := snapshot.stock.get(sku_id)) is not None
            and level.warehouse_available < quantity
        }
    )


def _limit_problems(snapshot: CartSnapshot, sku_ids: list[int]) -> list[Problem]:
    return [
        Problem(
            UserErrorCode.PURCHASE_LIMIT_EXCEEDED,
            f"at most {snapshot.skus[line.sku_id].purchase_limit} per customer",
            ("lines",),
            str(line.id),
        )
        for line in snapshot.cart.lines
        if line.sku_id in sku_ids
    ]


def _applied(pricing: CartPricing) -> list[int]:
    seen: dict[int, None] = {}
    for line in pricing.lines.values():
        for pid, _ in line.discounts:
            seen.setdefault(pid)
    return list(seen)


def _shortage_problems(snapshot: CartSnapshot, shortages: Mapping[int, int]) -> list[Problem]:
    problems: list[Problem] = []
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        parts = [i.sku.id for i in snapshot.bundles.get(product.id, [])] if product else []
        short = [sku for sku in [line.sku_id, *parts] if sku in shortages]
        if short:
            problems.append(
                Problem(
                    UserErrorCode.INSUFFICIENT_STOCK,
                    left_in_stock(min(shortages[s] for s in short)),
                    ("lines",),
                    str(line.id),
                    units_left=min(shortages[s] for s in short),
                )
            )
    return problems or [Problem(UserErrorCode.INSUFFICIENT_STOCK, "not enough stock")]


def _new_order(
    snapshot: CartSnapshot, pricing: CartPricing, customer_id: int, order_ref: str
) -> NewOrder:
    lines: list[NewOrderLine] = []
    for line in snapshot.cart.lines:
        sku = snapshot.skus[line.sku_id]
        product = snapshot.products[sku.product_id]
        priced = pricing.lines[line.id]
        lines.append(
            NewOrderLine(
                sku_id=sku.id,
                product_id=product.id,
                product_name=product.name,
                sku_name=sku.name,
                quantity=line.quantity,
                unit_price=priced.unit_price,
                subtotal=priced.subtotal,
                discounts=tuple(
                    LineDiscount(pid, pricing.promotions[pid].name, amount)
                    for pid, amount in priced.discounts
                ),
                total=priced.total,
                deposit=product.presale.deposit if product.presale else None,
                fulfillment=product.fulfillment.value,
                supplier_id=product.supplier_id,
                purchase_limit=sku.purchase_limit,
            )
        )
    return NewOrder(
        customer_id=customer_id,
        cart_id=snapshot.cart.id,
        order_ref=order_ref,
        currency=pricing.currency,
        subtotal=pricing.subtotal,
        discount_total=pricing.discount_total,
        shipping_total=pricing.shipping_total,
        total=pricing.total,
        deposit_due=pricing.deposit_due,
        shipping_address=snapshot.cart.shipping_address,
        lines=tuple(lines),
    )


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
