"""The settlement from the ledger: gross, discounts by promotion, refunds, cost of goods and
margin, per order and in total; net sales plus shipping minus refunds is what was paid
minus what was refunded."""

from __future__ import annotations

from decimal import Decimal

from gateway.aftersales.settlement import compute_settlement
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesStatus,
    LedgerLine,
    LineDiscount,
    OrderStatus,
    Payment,
    PaymentStage,
    ShippingLedgerLine,
)

from .factories import NOW, order, request


def _line(
    order_id: int,
    line_id: int,
    sku: int,
    qty: int,
    subtotal: str,
    total: str,
    refunded: str = "0.00",
    discounts: tuple[tuple[int, str], ...] = (),
) -> LedgerLine:
    return LedgerLine(
        order_id=order_id,
        order_line_id=line_id,
        sku_id=sku,
        quantity=qty,
        subtotal=Decimal(subtotal),
        discounts=tuple(LineDiscount(p, f"Promo {p}", Decimal(a)) for p, a in discounts),
        total=Decimal(total),
        refunded=Decimal(refunded),
    )


def test_an_order_settles_from_its_lines_refunds_and_cost_prices() -> None:
    ledger = [
        _line(1, 1, 11, 3, "300.00", "270.00", refunded="90.00", discounts=((5, "30.00"),)),
        _line(1, 2, 12, 1, "50.00", "40.00", discounts=((5, "5.00"), (6, "5.00"))),
    ]
    shipping = [ShippingLedgerLine(1, Decimal("10.00"), Decimal("0.00"))]
    returned = request(
        1, AfterSalesKind.RETURN, [(1, 1, "90.00")], status=AfterSalesStatus.COMPLETED
    )
    settled = compute_settlement(
        created_from=NOW,
        created_to=NOW,
        currency="CNY",
        ledger=ledger,
        shipping=shipping,
        orders={1: order(id=1, total="310.00")},
        requests={1: [returned]},
        payments={1: [Payment(1, 1, PaymentStage.FULL, Decimal("320.00"), NOW, "staff:1")]},
        costs={11: Decimal("60.00")},
    )
    figures = settled.orders[0].figures
    assert figures.gross_sales == Decimal("350.00")
    assert figures.discounts == Decimal("40.00")
    assert [(d.promotion_id, d.amount) for d in figures.discounts_by_promotion] == [
        (5, Decimal("35.00")),
        (6, Decimal("5.00")),
    ]
    assert figures.net_sales == Decimal("310.00")
    assert figures.refunds == Decimal("90.00")
    assert figures.cost_of_goods == Decimal("120.00")  # 2 units kept; SKU 12 has no cost
    assert figures.margin == Decimal("110.00")  # 310 + 10 - 90 - 120
    assert figures.net_sales + figures.shipping - figures.refunds == figures.paid - figures.refunds
    assert settled.orders[0].skus_without_cost == (12,)
    assert settled.totals == figures


def test_a_cancelled_paid_order_is_refunded_whole_and_costs_nothing() -> None:
    ledger = [_line(2, 3, 11, 2, "100.00", "100.00", refunded="100.00")]
    shipping = [ShippingLedgerLine(2, Decimal("8.00"), Decimal("8.00"))]
    settled = compute_settlement(
        created_from=NOW,
        created_to=NOW,
        currency="CNY",
        ledger=ledger,
        shipping=shipping,
        orders={2: order(id=2, status=OrderStatus.CANCELLED, total="100.00", shipping="8.00")},
        requests={},
        payments={2: [Payment(2, 2, PaymentStage.FULL, Decimal("108.00"), NOW, "staff:1")]},
        costs={11: Decimal("30.00")},
    )
    figures = settled.totals
    assert (figures.refunds, figures.cost_of_goods, figures.margin) == (
        Decimal("108.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
