"""Unpaid orders expire (ORDER_PAYMENT_TTL) through the sweeper: stock and coupon uses come
back exactly once, Alipay is asked first (a lost notification is applied instead), money
after the cancellation is refunded; and the flash sale where half the winners never pay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sources.inventory.sold_out import DEFAULT_TTL_S as SOLD_OUT_TTL_S
from tests.gateway.checkout_helpers import CHECKOUT, Goods, Shop, post_all, run
from tests.gateway.order_ops import amount
from tests.payments.alipay_sim import AlipaySimulator
from tests.payments.alipay_steps import (
    notify,
    open_presale,
    opened,
    order_ref,
    placed,
    state,
    status_moves,
    sweep_at,
)

pytestmark = pytest.mark.usefixtures("provider_up")


def test_an_unpaid_order_expires_once_and_late_money_is_refunded(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=11, key="expire-1", coupons=["WELCOME10"])
    sku = order["sku"]
    trade_number = opened(shop, order["id"], buyer=11)["tradeNumber"]
    available = shop.available(sku.id)
    ref = order_ref(shop, order)
    live_uses = "SELECT count(*) FROM coupon_usages WHERE order_ref = :r AND released_at IS NULL"
    assert shop.scalar("pricing", live_uses, {"r": ref}) == 1

    early = sweep_at(shop, datetime.now(UTC) + timedelta(minutes=29))
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"
    assert early.unpaid_orders_cancelled == 0

    later = datetime.now(UTC) + timedelta(minutes=31)
    reports = [sweep_at(shop, later) for _ in range(3)]  # three sweepers, one cancellation
    # The first cancels every order due (earlier tests' too); the others find none left.
    assert reports[0].unpaid_orders_cancelled >= 1
    assert [r.unpaid_orders_cancelled for r in reports[1:]] == [0, 0]
    after = state(shop, order["id"])
    assert after["status"] == "CANCELLED"
    assert after["paymentAttempts"][0]["status"] == "CLOSED"
    assert shop.available(sku.id) == available + 1  # given back once, not three times
    assert shop.scalar("pricing", live_uses, {"r": ref}) == 0
    assert status_moves(shop, order["number"]).count(("PENDING_PAYMENT", "CANCELLED")) == 1

    # The buyer paid at the last second; Alipay's notice comes after the cancellation.
    assert notify(shop, alipay.pay(trade_number)).text == "success"
    late = state(shop, order["id"])
    assert late["status"] == "CANCELLED" and late["payments"] == []
    assert late["paymentAttempts"][0]["status"] == "LATE"
    assert "refunded" in late["paymentAttempts"][0]["note"]
    (refund,) = late["refunds"]
    assert (refund["status"], refund["provider"]) == ("SUCCEEDED", "ALIPAY")
    assert amount(refund["amount"]) == amount(order["cost"]["total"])
    assert alipay.trades[trade_number].refunded == amount(order["cost"]["total"])
    assert notify(shop, alipay.notification(trade_number)).text == "success"  # again: no-op
    assert len(alipay.trades[trade_number].refunds) == 1


def test_expiry_asks_alipay_first_and_pays_an_order_whose_notice_was_lost(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=12, key="expire-2")
    trade_number = opened(shop, order["id"], buyer=12)["tradeNumber"]
    alipay.pay(trade_number)  # notification lost
    report = sweep_at(shop, datetime.now(UTC) + timedelta(minutes=31))
    assert state(shop, order["id"])["status"] == "PAID"
    assert report.unpaid_orders_cancelled == 0


def test_while_alipay_is_down_expiry_waits_one_more_ttl(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=13, key="expire-3")
    opened(shop, order["id"], buyer=13)
    alipay.down = True
    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=31))
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"
    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=61))
    assert state(shop, order["id"])["status"] == "CANCELLED"


def test_flash_sale_winners_who_never_pay_give_their_stock_to_the_next_buyers(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    """Ten buyers race for four units; half the winners never pay. After the payment TTL
    the sweeper gives their units back, exactly once, and two of the losers buy them."""
    sku = goods.take()
    shop.set_available(sku.id, 4)
    buyers = list(range(40, 50))
    carts = [shop.create_cart([(sku.id, 1)], token=shop.customer_token(n))["cart"] for n in buyers]
    requests = [
        (
            CHECKOUT,
            {"cartId": cart["id"], "key": f"flash-{n}", "total": cart["cost"]["total"]["amount"]},
            shop.customer_token(n),
        )
        for n, cart in zip(buyers, carts, strict=True)
    ]
    results = [
        r["data"]["checkoutComplete"] for r in run(lambda: post_all(shop.live.url, requests))
    ]
    winners = [(n, r["order"]) for n, r in zip(buyers, results, strict=True) if r["order"]]
    losers = [n for n, r in zip(buyers, results, strict=True) if not r["order"]]
    assert len(winners) == 4 and shop.available(sku.id) == 0
    for n, order in winners[:2]:  # these pay
        assert notify(shop, alipay.pay(opened(shop, order["id"], buyer=n)["tradeNumber"])).text == (
            "success"
        )
    for n, order in winners[2:]:  # these open the payment page and walk away
        opened(shop, order["id"], buyer=n)

    later = datetime.now(UTC) + timedelta(minutes=31)
    sweep_at(shop, later)
    sweep_at(shop, later)
    assert [state(shop, o["id"])["status"] for _, o in winners] == [
        "PAID",
        "PAID",
        "CANCELLED",
        "CANCELLED",
    ]
    assert shop.available(sku.id) == 2  # back once, not twice

    # The sweep ran in another process (as `gateway sweep` does): the gateway's own sold-out
    # mark for this SKU (sources/inventory/sold_out.py) lives out its TTL before it sells again.
    time.sleep(SOLD_OUT_TTL_S)
    second_round = [
        shop.buy([(sku.id, 1)], token=shop.customer_token(n), key=f"flash2-{n}") for n in losers[:2]
    ]
    assert all(o["status"] == "PENDING_PAYMENT" for o in second_round)
    assert shop.available(sku.id) == 0
    refused = shop.create_cart([(sku.id, 1)], token=shop.customer_token(losers[2]))
    assert refused["cart"]["validation"]["ok"] is False  # sold out again, never oversold


def test_a_presale_balance_unpaid_a_day_after_the_presale_ends_is_cancelled_deposit_kept(
    shop: Shop, alipay: AlipaySimulator
) -> None:
    sku = open_presale(shop)
    order = shop.buy([(sku.id, 1)], token=shop.customer_token(19), key="balance-due")
    deposit = opened(shop, order["id"], buyer=19)
    assert deposit["stage"] == "DEPOSIT"
    assert notify(shop, alipay.pay(deposit["tradeNumber"])).text == "success"
    held = shop.available(sku.id)
    ended = datetime.now(UTC) - timedelta(minutes=1)
    shop.sql(
        "catalog",
        "UPDATE products SET presale_ends_at = :e WHERE id = :p",
        {"e": ended, "p": sku.product_id},
    )

    sweep_at(shop, ended + timedelta(hours=23))  # ORDER_BALANCE_TTL (24 h) not yet over
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"
    report = sweep_at(shop, ended + timedelta(hours=24, minutes=1))

    assert report.unpaid_orders_cancelled >= 1
    after = state(shop, order["id"])
    assert after["status"] == "CANCELLED"
    assert [p["stage"] for p in after["payments"]] == ["DEPOSIT"]
    assert after["refunds"] == []  # a presale deposit is kept (定金不退)
    assert shop.available(sku.id) == held + 1
