"""The one interface every payment provider speaks, and the plain records it speaks in.

A provider creates a payment (what the buyer's page shows: a URL to go to or a QR code's
content), verifies a notification (the provider's signature, checked with its key), says
where a payment stands (query), gives money back (refund, keyed by a request number so a
retry is the same refund) and hands over its bill for a day. Amounts are Decimal in the
order's currency; each provider converts to its own units (WeChat Pay counts cents).

Providers never log or return their secrets; their errors say what failed, not with what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from sources.orders.records import PaymentActionKind


class Channel(StrEnum):
    """Where the buyer pays: a desktop shows a QR code, a phone goes to the provider's page."""

    QR_CODE = "QR_CODE"
    MOBILE_WEB = "MOBILE_WEB"


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered something we cannot trust (a bad signature
    on its response). Nothing is decided from it; the caller tries again later."""


class ProviderRefused(Exception):
    """The provider answered, signed, and said no (an unknown trade, a refund over the
    amount paid); its code is in the message."""


class BadNotification(Exception):
    """A notification whose signature does not verify with the provider's key, or that is
    not addressed to this shop: answered 400, nothing changes."""


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    out_trade_no: str
    amount: Decimal
    currency: str
    subject: str
    return_url: str | None
    expires_at: datetime
    channel: Channel
    notify_url: str


@dataclass(frozen=True, slots=True)
class PaymentAction:
    kind: PaymentActionKind
    content: str


@dataclass(frozen=True, slots=True)
class ProviderTrade:
    """A payment as the provider reports it (in a notification or a query)."""

    out_trade_no: str
    reference: str | None  # the provider's trade number
    is_paid: bool
    amount: Decimal
    currency: str
    state: str  # the provider's own word for it (TRADE_SUCCESS, NOTPAY, ...)


@dataclass(frozen=True, slots=True)
class RefundReceipt:
    reference: str | None


@dataclass(frozen=True, slots=True)
class NotifyAnswer:
    """What the provider must hear back, in its format, to stop (or keep) retrying."""

    status_code: int
    body: bytes
    media_type: str


class BillKind(StrEnum):
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


@dataclass(frozen=True, slots=True)
class BillEntry:
    kind: BillKind
    out_trade_no: str
    reference: str | None
    amount: Decimal  # positive, in yuan; a refund's amount given back
    request_no: str | None = None  # refunds: our request number


class PaymentProvider(Protocol):
    name: str

    async def create_payment(self, order: PaymentOrder) -> PaymentAction:
        """Raises ProviderUnavailable or ProviderRefused."""

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> ProviderTrade:
        """Raises BadNotification."""

    def answer(self, accepted: bool) -> NotifyAnswer: ...

    async def query_payment(self, out_trade_no: str) -> ProviderTrade | None:
        """None when the provider knows no such trade (the buyer never opened it)."""

    async def refund(
        self,
        *,
        out_trade_no: str,
        request_no: str,
        amount: Decimal,
        paid: Decimal,
        currency: str,
        reason: str,
    ) -> RefundReceipt:
        """Raises ProviderUnavailable (try again) or ProviderRefused."""

    async def download_bill(self, day: date) -> list[BillEntry]:
        """The provider's record of a day (its own day, China time for both providers)."""
