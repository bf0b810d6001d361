"""What finance and the back office read from the orders source, on SQLite and PostgreSQL:
the settlement ledger (lines of paid orders in a period, with discounts by promotion and
refunds, adding up to what was paid minus what was refunded) and the order listing
filtered by status, customer and date, newest first with cursors."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sources.orders.records import (
    AfterSalesKind,
    AfterSalesLine,
    AfterSalesStatus,
    NewAfterSalesRequest,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStage,
)
from sources.orders.store import OrdersStore

from .conftest import NOW
from .test_payments import line, pay, place

PERIOD = (NOW - timedelta(hours=1), NOW + timedelta(days=1))
CENT = Decimal("0.01")


async def lines_of(store: OrdersStore, order: Order) -> list[OrderLine]:
    return (await store.order_lines_by_order_ids([order.id]))[order.id]


async def request(
    store: OrdersStore,
    order: Order,
    kind: AfterSalesKind,
    units: list[tuple[OrderLine, int, str]],
    *,
    to: list[AfterSalesStatus],
    shipping: str = "0.00",
) -> Decimal:
    """Opens a request for (line, quantity, refund) and moves it through ``to``; the amount
    it refunds (lines plus ``shipping``)."""
    lines = tuple(AfterSalesLine(ordered.id, n, Decimal(refund)) for ordered, n, refund in units)
    refund = sum((a.refund_amount for a in lines), Decimal(shipping))
    opened = await store.create_after_sales_request(
        NewAfterSalesRequest(order.id, order.customer_id, kind, "", lines, refund),
        actor=f"customer:{order.customer_id}",
        now=NOW + timedelta(days=2),
    )
    before = AfterSalesStatus.OPEN
    for status in to:
        moved, _ = await store.transition_after_sales(
            opened.id,
            to=status,
            allowed_from=[before],
            actor="staff:5",
            note="",
            now=NOW + timedelta(days=3),
        )
        assert moved is not None
        before = status
    return refund


async def test_the_ledger_adds_up_to_what_was_paid_minus_what_was_refunded(
    store: OrdersStore,
) -> None:
    # Stacked promotions: 3 x 33.33 = 99.99, minus 10.00 and 3.33, leaves 86.66 for 3 units.
    stacked = await pay(
        store,
        await place(
            store,
            line(101, 3, unit="33.33", discounts=(("Autumn sale", "10.00"), ("SAVE5", "3.33"))),
            line(102, 1, discounts=(("Autumn sale", "2.50"),)),
            now=NOW,
        ),
    )
    whole = await pay(
        store,
        await place(
            store,
            line(103, 2, unit="50.00", discounts=(("SAVE5", "5.00"),)),
            now=NOW + timedelta(hours=1),
        ),
    )
    presale = await place(
        store,
        line(104, 1, unit="300.00", deposit="60.00"),
        deposit_due="60.00",
        now=NOW + timedelta(hours=2),
    )
    for stage, amount in (
        (PaymentStage.DEPOSIT, Decimal("60.00")),
        (PaymentStage.BALANCE, Decimal("250.00")),
    ):
        moved = await store.record_payment(
            presale.id,
            stage=stage,
            amount=amount,
            to=OrderStatus.PAID if stage is PaymentStage.BALANCE else OrderStatus.PENDING_PAYMENT,
            allowed_from=[OrderStatus.PENDING_PAYMENT],
            actor="payments",
            now=NOW + timedelta(hours=3),
        )
        assert moved is not None
    cancelled_paid = await pay(
        store, await place(store, line(105, 2), now=NOW + timedelta(hours=4))
    )
    assert await store.transition_order(
        cancelled_paid.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PAID],
        actor="staff:5",
        reason="out of stock: refunded",
        now=NOW + timedelta(hours=5),
    )
    open_request = await pay(store, await place(store, line(106, 1), now=NOW + timedelta(hours=6)))
    # Not in the ledger: cancelled before payment, unpaid, paid outside the period.
    unpaid_cancelled = await place(store, line(107), now=NOW + timedelta(hours=7))
    assert await store.transition_order(
        unpaid_cancelled.id,
        to=OrderStatus.CANCELLED,
        allowed_from=[OrderStatus.PENDING_PAYMENT],
        actor="customer:1",
        reason="",
        now=NOW + timedelta(hours=8),
    )
    await place(store, line(108), now=NOW + timedelta(hours=9))
    await pay(store, await place(store, line(109), now=PERIOD[1]))
    await pay(store, await place(store, line(110), now=PERIOD[0] - timedelta(seconds=1)))

    s1, s2 = await lines_of(store, stacked)
    (w1,) = await lines_of(store, whole)
    (o1,) = await lines_of(store, open_request)
    refunds = [
        # Partial returns twice on one line: 86.66 / 3 = 28.89 for each of the first two units.
        await request(
            store,
            stacked,
            AfterSalesKind.RETURN,
            [(s1, 1, "28.89")],
            to=[AfterSalesStatus.APPROVED, AfterSalesStatus.COMPLETED],
        ),
        await request(
            store,
            stacked,
            AfterSalesKind.RETURN,
            [(s1, 1, "28.89")],
            to=[AfterSalesStatus.APPROVED],
        ),
        # The whole order back: its lines and its shipping.
        await request(
            store,
            whole,
            AfterSalesKind.REFUND_ONLY,
            [(w1, 2, "95.00")],
            shipping="10.00",
            to=[AfterSalesStatus.APPROVED],
        ),
        cancelled_paid.total,
    ]
    # Refunding nothing: rejected, an exchange, still open.
    await request(
        store,
        stacked,
        AfterSalesKind.REFUND_ONLY,
        [(s1, 1, "28.88")],
        to=[AfterSalesStatus.REJECTED],
    )
    await request(
        store, stacked, AfterSalesKind.EXCHANGE, [(s2, 1, "22.50")], to=[AfterSalesStatus.APPROVED]
    )
    await request(store, open_request, AfterSalesKind.RETURN, [(o1, 1, "25.00")], to=[])

    ledger = await store.ledger(created_from=PERIOD[0], created_to=PERIOD[1])
    shipping = await store.shipping_ledger(created_from=PERIOD[0], created_to=PERIOD[1])

    settled = [stacked.id, whole.id, presale.id, cancelled_paid.id, open_request.id]
    assert list(dict.fromkeys(entry.order_id for entry in ledger)) == settled
    assert [entry.order_id for entry in shipping] == settled
    by_line = {entry.order_line_id: entry for entry in ledger}
    assert (by_line[s1.id].quantity, by_line[s1.id].subtotal, by_line[s1.id].total) == (
        3,
        Decimal("99.99"),
        Decimal("86.66"),
    )
    assert [(d.promotion_name, d.amount) for d in by_line[s1.id].discounts] == [
        ("Autumn sale", Decimal("10.00")),
        ("SAVE5", Decimal("3.33")),
    ]
    assert {line_id: entry.refunded for line_id, entry in by_line.items() if entry.refunded} == {
        s1.id: Decimal("57.78"),
        w1.id: Decimal("95.00"),
        (await lines_of(store, cancelled_paid))[0].id: Decimal("50.00"),
    }
    assert {e.order_id: e.refunded for e in shipping if e.refunded} == {
        whole.id: Decimal("10.00"),
        cancelled_paid.id: Decimal("10.00"),
    }
    discounts: dict[str, Decimal] = defaultdict(Decimal)
    for entry in ledger:
        for share in entry.discounts:
            discounts[share.promotion_name] += share.amount
    assert discounts == {"Autumn sale": Decimal("12.50"), "SAVE5": Decimal("8.33")}

    payments = await store.payments_by_order_ids(settled)
    paid = sum(
        (p.amount for order_payments in payments.values() for p in order_payments), Decimal(0)
    )
    kept = sum((e.total - e.refunded for e in ledger), Decimal(0)) + sum(
        (e.shipping - e.refunded for e in shipping), Decimal(0)
    )
    assert paid == Decimal("629.16")
    assert kept == paid - sum(refunds, Decimal(0))
    assert kept.quantize(CENT) == kept
    assert await store.ledger(created_from=PERIOD[1], created_to=PERIOD[1]) == []


async def test_staff_filter_orders_by_status_customer_and_date(store: OrdersStore) -> None:
    placed = [
        await place(store, line(101), customer_id=1 + n % 2, now=NOW + timedelta(hours=n))
        for n in range(8)
    ]
    for order in placed[::3]:
        await pay(store, order, now=NOW + timedelta(days=1))
    window = (NOW + timedelta(hours=1), NOW + timedelta(hours=7))

    pages = []
    cursor = None
    while True:
        page = await store.list_orders(
            first=1, after=cursor, customer_id=2, created_from=window[0], created_to=window[1]
        )
        pages.append(page)
        if not page.has_next_page:
            break
        cursor = page.cursors[-1]
    paid = await store.list_orders(first=10, status=OrderStatus.PAID, customer_id=1)
    paid_in_window = await store.list_orders(
        first=10, status=OrderStatus.PAID, created_from=window[0], created_to=window[1]
    )
    since = await store.list_orders(first=10, created_from=NOW + timedelta(hours=6))

    # Customer 2's orders were placed at odd hours; the window is [1h, 7h).
    assert [o.id for p in pages for o in p.orders] == [placed[5].id, placed[3].id, placed[1].id]
    assert all(p.total_count == 3 for p in pages)
    assert [o.id for o in paid.orders] == [placed[6].id, placed[0].id] and paid.total_count == 2
    assert [o.id for o in paid_in_window.orders] == [placed[6].id, placed[3].id]
    assert [o.id for o in since.orders] == [placed[7].id, placed[6].id]
