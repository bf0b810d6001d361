"""``manual``: money staff take by hand (a bank transfer, cash on a counter) and mark with
orderMarkPaid, as before providers existed. It has no page to send a buyer to and no
notifications; a refund of a manual payment is recorded as given back by hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from .provider import (
    BadNotification,
    BillEntry,
    NotifyAnswer,
    PaymentAction,
    PaymentOrder,
    ProviderRefused,
    ProviderTrade,
    RefundReceipt,
)


class ManualProvider:
    name = "manual"

    async def create_payment(self, order: PaymentOrder) -> PaymentAction:
        raise ProviderRefused("manual payments are marked paid by staff")

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> ProviderTrade:
        raise BadNotification("manual payments have no notifications")

    def answer(self, accepted: bool) -> NotifyAnswer:
        return NotifyAnswer(200 if accepted else 400, b"", "text/plain")

    async def query_payment(self, out_trade_no: str) -> ProviderTrade | None:
        return None

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
        return RefundReceipt(None)

    async def download_bill(self, day: date) -> list[BillEntry]:
        return []
