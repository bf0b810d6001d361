"""Paying an order through a provider, and applying what the provider says, once.

``start_payment`` opens (or reuses) an attempt for the stage due and asks the provider for
what the buyer's page shows. ``settle_trade`` applies a provider's word about an attempt,
whether it came as a signed notification or as the answer to our query when the buyer came
back: the money is checked against the attempt (amount and currency; a mismatch is FLAGGED
for staff and never marks anything paid), then the order moves on exactly as orderMarkPaid
moves it (``mark_paid``, the same function), the attempt turning PAID in the same
transaction as the payment. Of any number of copies or racers exactly one applies; the
others see the attempt PAID and answer as a duplicate. Money that comes when the order no
longer takes it (cancelled, or that stage already paid by another attempt) is LATE: it is
refunded at once, and staff see the attempt and its refund on the order.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sources.orders.records import (
    AttemptStatus,
    NewPaymentAttempt,
    Order,
    OrderStatus,
    PaymentActionKind,
    PaymentAttempt,
    PaymentStage,
    ProviderReceipt,
)

from ..aftersales.payment import mark_paid, next_payment, presale_ends_at
from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .cashier import Cashier
from .presale_deadline import balance_due_at, is_overdue, overdue
from .provider import Channel, PaymentOrder, ProviderRefused, ProviderTrade, ProviderUnavailable
from .refunding import refund_late_payment

log = logging.getLogger("gateway.payments")
MAX_RETURN_URL = 1000
_OPEN = (AttemptStatus.PENDING, AttemptStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class StartOutcome:
    attempt: PaymentAttempt | None
    problems: list[Problem]


def _problem(code: UserErrorCode, message: str, field: str) -> StartOutcome:
    return StartOutcome(None, [Problem(code, message, (field,))])


def payment_deadline(
    order: Order, stage: PaymentStage, cashier: Cashier, now: datetime
) -> datetime:
    """An order is paid (in full, or its deposit) within the TTL of being placed; a
    presale's balance, due once the presale ends, gets a fresh TTL from when it is asked."""
    if stage is PaymentStage.BALANCE:
        return now + cashier.payment_ttl
    return order.created_at + cashier.payment_ttl


async def start_payment(
    sources: Sources,
    cashier: Cashier,
    order: Order,
    *,
    provider_name: str,
    channel: Channel,
    return_url: str | None,
    now: datetime,
) -> StartOutcome:
    provider = cashier.provider(provider_name)
    if provider is None or provider.name == "manual":
        return _problem(
            UserErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
            f"{provider_name} is not a payment provider of this shop",
            "provider",
        )
    if return_url is not None and (
        len(return_url) > MAX_RETURN_URL or not return_url.startswith(("https://", "http://"))
    ):
        return _problem(
            UserErrorCode.INVALID_INPUT, "returnUrl must be an http(s) URL", "returnUrl"
        )
    payments = (await sources.orders.payments_by_order_ids([order.id]))[order.id]
    step = next_payment(order, payments)
    if step is None:
        return _problem(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            f"an order that is {order.status.value} has nothing to pay",
            "orderId",
        )
    if step.stage is PaymentStage.BALANCE:
        ends_at = await presale_ends_at(sources, order)
        if ends_at is not None and now < ends_at:
            return _problem(
                UserErrorCode.INVALID_STATUS_TRANSITION,
                f"the balance is due when the presale ends, at {ends_at.isoformat()}",
                "orderId",
            )
        if ends_at is not None and is_overdue(ends_at, cashier.balance_ttl, now):
            return StartOutcome(None, [overdue(ends_at, cashier.balance_ttl)])
    deadline = payment_deadline(order, step.stage, cashier, now)
    if step.stage is PaymentStage.BALANCE and ends_at is not None:  # no trade outlives it
        deadline = min(deadline, balance_due_at(ends_at, cashier.balance_ttl))
    if now >= deadline:
        return _problem(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            "the time to pay this order is over",
            "orderId",
        )
    wanted_kind = (
        PaymentActionKind.QR_CODE if channel is Channel.QR_CODE else PaymentActionKind.REDIRECT_URL
    )
    attempts = (await sources.orders.payment_attempts_by_order_ids([order.id]))[order.id]
    for attempt in attempts:  # a second click shows the same code, not a second trade
        if (
            attempt.status is AttemptStatus.PENDING
            and attempt.provider == provider.name
            and attempt.stage is step.stage
            and attempt.amount == step.amount
            and attempt.action_kind is wanted_kind
            and attempt.expires_at > now
        ):
            return StartOutcome(attempt, [])
    out_trade_no = f"{order.number.replace('-', '')}{step.stage.value[0]}{secrets.token_hex(4)}"
    try:
        action = await provider.create_payment(
            PaymentOrder(
                out_trade_no=out_trade_no,
                amount=step.amount,
                currency=order.currency,
                subject=f"Order {order.number}",
                return_url=return_url,
                expires_at=deadline,
                channel=channel,
                notify_url=cashier.settings.notify_url(provider.name),
            )
        )
    except ProviderUnavailable as exc:
        log.warning("payment provider %s unavailable: %s", provider.name, exc)
        return _problem(
            UserErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
            f"{provider.name} cannot take payments right now; the order stays payable, "
            "please try again shortly",
            "provider",
        )
    except ProviderRefused as exc:
        log.warning("payment provider %s refused a payment: %s", provider.name, exc)
        return _problem(
            UserErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
            f"{provider.name} refused this payment",
            "provider",
        )
    attempt = await sources.orders.create_payment_attempt(
        NewPaymentAttempt(
            order_id=order.id,
            stage=step.stage,
            provider=provider.name,
            out_trade_no=out_trade_no,
            amount=step.amount,
            currency=order.currency,
            action_kind=action.kind,
            action=action.content,
            expires_at=deadline,
        ),
        now,
    )
    return StartOutcome(attempt, [])


class Settled(StrEnum):
    APPLIED = "APPLIED"  # this call recorded the payment
    DUPLICATE = "DUPLICATE"  # already applied (or flagged, or refunded): nothing to do
    NOT_PAID = "NOT_PAID"  # the provider says the buyer has not paid (yet)
    FLAGGED = "FLAGGED"  # amount or currency differ: staff look, nothing paid
    LATE = "LATE"  # money the order no longer takes: refunded
    UNKNOWN = "UNKNOWN"  # no attempt of ours by that number (or another provider's)


async def settle_trade(
    sources: Sources, cashier: Cashier, provider_name: str, trade: ProviderTrade, now: datetime
) -> Settled:
    orders = sources.orders
    attempt = (await orders.payment_attempts_by_trade_nos([trade.out_trade_no])).get(
        trade.out_trade_no
    )
    if attempt is None or attempt.provider != provider_name:
        log.error(
            "%s reports trade %s, which is not ours: staff must look (reconcile lists it)",
            provider_name,
            trade.out_trade_no,
        )
        return Settled.UNKNOWN
    if not trade.is_paid:
        return Settled.NOT_PAID
    if attempt.status is AttemptStatus.PAID:
        # Applied before; if that call was cut short after the payment (stock not yet
        # sold, parcels not planned), mark_paid finishes it; otherwise this changes nothing.
        await mark_paid(
            sources,
            attempt.order_id,
            actor=f"provider:{provider_name}",
            now=now,
            promises=cashier.promises,
        )
        return Settled.DUPLICATE
    if attempt.status not in _OPEN:
        return Settled.DUPLICATE
    if trade.amount != attempt.amount or trade.currency != attempt.currency:
        note = (
            f"{provider_name} reported {trade.amount} {trade.currency}, "
            f"expected {attempt.amount} {attempt.currency}"
        )
        flagged = await orders.mark_payment_attempt(
            attempt.out_trade_no,
            to=AttemptStatus.FLAGGED,
            allowed_from=_OPEN,
            note=note,
            reference=trade.reference,
            now=now,
        )
        if flagged is not None:
            log.error(
                "payment %s of order %s flagged: %s", attempt.out_trade_no, attempt.order_id, note
            )
        return Settled.FLAGGED if flagged is not None else Settled.DUPLICATE
    outcome = await mark_paid(
        sources,
        attempt.order_id,
        actor=f"provider:{provider_name}",
        now=now,
        promises=cashier.promises,
        receipt=ProviderReceipt(provider_name, attempt.out_trade_no, trade.reference),
        stage=attempt.stage,
    )
    if outcome.order is not None:
        return Settled.APPLIED
    # Refused: a racer applied this very attempt, or the order no longer takes this money.
    again = (await orders.payment_attempts_by_trade_nos([attempt.out_trade_no]))[
        attempt.out_trade_no
    ]
    if again.status not in _OPEN:
        return Settled.DUPLICATE
    order = (await orders.orders_by_ids([attempt.order_id])).get(attempt.order_id)
    status = order.status.value if order else "missing"
    note = f"paid after the order was {status.lower()}: refunded"
    late = await orders.mark_payment_attempt(
        attempt.out_trade_no,
        to=AttemptStatus.LATE,
        allowed_from=_OPEN,
        note=note,
        reference=trade.reference,
        now=now,
    )
    if late is None:
        return Settled.DUPLICATE
    log.warning("late payment %s of order %s: %s", late.out_trade_no, late.order_id, note)
    await refund_late_payment(sources, cashier, late, reason=note, now=now)
    return Settled.LATE


async def confirm_payments(
    sources: Sources, cashier: Cashier, order: Order, now: datetime
) -> list[Settled]:
    """The buyer is back from the provider's page (or the sweeper is about to expire the
    order): ask each provider about the order's open attempts, in case its notification was
    lost. ProviderUnavailable propagates: the caller decides whether to wait."""
    attempts = (await sources.orders.payment_attempts_by_order_ids([order.id]))[order.id]
    results: list[Settled] = []
    for attempt in attempts:
        if attempt.status not in _OPEN or (
            attempt.status is AttemptStatus.CLOSED and order.status is not OrderStatus.CANCELLED
        ):
            continue
        provider = cashier.provider(attempt.provider)
        if provider is None:
            continue
        trade = await provider.query_payment(attempt.out_trade_no)
        if trade is not None:
            results.append(await settle_trade(sources, cashier, provider.name, trade, now))
    return results
