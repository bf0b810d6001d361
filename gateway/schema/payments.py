"""What a buyer and staff see of taking and giving back money: payment attempts through a
provider (with what the payment page shows), refunds, and the payload of
orderPaymentCreate."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from sources.orders.records import AttemptStatus as AttemptStatusRecord
from sources.orders.records import PaymentActionKind
from sources.orders.records import PaymentAttempt as AttemptRecord
from sources.orders.records import PaymentStage as PaymentStageRecord
from sources.orders.records import Refund as RefundRecord
from sources.orders.records import RefundStatus as RefundStatusRecord

from ..auth import Permission, Viewer
from ..payments.provider import Channel
from .common import Info, Money
from .enums import describe_values
from .errors import UserError

if TYPE_CHECKING:
    from .orders import Order

strawberry.enum(
    AttemptStatusRecord,
    name="PaymentAttemptStatus",
    description="PENDING: waiting for the buyer; PAID: the provider confirmed it; CLOSED: "
    "the order expired or was cancelled first; FLAGGED: the provider reported another "
    "amount or currency (staff look, nothing is paid); LATE: the money came after the "
    "order was cancelled and is refunded.",
)
describe_values(
    AttemptStatusRecord,
    {
        "PENDING": "Waiting for the buyer to pay on the provider's page.",
        "PAID": "The provider confirmed the payment.",
        "CLOSED": "The order expired or was cancelled before payment.",
        "FLAGGED": "The provider reported another amount or currency; staff look, nothing is paid.",
        "LATE": "The money came after the order was cancelled; it is refunded.",
    },
)
strawberry.enum(
    RefundStatusRecord,
    name="RefundStatus",
    description="PENDING: asked; SUCCEEDED: the provider took it; FAILED: the provider "
    "refused or was unreachable: it is retried until it succeeds, and shown to staff.",
)
describe_values(
    RefundStatusRecord,
    {
        "PENDING": "Asked of the provider; no answer yet.",
        "SUCCEEDED": "The provider refunded the buyer.",
        "FAILED": "The provider refused or was unreachable; it is retried and shown to staff.",
    },
)
strawberry.enum(
    Channel,
    name="PaymentChannel",
    description="Where the buyer pays: QR_CODE for a desktop page (the buyer scans it with "
    "the provider's app), MOBILE_WEB for a phone (the page redirects to the provider).",
)
describe_values(
    Channel,
    {
        "QR_CODE": "A desktop page shows payment.qrCode; the buyer scans it with the app.",
        "MOBILE_WEB": "A phone browser goes to payment.redirectUrl, the provider's page.",
    },
)


@strawberry.enum(description="The payment providers a shop can take money through.")
class PaymentProvider(Enum):
    ALIPAY = strawberry.enum_value("alipay", description="Alipay (支付宝).")
    WECHAT = strawberry.enum_value("wechat", description="WeChat Pay (微信支付), API v3.")
    MANUAL = strawberry.enum_value(
        "manual", description="Taken by hand and marked by staff (orderMarkPaid)."
    )


def is_finance_staff(viewer: Viewer) -> bool:
    return viewer.has(Permission.MANAGE_ORDERS) or viewer.has(Permission.VIEW_FINANCE)


@strawberry.type(
    description="One try at paying a stage of an order through a provider. While PENDING it "
    "carries what the payment page shows: redirectUrl (send the buyer there) or qrCode "
    "(show this content as a QR code), until expiresAt."
)
class PaymentAttempt:
    provider: PaymentProvider = strawberry.field(description="Who takes the money.")
    stage: PaymentStageRecord = strawberry.field(
        description="FULL, or a presale's DEPOSIT or BALANCE."
    )
    status: AttemptStatusRecord = strawberry.field(description="Where the attempt stands.")
    amount: Money = strawberry.field(description="What the buyer is asked to pay.")
    reference: str | None = strawberry.field(
        description="The provider's trade number, once it reports one."
    )
    trade_number: str = strawberry.field(
        description="The shop's number for this attempt, as the provider knows it (out_trade_no)."
    )
    expires_at: datetime = strawberry.field(
        description="After this the attempt cannot be paid; unpaid, the order is cancelled."
    )
    created_at: datetime = strawberry.field(description="When the buyer asked to pay.")
    paid_at: datetime | None = strawberry.field(
        description="When the provider's money came (PAID, FLAGGED or LATE)."
    )
    record: strawberry.Private[AttemptRecord]

    @classmethod
    def from_record(cls, record: AttemptRecord) -> PaymentAttempt:
        return cls(
            provider=PaymentProvider(record.provider),
            stage=record.stage,
            status=record.status,
            amount=Money.of(record.amount, record.currency),
            reference=record.reference,
            trade_number=record.out_trade_no,
            expires_at=record.expires_at,
            created_at=record.created_at,
            paid_at=record.paid_at,
            record=record,
        )

    @strawberry.field(description="Where to send the buyer's browser (MOBILE_WEB), while PENDING.")
    def redirect_url(self) -> str | None:
        record = self.record
        if record.status is not AttemptStatusRecord.PENDING:
            return None
        return record.action if record.action_kind is PaymentActionKind.REDIRECT_URL else None

    @strawberry.field(description="The content to show as a QR code (QR_CODE), while PENDING.")
    def qr_code(self) -> str | None:
        record = self.record
        if record.status is not AttemptStatusRecord.PENDING:
            return None
        return record.action if record.action_kind is PaymentActionKind.QR_CODE else None

    @strawberry.field(
        description="Why a FLAGGED or LATE attempt needs staff (MANAGE_ORDERS or "
        "VIEW_FINANCE); null for anyone else."
    )
    def note(self, info: Info) -> str | None:
        if not is_finance_staff(info.context.viewer):
            return None
        return self.record.note or None


@strawberry.type(
    description="Money given back through the provider it came from; a FAILED refund is "
    "retried until the provider takes it."
)
class Refund:
    provider: PaymentProvider = strawberry.field(description="Who gives the money back.")
    stage: PaymentStageRecord = strawberry.field(
        description="The payment it gives back (a presale's deposit or balance, or FULL)."
    )
    amount: Money = strawberry.field(description="How much goes back.")
    status: RefundStatusRecord = strawberry.field(description="Where the refund stands.")
    reason: str = strawberry.field(description="What caused it.")
    created_at: datetime = strawberry.field(description="When it was asked.")
    succeeded_at: datetime | None = strawberry.field(description="When the provider took it.")
    record: strawberry.Private[RefundRecord]

    @classmethod
    def from_record(cls, record: RefundRecord) -> Refund:
        return cls(
            provider=PaymentProvider(record.provider),
            stage=record.stage,
            amount=Money.of(record.amount, record.currency),
            status=record.status,
            reason=record.reason,
            created_at=record.created_at,
            succeeded_at=record.succeeded_at,
            record=record,
        )

    @strawberry.field(
        description="How many times the provider was asked (MANAGE_ORDERS or VIEW_FINANCE)."
    )
    def tries(self, info: Info) -> int | None:
        return self.record.tries if is_finance_staff(info.context.viewer) else None

    @strawberry.field(
        description="The provider's last refusal or the failure reaching it (MANAGE_ORDERS or "
        "VIEW_FINANCE); null once it succeeded."
    )
    def last_error(self, info: Info) -> str | None:
        return self.record.last_error if is_finance_staff(info.context.viewer) else None

    @strawberry.field(description="The provider's refund number, once it took it.")
    def reference(self) -> str | None:
        return self.record.reference


@strawberry.type(description="The order and the payment attempt the buyer's page shows.")
class OrderPaymentPayload:
    order: Annotated[Order, strawberry.lazy(".orders")] | None = strawberry.field(
        default=None, description="The order being paid."
    )
    payment: PaymentAttempt | None = strawberry.field(
        default=None, description="What to show the buyer: redirectUrl or qrCode, expiresAt."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why no payment could be started."
    )
