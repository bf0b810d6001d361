"""Reconciliation: a provider's bill for a day against the shop's payments and refunds.

The bill day is the provider's (China time). Every difference is listed, by kind:

- ``PAID_WITHOUT_ORDER``: the bill has a payment the shop never recorded as paid (no such
  attempt, or one still open or closed: money with no order to show for it);
- ``AMOUNT_MISMATCH``: both have the payment, for different amounts (a FLAGGED attempt);
- ``LATE_PAYMENT``: money for an order already cancelled (refunded automatically; listed so
  finance sees the pair);
- ``MISSING_FROM_BILL``: the shop recorded a payment the bill does not have;
- ``REFUND_MISSING``: the shop's refund succeeded but the bill has no such refund;
- ``REFUND_UNKNOWN``: the bill has a refund the shop did not ask for;
- ``REFUND_AMOUNT_MISMATCH``: both have the refund, for different amounts.

The result is stored per (provider, day) (finance reads it in the settlement) and printed
by ``gateway payments reconcile --date D``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

from sources.orders.records import (
    AttemptStatus,
    PaymentReconciliation,
    ReconciliationDifference,
)

from ..sources import Sources
from .cashier import Cashier
from .provider import BillKind

CHINA = timezone(timedelta(hours=8))


def bill_day_bounds(day: date) -> tuple[datetime, datetime]:
    """A provider's bill day (China time) as a UTC half-open range."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


class Kind(StrEnum):
    PAID_WITHOUT_ORDER = "PAID_WITHOUT_ORDER"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    LATE_PAYMENT = "LATE_PAYMENT"
    MISSING_FROM_BILL = "MISSING_FROM_BILL"
    REFUND_MISSING = "REFUND_MISSING"
    REFUND_UNKNOWN = "REFUND_UNKNOWN"
    REFUND_AMOUNT_MISMATCH = "REFUND_AMOUNT_MISMATCH"


def _diff(
    kind: Kind,
    trade: str,
    shop: Decimal | None,
    bill: Decimal | None,
    note: str,
    request_no: str | None = None,
) -> ReconciliationDifference:
    return ReconciliationDifference(kind.value, trade, request_no, shop, bill, note)


async def reconcile(
    sources: Sources, cashier: Cashier, provider_name: str, day: date, *, now: datetime
) -> PaymentReconciliation:
    """Raises ProviderUnavailable or ProviderRefused when the bill cannot be had."""
    provider = cashier.provider(provider_name)
    if provider is None:
        raise ValueError(f"{provider_name} is not configured")
    bill = await provider.download_bill(day)
    start, end = bill_day_bounds(day)
    orders = sources.orders
    attempts = await orders.attempts_paid_between(
        paid_from=start, paid_to=end, provider=provider.name
    )
    refunds = await orders.refunds_succeeded_between(
        succeeded_from=start, succeeded_to=end, provider=provider.name
    )
    bill_payments = {e.out_trade_no: e for e in bill if e.kind is BillKind.PAYMENT}
    bill_refunds = {e.request_no or e.out_trade_no: e for e in bill if e.kind is BillKind.REFUND}
    unknown = [no for no in bill_payments if no not in {a.out_trade_no for a in attempts}]
    known = await orders.payment_attempts_by_trade_nos(unknown) if unknown else {}

    differences: list[ReconciliationDifference] = []
    matched_payments = 0
    for attempt in attempts:
        entry = bill_payments.get(attempt.out_trade_no)
        if entry is None:
            differences.append(
                _diff(
                    Kind.MISSING_FROM_BILL,
                    attempt.out_trade_no,
                    attempt.amount,
                    None,
                    f"order {attempt.order_id}: paid in the shop, not in the bill",
                )
            )
        elif attempt.status is AttemptStatus.FLAGGED or entry.amount != attempt.amount:
            differences.append(
                _diff(
                    Kind.AMOUNT_MISMATCH,
                    attempt.out_trade_no,
                    attempt.amount,
                    entry.amount,
                    f"order {attempt.order_id}: {attempt.note or 'amounts differ'}",
                )
            )
        elif attempt.status is AttemptStatus.LATE:
            differences.append(
                _diff(
                    Kind.LATE_PAYMENT,
                    attempt.out_trade_no,
                    attempt.amount,
                    entry.amount,
                    f"order {attempt.order_id}: {attempt.note}",
                )
            )
        else:
            matched_payments += 1
    for trade_no in unknown:
        entry = bill_payments[trade_no]
        ours = known.get(trade_no)
        if ours is not None and ours.status is AttemptStatus.PAID and ours.amount == entry.amount:
            # Paid just before midnight, its notification applied just after: the shop
            # books it on the next day. Both sides agree on the money.
            matched_payments += 1
            continue
        note = (
            "no payment of this shop by that number"
            if ours is None
            else f"order {ours.order_id}: the shop has it {ours.status.value}"
        )
        differences.append(_diff(Kind.PAID_WITHOUT_ORDER, trade_no, None, entry.amount, note))

    matched_refunds = 0
    for refund in refunds:
        entry = bill_refunds.pop(refund.request_no, None)
        if entry is None:
            if refund.provider == "manual":
                continue
            differences.append(
                _diff(
                    Kind.REFUND_MISSING,
                    "",
                    refund.amount,
                    None,
                    f"order {refund.order_id}: refunded in the shop, not in the bill",
                    refund.request_no,
                )
            )
        elif entry.amount != refund.amount:
            differences.append(
                _diff(
                    Kind.REFUND_AMOUNT_MISMATCH,
                    entry.out_trade_no,
                    refund.amount,
                    entry.amount,
                    f"order {refund.order_id}",
                    refund.request_no,
                )
            )
        else:
            matched_refunds += 1
    for request_no, entry in bill_refunds.items():
        differences.append(
            _diff(
                Kind.REFUND_UNKNOWN,
                entry.out_trade_no,
                None,
                entry.amount,
                "a refund the shop did not ask for (or not on this day)",
                request_no,
            )
        )
    result = PaymentReconciliation(
        provider=provider.name,
        day=day,
        ran_at=now,
        payments_matched=matched_payments,
        refunds_matched=matched_refunds,
        differences=tuple(differences),
    )
    await orders.record_reconciliation(result)
    return result


def describe(result: PaymentReconciliation) -> str:
    """The CLI's report: one summary line, then one line per difference."""
    lines = [
        f"{result.provider} {result.day}: {result.payments_matched} payments and "
        f"{result.refunds_matched} refunds match; {len(result.differences)} differences"
    ]
    for d in result.differences:
        reference = d.request_no or d.out_trade_no
        lines.append(
            f"  {d.kind:<22} {reference:<32} shop={d.shop_amount or '-'} "
            f"bill={d.bill_amount or '-'}  {d.note}"
        )
    return "\n".join(lines)
