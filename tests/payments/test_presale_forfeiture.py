"""Presale forfeiture, over real HTTP on SQLite and PostgreSQL: a presale order whose
deposit is paid and whose balance is not paid by the presale's deadline
(Presale.balanceDueAt) is cancelled by the sweeper, its stock back and its deposit kept;
paying the balance past the deadline is refused (PRESALE_BALANCE_OVERDUE), through the
provider or by staff; and the settlement reports the kept deposits as their own line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import Shop, global_id
from tests.gateway.order_ops import mark_paid
from tests.payments.alipay_steps import open_presale, pay, state, sweep_at

pytestmark = pytest.mark.usefixtures("provider_up")

BALANCE_TTL = timedelta(hours=24)  # ORDER_BALANCE_TTL's default
TERMS = """
query Terms($id: ID!) {
  node(id: $id) { ... on Product { presale { endsAt balanceDueAt deposit { amount } } } }
}"""
FORFEITS = """
query Forfeits($from: DateTime!, $to: DateTime!) {
  settlement(from: $from, to: $to) {
    forfeitedDeposits { total { amount currency } orders { amount { amount } order { id } } }
    orders { order { id } }
  }
}"""
CANCEL = """
mutation Cancel($id: ID!) {
  orderCancel(orderId: $id, reason: "customer asked") { order { id status } userErrors { code } }
}"""


def _deposit_paid(shop: Shop, sku_id: int, buyer: int, key: str) -> dict[str, Any]:
    order = shop.buy([(sku_id, 1)], token=shop.customer_token(buyer), key=key)
    paid = mark_paid(shop, order["id"])  # staff take the deposit by hand
    assert paid["userErrors"] == [] and paid["order"]["status"] == "PENDING_PAYMENT"
    return order


def _end_presale(shop: Shop, product_id: int, at: datetime) -> None:
    shop.sql(
        "catalog",
        "UPDATE products SET presale_ends_at = :e WHERE id = :p",
        {"e": at, "p": product_id},
    )


def test_an_overdue_balance_is_refused_and_the_sweeper_keeps_the_deposit(shop: Shop) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    sku = open_presale(shop)
    forfeited = _deposit_paid(shop, sku.id, 21, "forfeit-1")
    refunded = _deposit_paid(shop, sku.id, 22, "forfeit-2")
    cancelled = shop.query(CANCEL, {"id": refunded["id"]}, token=shop.staff_token("MANAGE_ORDERS"))
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"  # deposit refunded

    ended = datetime.now(UTC) - BALANCE_TTL - timedelta(minutes=1)
    _end_presale(shop, sku.product_id, ended)
    terms = shop.query(TERMS, {"id": global_id("Product", sku.product_id)})["node"]["presale"]
    assert datetime.fromisoformat(terms["balanceDueAt"]) == ended + BALANCE_TTL
    deposit = Decimal(terms["deposit"]["amount"])

    # Past the deadline: neither the buyer (through Alipay) nor staff can pay the balance.
    through_provider = pay(shop, forfeited["id"], buyer=21)
    assert [e["code"] for e in through_provider["userErrors"]] == ["PRESALE_BALANCE_OVERDUE"]
    assert through_provider["payment"] is None
    by_hand = mark_paid(shop, forfeited["id"])
    assert [e["code"] for e in by_hand["userErrors"]] == ["PRESALE_BALANCE_OVERDUE"]
    assert "deposit is kept" in by_hand["userErrors"][0]["message"]
    assert [p["stage"] for p in state(shop, forfeited["id"])["payments"]] == ["DEPOSIT"]

    held = shop.available(sku.id)
    report = sweep_at(shop, datetime.now(UTC))
    assert report.unpaid_orders_cancelled >= 1
    after = state(shop, forfeited["id"])
    assert after["status"] == "CANCELLED"
    assert [p["stage"] for p in after["payments"]] == ["DEPOSIT"]
    assert after["refunds"] == []  # kept, as the terms say
    assert shop.available(sku.id) == held + 1

    window = {"from": started.isoformat(), "to": (datetime.now(UTC) + timedelta(1)).isoformat()}
    report_view = shop.query(FORFEITS, window, token=shop.staff_token("VIEW_FINANCE"))
    kept = report_view["settlement"]["forfeitedDeposits"]
    assert [o["order"]["id"] for o in kept["orders"]] == [forfeited["id"]]  # not the refunded
    assert Decimal(kept["total"]["amount"]) == deposit
    assert Decimal(kept["orders"][0]["amount"]["amount"]) == deposit
    sold = {o["order"]["id"] for o in report_view["settlement"]["orders"]}
    assert forfeited["id"] not in sold  # a line of its own, not a sale


def test_a_balance_paid_before_the_deadline_is_accepted(shop: Shop) -> None:
    sku = open_presale(shop)
    order = _deposit_paid(shop, sku.id, 23, "forfeit-3")
    _end_presale(shop, sku.product_id, datetime.now(UTC) - timedelta(hours=1))
    paid = mark_paid(shop, order["id"])
    assert paid["userErrors"] == [] and paid["order"]["status"] == "PAID"
