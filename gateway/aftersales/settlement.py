"""The finance settlement: per order and for a period, gross sales, discounts by promotion,
refunds, cost of goods and margin.

Computed from the orders source's ledger (the stored lines as sold, what was refunded of
each, each order's shipping and its refunded part) and the cost prices, never from today's
sale prices, so it agrees with the refunds the after-sales flow gave: for every order, net
sales plus shipping minus refunds is what was paid minus what was refunded.

Cost of goods counts the units the shop no longer has: returned units that came back
(COMPLETED returns) and the units of a cancelled order (restocked) cost nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sources.common.money import quantize
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesRequest,
    AfterSalesStatus,
    LedgerLine,
    Order,
    OrderStatus,
    Payment,
    ShippingLedgerLine,
)

from ..sources import Sources
from .refunds import ZERO


@dataclass(frozen=True, slots=True)
class PromotionDiscount:
    promotion_id: int
    name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    gross_sales: Decimal  # unit price x quantity
    discounts: Decimal
    discounts_by_promotion: tuple[PromotionDiscount, ...]
    net_sales: Decimal  # gross - discounts: what the goods were sold for
    shipping: Decimal
    refunds: Decimal  # lines and shipping given back
    cost_of_goods: Decimal
    margin: Decimal  # net sales + shipping - refunds - cost of goods
    paid: Decimal  # payments received (deposit and balance, or in full)


@dataclass(frozen=True, slots=True)
class OrderSettlement:
    order_id: int
    figures: Figures
    skus_without_cost: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Settlement:
    created_from: datetime
    created_to: datetime
    currency: str
    orders: list[OrderSettlement]
    totals: Figures
    skus_without_cost: tuple[int, ...] = field(default=())
    order_records: Mapping[int, Order] = field(default_factory=dict)  # for the loaders


def _by_promotion(lines: Iterable[LedgerLine]) -> tuple[PromotionDiscount, ...]:
    amounts: dict[int, Decimal] = {}
    names: dict[int, str] = {}
    for line in lines:
        for d in line.discounts:
            amounts[d.promotion_id] = amounts.get(d.promotion_id, ZERO) + d.amount
            names.setdefault(d.promotion_id, d.promotion_name)
    return tuple(
        PromotionDiscount(pid, names[pid], quantize(amount))
        for pid, amount in sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def returned_units(requests: Iterable[AfterSalesRequest]) -> dict[int, int]:
    """Units of each order line back in stock: completed returns."""
    units: dict[int, int] = {}
    for r in requests:
        if r.kind is AfterSalesKind.RETURN and r.status is AfterSalesStatus.COMPLETED:
            for line in r.lines:
                units[line.order_line_id] = units.get(line.order_line_id, 0) + line.quantity
    return units


def settle_order(
    lines: Sequence[LedgerLine],
    shipping: ShippingLedgerLine | None,
    *,
    is_cancelled: bool,
    requests: Sequence[AfterSalesRequest],
    payments: Sequence[Payment],
    costs: Mapping[int, Decimal],
) -> tuple[Figures, tuple[int, ...]]:
    back = returned_units(requests)
    cost = ZERO
    missing: set[int] = set()
    for line in lines:
        kept = 0 if is_cancelled else max(line.quantity - back.get(line.order_line_id, 0), 0)
        if line.sku_id in costs:
            cost += costs[line.sku_id] * kept
        elif kept:
            missing.add(line.sku_id)
    gross = sum((line.subtotal for line in lines), ZERO)
    net = sum((line.total for line in lines), ZERO)
    ship = shipping.shipping if shipping else ZERO
    refunds = sum((line.refunded for line in lines), ZERO) + (
        shipping.refunded if shipping else ZERO
    )
    figures = Figures(
        gross_sales=quantize(gross),
        discounts=quantize(gross - net),
        discounts_by_promotion=_by_promotion(lines),
        net_sales=quantize(net),
        shipping=quantize(ship),
        refunds=quantize(refunds),
        cost_of_goods=quantize(cost),
        margin=quantize(net + ship - refunds - cost),
        paid=quantize(sum((p.amount for p in payments), ZERO)),
    )
    return figures, tuple(sorted(missing))


def add_up(orders: Sequence[OrderSettlement], all_lines: Iterable[LedgerLine]) -> Figures:
    def total(name: str) -> Decimal:
        return quantize(sum((getattr(o.figures, name) for o in orders), ZERO))

    return Figures(
        gross_sales=total("gross_sales"),
        discounts=total("discounts"),
        discounts_by_promotion=_by_promotion(all_lines),
        net_sales=total("net_sales"),
        shipping=total("shipping"),
        refunds=total("refunds"),
        cost_of_goods=total("cost_of_goods"),
        margin=total("margin"),
        paid=total("paid"),
    )


def compute_settlement(
    *,
    created_from: datetime,
    created_to: datetime,
    currency: str,
    ledger: Sequence[LedgerLine],
    shipping: Sequence[ShippingLedgerLine],
    orders: Mapping[int, Order],
    requests: Mapping[int, Sequence[AfterSalesRequest]],
    payments: Mapping[int, Sequence[Payment]],
    costs: Mapping[int, Decimal],
) -> Settlement:
    by_order: dict[int, list[LedgerLine]] = {}
    for line in ledger:
        by_order.setdefault(line.order_id, []).append(line)
    shipping_of = {s.order_id: s for s in shipping}
    order_ids = list(dict.fromkeys([*by_order, *shipping_of]))
    settled: list[OrderSettlement] = []
    for order_id in order_ids:
        order = orders.get(order_id)
        figures, missing = settle_order(
            by_order.get(order_id, []),
            shipping_of.get(order_id),
            is_cancelled=order is not None and order.status is OrderStatus.CANCELLED,
            requests=requests.get(order_id, ()),
            payments=payments.get(order_id, ()),
            costs=costs,
        )
        settled.append(OrderSettlement(order_id, figures, missing))
    return Settlement(
        created_from=created_from,
        created_to=created_to,
        currency=currency,
        orders=settled,
        totals=add_up(settled, ledger),
        skus_without_cost=tuple(sorted({s for o in settled for s in o.skus_without_cost})),
        order_records=orders,
    )


async def load_settlement(
    sources: Sources, *, created_from: datetime, created_to: datetime, currency: str
) -> Settlement:
    """Six source calls whatever the period holds: the ledger, its shipping, the orders,
    their requests and payments, and the cost prices of the SKUs sold."""
    orders_store = sources.orders
    ledger = await orders_store.ledger(created_from=created_from, created_to=created_to)
    shipping = await orders_store.shipping_ledger(created_from=created_from, created_to=created_to)
    ids = sorted({line.order_id for line in ledger} | {s.order_id for s in shipping})
    if not ids:
        return compute_settlement(
            created_from=created_from,
            created_to=created_to,
            currency=currency,
            ledger=[],
            shipping=[],
            orders={},
            requests={},
            payments={},
            costs={},
        )
    orders = await orders_store.orders_by_ids(ids)
    requests = await orders_store.after_sales_by_order_ids(ids)
    payments = await orders_store.payments_by_order_ids(ids)
    costs = await sources.pricing.cost_prices_by_sku_ids(
        sorted({line.sku_id for line in ledger}), currency
    )
    return compute_settlement(
        created_from=created_from,
        created_to=created_to,
        currency=currency,
        ledger=ledger,
        shipping=shipping,
        orders=orders,
        requests=requests,
        payments=payments,
        costs=costs,
    )
