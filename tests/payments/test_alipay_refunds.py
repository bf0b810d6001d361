"""Refunds through Alipay: a staff cancel of a paid order, a completed return, a presale's
deposit and balance each refunded on its own trade; once per cause, and retried while
Alipay refuses, visible to staff meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway.checkout_helpers import Goods, Shop, global_id
from tests.gateway.order_ops import (
    CANCEL,
    ORDER_QUERY,
    amount,
    ask,
    complete,
    delivered_order,
    error_codes,
    manager,
    resolve,
)
from tests.payments.alipay_sim import AlipaySimulator
from tests.payments.alipay_steps import (
    STATE,
    alipay_paid,
    notify,
    open_presale,
    opened,
    pay,
    state,
    sweep_at,
)

pytestmark = pytest.mark.usefixtures("provider_up")


def test_staff_cancelling_a_paid_order_refunds_it_through_alipay_once(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order, trade_number = alipay_paid(shop, goods, alipay, buyer=14, key="cancel-1")
    variables = {"id": order["id"], "reason": "out of stock at the supplier"}
    first = shop.query(CANCEL, variables, token=manager(shop))["orderCancel"]
    again = shop.query(CANCEL, variables, token=manager(shop))["orderCancel"]

    assert first["userErrors"] == [] and first["order"]["status"] == "CANCELLED"
    assert error_codes(again) == ["INVALID_STATUS_TRANSITION"]
    (refund,) = state(shop, order["id"])["refunds"]
    assert refund["status"] == "SUCCEEDED" and refund["stage"] == "FULL"
    assert amount(refund["amount"]) == amount(order["cost"]["total"])
    assert next(iter(alipay.trades[trade_number].refunds.values()))[0] == amount(
        order["cost"]["total"]
    )
    assert len(alipay.trades[trade_number].refunds) == 1


def test_a_refund_alipay_cannot_take_is_shown_and_retried_until_it_succeeds(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order, trade_number = alipay_paid(shop, goods, alipay, buyer=15, key="retry-1")
    alipay.refuse_refunds = True
    cancelled = shop.query(
        CANCEL, {"id": order["id"], "reason": "buyer asked"}, token=manager(shop)
    )["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    (failed,) = state(shop, order["id"])["refunds"]
    assert failed["status"] == "FAILED" and failed["tries"] == 1 and failed["lastError"]
    buyer_view = shop.query(STATE, {"id": order["id"]}, token=shop.customer_token(15))
    assert buyer_view["order"]["refunds"][0]["lastError"] is None

    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=2))  # still refused: still FAILED
    assert state(shop, order["id"])["refunds"][0]["tries"] == 2
    alipay.refuse_refunds = False
    report = sweep_at(shop, datetime.now(UTC) + timedelta(minutes=4))
    assert report.refunds_retried >= 1
    (done,) = state(shop, order["id"])["refunds"]
    assert (done["status"], done["tries"], done["lastError"]) == ("SUCCEEDED", 3, None)
    assert alipay.trades[trade_number].refunded == amount(order["cost"]["total"])
    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=6))
    assert len(alipay.trades[trade_number].refunds) == 1


def test_a_completed_return_refunds_its_units_through_alipay(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order, trade_number = alipay_paid(shop, goods, alipay, buyer=16, key="return-1", units=3)
    full = shop.query(ORDER_QUERY, {"id": order["id"]}, token=manager(shop))["order"]
    delivered = delivered_order(shop, full)
    line = delivered["lines"][0]
    asked = ask(shop, delivered, "RETURN", [(line["id"], 1)], buyer=16)
    assert asked["userErrors"] == []
    request_id = asked["request"]["id"]
    assert resolve(shop, request_id, approve=True)["userErrors"] == []
    assert complete(shop, request_id)["userErrors"] == []
    assert error_codes(complete(shop, request_id)) == ["INVALID_STATUS_TRANSITION"]

    (refund,) = state(shop, order["id"])["refunds"]
    assert refund["status"] == "SUCCEEDED"
    assert amount(refund["amount"]) == amount(asked["request"]["refundAmount"])
    assert alipay.trades[trade_number].refunded == amount(asked["request"]["refundAmount"])
    assert global_id("Order", 1)  # ids stay opaque to the buyer


def test_a_presale_pays_deposit_and_balance_by_alipay_and_a_cancel_refunds_each(
    shop: Shop, alipay: AlipaySimulator
) -> None:
    sku = open_presale(shop)
    placed_order = shop.buy([(sku.id, 1)], token=shop.customer_token(18), key="presale-1")
    order = shop.query(ORDER_QUERY, {"id": placed_order["id"]}, token=manager(shop))["order"]
    deposit, total = amount(order["cost"]["depositDue"]), amount(order["cost"]["total"])
    first = opened(shop, order["id"], buyer=18)
    assert (first["stage"], amount(first["amount"])) == ("DEPOSIT", deposit)
    assert notify(shop, alipay.pay(first["tradeNumber"])).text == "success"
    after_deposit = state(shop, order["id"])
    assert after_deposit["status"] == "PENDING_PAYMENT" and after_deposit["paymentDueBy"] is None
    early = pay(shop, order["id"], buyer=18)
    assert error_codes(early) == ["INVALID_STATUS_TRANSITION"]  # the balance waits
    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=31))  # a paid deposit never expires
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"

    shop.sql(
        "catalog",
        "UPDATE products SET presale_ends_at = :e WHERE id = :p",
        {"e": datetime.now(UTC) - timedelta(minutes=1), "p": sku.product_id},
    )
    second = opened(shop, order["id"], buyer=18)
    assert (second["stage"], amount(second["amount"])) == ("BALANCE", total - deposit)
    assert notify(shop, alipay.pay(second["tradeNumber"])).text == "success"
    paid = state(shop, order["id"])
    assert paid["status"] == "PAID"
    assert [(p["stage"], p["provider"]) for p in paid["payments"]] == [
        ("DEPOSIT", "ALIPAY"),
        ("BALANCE", "ALIPAY"),
    ]

    cancelled = shop.query(
        CANCEL, {"id": order["id"], "reason": "presale delayed"}, token=manager(shop)
    )["orderCancel"]
    assert cancelled["userErrors"] == []
    refunds = {r["stage"]: r for r in state(shop, order["id"])["refunds"]}
    assert sorted(refunds) == ["BALANCE", "DEPOSIT"]
    assert amount(refunds["BALANCE"]["amount"]) == total - deposit
    assert amount(refunds["DEPOSIT"]["amount"]) == deposit
    assert alipay.trades[second["tradeNumber"]].refunded == total - deposit
    assert alipay.trades[first["tradeNumber"]].refunded == deposit
