"""Paying with Alipay, end to end over real HTTP on SQLite and PostgreSQL, against the
Alipay simulator (tests/payments/alipay_sim.py) with RSA keys made for the run: the buyer
opens a payment, the simulator's signed notification (or the buyer's return) pays the
order exactly as orderMarkPaid does; forged, replayed, reordered and amount-changed
notifications change nothing they should not; unpaid orders expire and give their stock
and coupon use back once; money after the cancellation, staff cancels and completed
returns are refunded through Alipay, once, retried while Alipay is down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway import cli
from gateway.checkout.sweeper import SweepReport, sweep
from gateway.payments.cashier import Cashier
from gateway.payments.settings import PaymentSettings
from gateway.sources import Sources
from tests.gateway.checkout_helpers import (
    BACKENDS,
    CHECKOUT,
    Goods,
    Shop,
    SkuFacts,
    global_id,
    post_all,
    run,
)
from tests.gateway.order_ops import (
    CANCEL,
    ORDER_QUERY,
    amount,
    ask,
    complete,
    delivered_order,
    error_codes,
    manager,
    order_shop,
    resolve,
)
from tests.payments.alipay_sim import APP_ID, CHINA, AlipaySimulator, Trade, running_alipay
from tests.payments.keys import KeyPair

USER_ERRORS = "userErrors { code field message }"
ATTEMPT = """
  provider stage status amount { amount currency } reference tradeNumber
  redirectUrl qrCode expiresAt paidAt note
"""
REFUND = "provider stage status amount { amount } reason tries lastError reference"
PAYMENT_STATE = f"""
  id status paymentDueBy
  payments {{ stage amount {{ amount }} provider reference }}
  paymentAttempts {{ {ATTEMPT} }}
  refunds {{ {REFUND} }}
  shipments {{ id }}
"""
PAY = f"""
mutation Pay($id: ID!, $provider: PaymentProvider!, $channel: PaymentChannel!, $back: String) {{
  orderPaymentCreate(orderId: $id, provider: $provider, channel: $channel, returnUrl: $back) {{
    payment {{ {ATTEMPT} }} order {{ id status }} {USER_ERRORS}
  }}
}}"""
CONFIRM = f"""
mutation Back($id: ID!) {{
  orderPaymentConfirm(orderId: $id) {{ order {{ {PAYMENT_STATE} }} {USER_ERRORS} }}
}}"""
STATE = f"query State($id: ID!) {{ order(id: $id) {{ {PAYMENT_STATE} }} }}"
NOTIFY = "/payments/alipay/notify"
SETTLEMENT = """
query Settlement($from: DateTime!, $to: DateTime!) {
  settlement(from: $from, to: $to) {
    reconciliations {
      provider day isReconciled paymentsMatched refundsMatched
      differences { kind tradeNumber refundNumber shopAmount billAmount note }
    }
  }
}"""


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, KeyPair]:
    return KeyPair.generate(), KeyPair.generate()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def alipay(keys: tuple[KeyPair, KeyPair], backend: str) -> Iterator[AlipaySimulator]:
    """One simulator per shop, so each shop's bill holds only its own trades."""
    with running_alipay(*keys) as simulator:
        yield simulator


def alipay_settings(keys: tuple[KeyPair, KeyPair], simulator: AlipaySimulator) -> PaymentSettings:
    app_key, alipay_key = keys
    return PaymentSettings(
        alipay_app_id=APP_ID,
        alipay_app_private_key=app_key.private_pem,
        alipay_public_key=alipay_key.public_pem,
        alipay_gateway_url=f"{simulator.url}/gateway.do",
        provider_timeout_seconds=5,
    )


@pytest.fixture(scope="module")
def shop(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    keys: tuple[KeyPair, KeyPair],
    alipay: AlipaySimulator,
) -> Iterator[Shop]:
    yield from order_shop(
        tmp_path_factory, backend, "alipay", payments=alipay_settings(keys, alipay)
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


@pytest.fixture(autouse=True)
def provider_up(alipay: AlipaySimulator) -> Iterator[None]:
    alipay.down = alipay.refuse_refunds = False
    yield
    alipay.down = alipay.refuse_refunds = False


# -- steps as a storefront and the provider take them ---------------------------------------


def placed(shop: Shop, goods: Goods, *, buyer: int, key: str, **kw: Any) -> dict[str, Any]:
    sku = goods.take()
    order = shop.buy([(sku.id, 1)], token=shop.customer_token(buyer), key=key, **kw)
    return {**order, "sku": sku}


def pay(
    shop: Shop, order_id: str, *, buyer: int, channel: str = "QR_CODE", back: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        PAY,
        {"id": order_id, "provider": "ALIPAY", "channel": channel, "back": back},
        token=shop.customer_token(buyer),
    )["orderPaymentCreate"]
    return payload


def opened(shop: Shop, order_id: str, *, buyer: int) -> dict[str, Any]:
    payload = pay(shop, order_id, buyer=buyer)
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["payment"]  # type: ignore[no-any-return]


def notify(shop: Shop, form: dict[str, str]) -> httpx.Response:
    return shop.live.client.post(NOTIFY, data=form)


def state(shop: Shop, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = shop.query(STATE, {"id": order_id}, token=manager(shop))["order"]
    return found


def confirm(shop: Shop, order_id: str, *, buyer: int) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        CONFIRM, {"id": order_id}, token=shop.customer_token(buyer)
    )["orderPaymentConfirm"]
    return payload


def sweep_at(shop: Shop, now: datetime) -> SweepReport:
    async def go() -> SweepReport:
        sources = Sources.from_settings(shop.settings)
        try:
            return await sweep(sources, now, Cashier.from_settings(shop.settings))
        finally:
            await sources.close()

    return run(go)


def order_ref(shop: Shop, order: dict[str, Any]) -> str:
    found: str = shop.scalar(
        "orders", "SELECT order_ref FROM orders WHERE number = :n", {"n": order["number"]}
    )
    return found


def status_moves(shop: Shop, number: str) -> list[tuple[str | None, str]]:
    pk = int(shop.scalar("orders", "SELECT id FROM orders WHERE number = :n", {"n": number}))
    return [
        (a, b)
        for a, b in shop.sql(
            "orders",
            "SELECT from_status, to_status FROM order_status_changes WHERE order_id = :o "
            "ORDER BY id",
            {"o": pk},
        )
    ]


# -- paying -------------------------------------------------------------------------------


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


# -- unpaid orders expire ----------------------------------------------------------------


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

    second_round = [
        shop.buy([(sku.id, 1)], token=shop.customer_token(n), key=f"flash2-{n}") for n in losers[:2]
    ]
    assert all(o["status"] == "PENDING_PAYMENT" for o in second_round)
    assert shop.available(sku.id) == 0
    refused = shop.create_cart([(sku.id, 1)], token=shop.customer_token(losers[2]))
    assert refused["cart"]["validation"]["ok"] is False  # sold out again, never oversold


# -- refunds ------------------------------------------------------------------------------


def alipay_paid(
    shop: Shop, goods: Goods, alipay: AlipaySimulator, *, buyer: int, key: str, units: int = 1
) -> tuple[dict[str, Any], str]:
    sku = goods.take()
    order = shop.buy([(sku.id, units)], token=shop.customer_token(buyer), key=key)
    trade_number = opened(shop, order["id"], buyer=buyer)["tradeNumber"]
    assert notify(shop, alipay.pay(trade_number)).text == "success"
    return order, trade_number


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


def open_presale(shop: Shop) -> SkuFacts:
    now = datetime.now(UTC)
    for sku in shop.skus():
        if (
            sku.is_presale
            and sku.is_published
            and sku.is_active
            and sku.available >= 2
            and sku.presale_starts_at is not None
            and sku.presale_ends_at is not None
            and sku.presale_starts_at < now < sku.presale_ends_at
        ):
            return sku
    raise AssertionError("the demo shop has no open presale")


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


# -- reconciliation (runs last: it reads the day every test above wrote) -------------------


def test_reconcile_lists_every_difference_and_the_settlement_shows_it(
    shop: Shop,
    alipay: AlipaySimulator,
    keys: tuple[KeyPair, KeyPair],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Money Alipay took for nothing the shop knows; a refund the shop made that Alipay's
    # bill lost.
    stranger = Trade("STRANGER0001", Decimal("12.30"), "?", "2026000000000000000000009999", None)
    stranger.status, stranger.paid_at = "TRADE_SUCCESS", datetime.now(UTC)
    alipay.trades[stranger.out_trade_no] = stranger
    refunded = [t for t in alipay.trades.values() if t.refunds]
    lost_request, _ = refunded[-1].refunds.popitem()

    app_key, alipay_key = keys
    for name, url in shop.urls.items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    monkeypatch.setenv("ALIPAY_APP_ID", APP_ID)
    monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", app_key.private_pem)
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", alipay_key.public_pem)
    monkeypatch.setenv("ALIPAY_GATEWAY_URL", f"{alipay.url}/gateway.do")
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "console")
    today = datetime.now(CHINA).date()

    status = cli.main(["payments", "reconcile", "--date", today.isoformat()])

    printed = capsys.readouterr().out
    assert status == 1, printed
    kinds = sorted(line.split()[0] for line in printed.splitlines()[1:])
    assert kinds == [
        "AMOUNT_MISMATCH",  # the flagged notification
        "LATE_PAYMENT",  # paid after expiry, refunded
        # (The forged notifications' trade was paid at Alipay: the expiry sweep asked Alipay
        # before cancelling and applied it, so it matches.)
        "PAID_WITHOUT_ORDER",  # the stranger
        "REFUND_MISSING",  # the refund the bill lost
    ], printed
    assert "STRANGER0001" in printed and lost_request in printed
    assert app_key.private_pem.splitlines()[1] not in printed  # no key in any report

    settled = shop.query(
        SETTLEMENT,
        {"from": f"{today}T00:00:00+08:00", "to": f"{today + timedelta(days=1)}T00:00:00+08:00"},
        token=shop.staff_token("VIEW_FINANCE"),
    )["settlement"]
    (day,) = settled["reconciliations"]
    assert (day["provider"], day["day"], day["isReconciled"]) == ("alipay", str(today), False)
    assert day["paymentsMatched"] >= 10 and day["refundsMatched"] >= 3
    assert sorted(d["kind"] for d in day["differences"]) == kinds
