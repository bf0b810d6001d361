"""Paying with Alipay end to end over real HTTP on SQLite and PostgreSQL, against the
Alipay simulator with RSA keys made for the run: the buyer opens a payment, the simulator's
signed notification (or the buyer's return) pays the order exactly as orderMarkPaid does;
forged, replayed, reordered and amount-changed notifications change nothing they should not;
Alipay down leaves the order payable. Source calls pinned."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.gateway.checkout_helpers import Goods, Shop, run
from tests.gateway.order_ops import amount, error_codes, manager
from tests.payments.alipay_sim import AlipaySimulator
from tests.payments.alipay_steps import (
    CONFIRM,
    NOTIFY,
    PAY,
    STATE,
    confirm,
    notify,
    opened,
    order_ref,
    pay,
    placed,
    state,
    status_moves,
)
from tests.payments.keys import KeyPair

pytestmark = pytest.mark.usefixtures("provider_up")


def test_a_buyer_pays_by_qr_code_and_the_order_moves_on_as_when_staff_mark_it_paid(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=1, key="qr-1")
    assert state(shop, order["id"])["paymentDueBy"] is not None
    payment = opened(shop, order["id"], buyer=1)
    assert payment["status"] == "PENDING" and payment["provider"] == "ALIPAY"
    assert payment["qrCode"].startswith("https://qr.alipay.com/")
    assert payment["redirectUrl"] is None
    assert amount(payment["amount"]) == amount(order["cost"]["total"])
    # A second click shows the same code: no second trade at Alipay.
    assert opened(shop, order["id"], buyer=1)["tradeNumber"] == payment["tradeNumber"]
    assert alipay.requests.count("alipay.trade.precreate") >= 1
    trade = alipay.trades[payment["tradeNumber"]]

    answer = notify(shop, alipay.pay(payment["tradeNumber"]))

    assert (answer.status_code, answer.text) == (200, "success")
    after = state(shop, order["id"])
    assert after["status"] == "PAID"
    assert after["paymentDueBy"] is None
    assert after["payments"] == [
        {
            "stage": "FULL",
            "amount": {"amount": payment["amount"]["amount"]},
            "provider": "ALIPAY",
            "reference": trade.trade_no,
        }
    ]
    (attempt,) = after["paymentAttempts"]
    assert (attempt["status"], attempt["reference"], attempt["qrCode"]) == (
        "PAID",
        trade.trade_no,
        None,
    )
    assert after["shipments"], "a paid order's parcels are planned, as orderMarkPaid plans them"
    ref = order_ref(shop, order)
    sold = shop.sql("inventory", "SELECT status FROM reservations WHERE order_ref = :r", {"r": ref})
    assert [s for (s,) in sold] == ["SOLD"]


def test_a_phone_is_sent_to_a_signed_alipay_page(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=2, key="wap-1")
    payload = pay(shop, order["id"], buyer=2, channel="MOBILE_WEB", back="https://shop.test/back")
    assert payload["userErrors"] == []
    url = payload["payment"]["redirectUrl"]
    assert url.startswith(f"{alipay.url}/gateway.do?") and payload["payment"]["qrCode"] is None
    landed = httpx.get(url)  # the simulator checks the app's signature on the page's URL
    assert landed.status_code == 200 and "Alipay cashier" in landed.text
    assert notify(shop, alipay.pay(payload["payment"]["tradeNumber"])).text == "success"
    assert state(shop, order["id"])["status"] == "PAID"


def test_ten_copies_of_a_notification_racing_the_buyers_return_pay_once(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=3, key="race-1")
    trade_number = opened(shop, order["id"], buyer=3)["tradeNumber"]
    form = alipay.pay(trade_number)

    async def all_at_once() -> list[str]:
        async with httpx.AsyncClient(base_url=shop.live.url, timeout=60) as client:
            token = shop.customer_token(3)
            notes = [client.post(NOTIFY, data=form) for _ in range(10)]
            back = client.post(
                "/graphql",
                json={"query": CONFIRM, "variables": {"id": order["id"]}},
                headers={"Authorization": f"Bearer {token}"},
            )
            answers = await asyncio.gather(*notes, back)
            return [a.text for a in answers[:-1]]

    assert run(all_at_once) == ["success"] * 10
    after = state(shop, order["id"])
    assert after["status"] == "PAID" and len(after["payments"]) == 1
    assert status_moves(shop, order["number"]).count(("PENDING_PAYMENT", "PAID")) == 1
    assert after["refunds"] == []


def test_forged_and_unsigned_notifications_are_refused_and_change_nothing(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=4, key="forged-1")
    trade_number = opened(shop, order["id"], buyer=4)["tradeNumber"]
    alipay.pay(trade_number)
    forged = alipay.notification(trade_number, signer=KeyPair.generate())
    unsigned = {k: v for k, v in alipay.notification(trade_number).items() if k != "sign"}
    tampered = {**alipay.notification(trade_number), "out_trade_no": "SOMEONE-ELSES"}
    other_app = alipay.notification(trade_number, app_id="2021999999999999")

    for form in (forged, unsigned, tampered, other_app):
        answer = notify(shop, form)
        assert (answer.status_code, answer.text) == (400, "fail")
    assert shop.live.client.post(NOTIFY, content=b"\xff\xfe").status_code == 400
    assert shop.live.client.post("/payments/paypal/notify", data={}).status_code == 404
    after = state(shop, order["id"])
    assert (after["status"], after["payments"]) == ("PENDING_PAYMENT", [])
    assert after["paymentAttempts"][0]["status"] == "PENDING"


def test_a_notification_with_another_amount_is_flagged_for_staff_and_never_pays(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=5, key="amount-1")
    trade_number = opened(shop, order["id"], buyer=5)["tradeNumber"]
    alipay.pay(trade_number)
    cheaper = alipay.notification(trade_number, total_amount="0.01")  # signed by Alipay

    assert notify(shop, cheaper).text == "success"  # taken: Alipay need not retry
    after = state(shop, order["id"])
    assert (after["status"], after["payments"]) == ("PENDING_PAYMENT", [])
    (attempt,) = after["paymentAttempts"]
    assert attempt["status"] == "FLAGGED"
    assert "0.01" in attempt["note"]
    buyer_view = shop.query(STATE, {"id": order["id"]}, token=shop.customer_token(5))["order"]
    assert buyer_view["paymentAttempts"][0]["note"] is None  # staff's note, not the buyer's
    # The right notice after a flag does not pay it either: staff settle it by hand.
    assert notify(shop, alipay.notification(trade_number)).text == "success"
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"


def test_notifications_out_of_order_leave_a_paid_order_paid(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=6, key="reorder-1")
    trade_number = opened(shop, order["id"], buyer=6)["tradeNumber"]
    waiting = alipay.notification(trade_number)  # WAIT_BUYER_PAY, sent first, arrives last
    paid_form = alipay.pay(trade_number)
    finished = alipay.notification(trade_number, status="TRADE_FINISHED")

    for form in (paid_form, finished, waiting, paid_form):
        assert notify(shop, form).text == "success"
    after = state(shop, order["id"])
    assert after["status"] == "PAID" and len(after["payments"]) == 1


def test_a_lost_notification_is_found_when_the_buyer_comes_back(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=7, key="lost-1")
    trade_number = opened(shop, order["id"], buyer=7)["tradeNumber"]
    before = confirm(shop, order["id"], buyer=7)  # back before paying: nothing changes
    assert before["order"]["status"] == "PENDING_PAYMENT"

    alipay.pay(trade_number)  # its notification never reaches the shop
    back = confirm(shop, order["id"], buyer=7)

    assert back["userErrors"] == []
    assert back["order"]["status"] == "PAID"
    assert back["order"]["payments"][0]["reference"] == alipay.trades[trade_number].trade_no


def test_alipay_down_leaves_the_order_payable_later(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=8, key="down-1")
    alipay.down = True
    refused = pay(shop, order["id"], buyer=8)
    assert error_codes(refused) == ["PAYMENT_PROVIDER_UNAVAILABLE"]
    assert refused["payment"] is None
    assert confirm(shop, order["id"], buyer=8)["userErrors"] == []  # no error, no change
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"

    alipay.down = False
    trade_number = opened(shop, order["id"], buyer=8)["tradeNumber"]
    assert notify(shop, alipay.pay(trade_number)).text == "success"
    assert state(shop, order["id"])["status"] == "PAID"


def test_only_the_owner_opens_a_payment(shop: Shop, goods: Goods) -> None:
    order = placed(shop, goods, buyer=9, key="owner-1")
    for token in (shop.customer_token(10), manager(shop), None):
        payload = shop.query(
            PAY,
            {"id": order["id"], "provider": "ALIPAY", "channel": "QR_CODE", "back": None},
            token=token,
        )["orderPaymentCreate"]
        assert error_codes(payload) == ["ORDER_NOT_FOUND"]
    wechat = shop.query(
        PAY,
        {"id": order["id"], "provider": "WECHAT", "channel": "QR_CODE", "back": None},
        token=shop.customer_token(9),
    )["orderPaymentCreate"]
    assert error_codes(wechat) == ["PAYMENT_PROVIDER_UNAVAILABLE"]  # not configured here
    bad_url = pay(shop, order["id"], buyer=9, back="javascript:alert(1)")
    assert error_codes(bad_url) == ["INVALID_INPUT"]


def test_source_calls_of_paying_are_pinned(
    shop: Shop, goods: Goods, alipay: AlipaySimulator
) -> None:
    order = placed(shop, goods, buyer=17, key="pinned-1")
    variables = {"id": order["id"], "provider": "ALIPAY", "channel": "QR_CODE", "back": None}
    token = shop.customer_token(17)
    created, calls = shop.live.calls_during(PAY, variables, token=token)
    trade_number = created["data"]["orderPaymentCreate"]["payment"]["tradeNumber"]
    assert calls == PAY_CALLS, calls

    before = shop.live.source_calls()
    assert notify(shop, alipay.pay(trade_number)).text == "success"
    after = shop.live.source_calls()
    applied = {
        f"{s}.{m}": int(n - before.get((s, m), 0))
        for (s, m), n in after.items()
        if n - before.get((s, m), 0) > 0
    }
    assert applied == NOTIFY_CALLS, applied

    # A page of orders reads its attempts, refunds and payments in one call each.
    listing = (
        "{ orders(first: 20) { edges { node { id "
        "paymentAttempts { status } refunds { status } payments { provider } } } } }"
    )
    _, calls = shop.live.calls_during(listing, token=manager(shop))
    assert calls == {
        "orders.list_orders": 1,
        "orders.payment_attempts_by_order_ids": 1,
        "orders.refunds_by_order_ids": 1,
        "orders.payments_by_order_ids": 1,
    }, calls


# The order (its loader), what is paid so far, the open attempts (a second click reuses
# one), the new attempt.
PAY_CALLS = {
    "orders.orders_by_ids": 1,
    "orders.payments_by_order_ids": 1,
    "orders.payment_attempts_by_order_ids": 1,
    "orders.create_payment_attempt": 1,
}
# The attempt by its trade number, then exactly orderMarkPaid's calls: the order, its
# payments, the payment (with the attempt, one transaction), and the follow-up (stock sold,
# parcels planned from the lines and products).
NOTIFY_CALLS = {
    "orders.payment_attempts_by_trade_nos": 1,
    "orders.orders_by_ids": 1,
    "orders.payments_by_order_ids": 1,
    "orders.record_payment": 1,
    "inventory.reservations_by_order_refs": 1,
    "inventory.commit_sale": 1,
    "orders.order_lines_by_order_ids": 1,
    "catalog.products_by_ids": 1,
    "orders.create_shipments": 1,
}
