"""The part of OrdersStore that keeps what providers did with the buyer's money: payment
attempts, refunds, and what reconciliation and the expiry sweep read. OrdersStore inherits
it; the work lives in payment_attempts.py and refunds.py."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sources.common.db import Database

from . import payment_attempts, reconciliations
from . import refunds as refund_records
from .records import (
    AttemptStatus,
    NewPaymentAttempt,
    NewRefund,
    Order,
    PaymentAttempt,
    PaymentReconciliation,
    Refund,
)


class PaymentOperations:
    db: Database

    async def create_payment_attempt(self, new: NewPaymentAttempt, now: datetime) -> PaymentAttempt:
        return await payment_attempts.create_payment_attempt(self.db, new, now)

    async def payment_attempts_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[PaymentAttempt]]:
        return await payment_attempts.payment_attempts_by_order_ids(self.db, ids)

    async def payment_attempts_by_trade_nos(
        self, trade_nos: Sequence[str]
    ) -> dict[str, PaymentAttempt]:
        return await payment_attempts.payment_attempts_by_trade_nos(self.db, trade_nos)

    async def mark_payment_attempt(
        self,
        out_trade_no: str,
        *,
        to: AttemptStatus,
        allowed_from: Collection[AttemptStatus],
        note: str,
        reference: str | None,
        now: datetime,
    ) -> PaymentAttempt | None:
        """One conditional move; None (nothing written) when missing or not allowed."""
        return await payment_attempts.mark_payment_attempt(
            self.db,
            out_trade_no,
            to=to,
            allowed_from=allowed_from,
            note=note,
            reference=reference,
            now=now,
        )

    async def close_payment_attempts(self, order_id: int, now: datetime) -> int:
        return await payment_attempts.close_payment_attempts(self.db, order_id, now)

    async def attempts_paid_between(
        self, *, paid_from: datetime, paid_to: datetime, provider: str
    ) -> list[PaymentAttempt]:
        return await payment_attempts.attempts_paid_between(
            self.db, paid_from=paid_from, paid_to=paid_to, provider=provider
        )

    async def unpaid_orders_due(self, *, created_before: datetime, limit: int = 500) -> list[Order]:
        """PENDING_PAYMENT orders placed before ``created_before`` with nothing paid."""
        return await payment_attempts.unpaid_orders_due(
            self.db, created_before=created_before, limit=limit
        )

    async def orders_awaiting_balance(self, *, limit: int = 500) -> list[Order]:
        """PENDING_PAYMENT orders whose deposit is paid and balance is not."""
        return await payment_attempts.orders_awaiting_balance(self.db, limit=limit)

    async def request_refunds(self, refunds: Sequence[NewRefund], now: datetime) -> list[Refund]:
        """Idempotent by request_no: a known one comes back as stored."""
        return await refund_records.request_refunds(self.db, refunds, now)

    async def refunds_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Refund]]:
        return await refund_records.refunds_by_order_ids(self.db, ids)

    async def refunds_due(self, *, updated_before: datetime, limit: int = 200) -> list[Refund]:
        return await refund_records.refunds_due(self.db, updated_before=updated_before, limit=limit)

    async def record_refund_result(
        self,
        refund_id: int,
        *,
        succeeded: bool,
        reference: str | None,
        error: str | None,
        now: datetime,
    ) -> Refund | None:
        """None when missing or already SUCCEEDED (nothing written)."""
        return await refund_records.record_refund_result(
            self.db, refund_id, succeeded=succeeded, reference=reference, error=error, now=now
        )

    async def refunds_succeeded_between(
        self, *, succeeded_from: datetime, succeeded_to: datetime, provider: str
    ) -> list[Refund]:
        return await refund_records.refunds_succeeded_between(
            self.db, succeeded_from=succeeded_from, succeeded_to=succeeded_to, provider=provider
        )

    async def record_reconciliation(self, reconciliation: PaymentReconciliation) -> None:
        """Replaces the (provider, day) already recorded."""
        await reconciliations.record_reconciliation(self.db, reconciliation)

    async def reconciliations_between(
        self, *, day_from: date, day_to: date
    ) -> list[PaymentReconciliation]:
        """Days in [day_from, day_to), by day then provider."""
        return await reconciliations.reconciliations_between(
            self.db, day_from=day_from, day_to=day_to
        )
