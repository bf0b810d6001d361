"""Forfeited presale deposits in the settlement: money the shop kept, its own line beside
the sales (VIEW_FINANCE, through Query.settlement)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from sources.orders.records import ForfeitedDeposit as ForfeitedDepositRecord

from .common import Info, Money
from .orders import Order


@strawberry.type(
    description="A presale deposit the shop kept: the order was cancelled because its "
    "balance was not paid by the presale's deadline (Presale.balanceDueAt)."
)
class ForfeitedDeposit:
    amount: Money = strawberry.field(description="The deposit paid, minus any part of it refunded.")
    record: strawberry.Private[ForfeitedDepositRecord]

    @strawberry.field(description="The cancelled presale order.")
    async def order(self, info: Info) -> Order:
        record = await info.context.loaders.orders.order.load(self.record.order_id)
        if record is None:
            raise RuntimeError(f"order {self.record.order_id} is gone")
        return Order.from_record(record)


@strawberry.type(
    description="Presale deposits kept in a period, reported apart from sales: they are "
    "income from the presale's terms, not from goods sold (no goods left the shop)."
)
class ForfeitedDeposits:
    total: Money = strawberry.field(description="All of them together.")
    orders: list[ForfeitedDeposit] = strawberry.field(
        description="One per order placed in the period, by order id."
    )

    @classmethod
    def from_records(
        cls, records: list[ForfeitedDepositRecord], currency: str
    ) -> ForfeitedDeposits:
        kept = [r for r in records if r.currency == currency]
        return cls(
            total=Money.of(sum((r.amount for r in kept), Decimal(0)), currency),
            orders=[ForfeitedDeposit(amount=Money.of(r.amount, currency), record=r) for r in kept],
        )
