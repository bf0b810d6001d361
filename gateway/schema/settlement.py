"""The finance settlement: what a period's orders sold, gave away in discounts, refunded,
cost and earned (VIEW_FINANCE)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import strawberry

from sources.orders.records import PaymentReconciliation as ReconciliationRecord

from ..aftersales.settlement import Figures
from ..aftersales.settlement import OrderSettlement as OrderSettlementRecord
from ..aftersales.settlement import PromotionDiscount as PromotionDiscountRecord
from ..aftersales.settlement import Settlement as SettlementRecord
from .common import Info, Money
from .forfeits import ForfeitedDeposits
from .node import encode_id
from .orders import Order
from .pricing import Promotion


@strawberry.type(description="What one promotion gave away over a settlement period.")
class PromotionDiscount:
    name: str = strawberry.field(description="The promotion's name when the order was placed.")
    amount: Money = strawberry.field(description="The discounts it gave, in the shop's currency.")
    promotion_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: PromotionDiscountRecord, currency: str) -> PromotionDiscount:
        return cls(
            name=record.name,
            amount=Money.of(record.amount, currency),
            promotion_id=record.promotion_id,
        )

    @strawberry.field(description="Null when the promotion no longer exists.")
    async def promotion(self, info: Info) -> Promotion | None:
        record = await info.context.loaders.pricing.promotion.load(self.promotion_id)
        return Promotion.from_record(record) if record else None


@strawberry.type(description="Sales, discounts, refunds and margin, in the shop's currency.")
class SettlementFigures:
    gross_sales: Money = strawberry.field(description="Unit prices times quantities.")
    discounts: Money = strawberry.field(description="Discounts given, as a positive amount.")
    discounts_by_promotion: list[PromotionDiscount] = strawberry.field(
        description="The discounts, per promotion."
    )
    net_sales: Money = strawberry.field(description="Gross sales minus discounts.")
    shipping: Money = strawberry.field(description="Shipping charged.")
    refunds: Money = strawberry.field(description="Lines and shipping given back.")
    cost_of_goods: Money = strawberry.field(
        description="Cost prices of the units the shop no longer has (returned and "
        "cancelled units are back on the shelf)."
    )
    margin: Money = strawberry.field(
        description="Net sales plus shipping minus refunds minus cost of goods."
    )
    paid: Money = strawberry.field(description="Payments received.")

    @classmethod
    def from_record(cls, f: Figures, currency: str) -> SettlementFigures:
        return cls(
            gross_sales=Money.of(f.gross_sales, currency),
            discounts=Money.of(f.discounts, currency),
            discounts_by_promotion=[
                PromotionDiscount.from_record(d, currency) for d in f.discounts_by_promotion
            ],
            net_sales=Money.of(f.net_sales, currency),
            shipping=Money.of(f.shipping, currency),
            refunds=Money.of(f.refunds, currency),
            cost_of_goods=Money.of(f.cost_of_goods, currency),
            margin=Money.of(f.margin, currency),
            paid=Money.of(f.paid, currency),
        )


@strawberry.type(description="One paid order's settlement figures.")
class OrderSettlement:
    figures: SettlementFigures = strawberry.field(
        description="The order's sales, discounts, refunds and margin."
    )
    skus_without_cost: list[strawberry.ID] = strawberry.field(
        description="SKUs sold with no cost price: their cost counts as zero."
    )
    record: strawberry.Private[OrderSettlementRecord]

    @strawberry.field(description="The order.")
    async def order(self, info: Info) -> Order:
        record = await info.context.loaders.orders.order.load(self.record.order_id)
        if record is None:
            raise RuntimeError(f"settled order {self.record.order_id} is gone")
        return Order.from_record(record)


CHINA = timezone(timedelta(hours=8))


@strawberry.type(description="One way a provider's bill and the shop's books disagree.")
class ReconciliationDifference:
    kind: str = strawberry.field(
        description="PAID_WITHOUT_ORDER, AMOUNT_MISMATCH, LATE_PAYMENT, MISSING_FROM_BILL, "
        "REFUND_MISSING, REFUND_UNKNOWN or REFUND_AMOUNT_MISMATCH (docs/payments.md)."
    )
    trade_number: str = strawberry.field(description="The payment's out_trade_no.")
    refund_number: str | None = strawberry.field(description="A refund's request number.")
    shop_amount: Decimal | None = strawberry.field(description="What the shop recorded.")
    bill_amount: Decimal | None = strawberry.field(description="What the bill says.")
    note: str = strawberry.field(description="Which order, and why it matters.")


@strawberry.type(
    description="A provider's bill for one day (China time) compared with the shop's "
    "payments and refunds by `gateway payments reconcile --date D`."
)
class PaymentReconciliation:
    provider: str = strawberry.field(description="alipay or wechat.")
    day: date = strawberry.field(description="The bill's day.")
    ran_at: datetime = strawberry.field(description="When it was last compared.")
    payments_matched: int = strawberry.field(description="Payments in both, equal.")
    refunds_matched: int = strawberry.field(description="Refunds in both, equal.")
    differences: list[ReconciliationDifference] = strawberry.field(
        description="Everything that does not match; empty when the day is reconciled."
    )

    @strawberry.field(description="True when nothing differs.")
    def is_reconciled(self) -> bool:
        return not self.differences

    @classmethod
    def from_record(cls, r: ReconciliationRecord) -> PaymentReconciliation:
        return cls(
            provider=r.provider,
            day=r.day,
            ran_at=r.ran_at,
            payments_matched=r.payments_matched,
            refunds_matched=r.refunds_matched,
            differences=[
                ReconciliationDifference(
                    kind=d.kind,
                    trade_number=d.out_trade_no,
                    refund_number=d.request_no,
                    shop_amount=d.shop_amount,
                    bill_amount=d.bill_amount,
                    note=d.note,
                )
                for d in r.differences
            ],
        )


@strawberry.type(
    description=(
        "What a period's paid orders sold, gave away, refunded and earned. VIEW_FINANCE staff only."
    )
)
class Settlement:
    created_from: datetime = strawberry.field(
        name="from", description="The period's start, included (UTC)."
    )
    created_to: datetime = strawberry.field(
        name="to", description="The period's end, excluded (UTC)."
    )
    currency: str = strawberry.field(description="The currency of every amount (ISO 4217).")
    totals: SettlementFigures = strawberry.field(
        description="The period's figures, all orders together."
    )
    orders: list[OrderSettlement] = strawberry.field(
        description="Orders placed in the period that were paid, oldest first."
    )
    skus_without_cost: list[strawberry.ID] = strawberry.field(
        description="SKUs sold in the period with no cost price: their cost counts as zero."
    )

    @strawberry.field(
        description="The payment providers' bills for the days of the period (China time), "
        "as last reconciled; a day never reconciled is absent."
    )
    async def reconciliations(self, info: Info) -> list[PaymentReconciliation]:
        first = self.created_from.astimezone(CHINA).date()
        last = (self.created_to - timedelta(microseconds=1)).astimezone(CHINA).date()
        found = await info.context.sources.orders.reconciliations_between(
            day_from=first, day_to=last + timedelta(days=1)
        )
        return [PaymentReconciliation.from_record(r) for r in found]

    @strawberry.field(
        description="Presale deposits kept from orders placed in the period and cancelled "
        "because their balance was not paid by the deadline: their own line, not in totals "
        "(no goods were sold)."
    )
    async def forfeited_deposits(self, info: Info) -> ForfeitedDeposits:
        found = await info.context.sources.orders.forfeited_deposits(
            created_from=self.created_from, created_to=self.created_to
        )
        return ForfeitedDeposits.from_records(found, self.currency)

    @classmethod
    def from_record(cls, record: SettlementRecord) -> Settlement:
        c = record.currency
        return cls(
            created_from=record.created_from,
            created_to=record.created_to,
            currency=c,
            totals=SettlementFigures.from_record(record.totals, c),
            orders=[
                OrderSettlement(
                    figures=SettlementFigures.from_record(o.figures, c),
                    skus_without_cost=[encode_id("Sku", s) for s in o.skus_without_cost],
                    record=o,
                )
                for o in record.orders
            ],
            skus_without_cost=[encode_id("Sku", s) for s in record.skus_without_cost],
        )
