"""Paying with WeChat Pay (API v3) end to end over real HTTP on SQLite and PostgreSQL,
against the WeChat Pay simulator (tests/payments/wechat_sim.py): the SDK signs requests with
the merchant key and verifies every answer with the platform key; notifications are
verified and decrypted with the API v3 key. Forged, undecryptable, replayed and
amount-changed notifications; a lost one found on the buyer's return; refunds; the bill."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway.payments.cashier import Cashier
from gateway.payments.reconcile import bill_day_bounds, reconcile
from gateway.payments.settings import PaymentSettings
from gateway.sources import Sources
from sources.orders.records import PaymentReconciliation
from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop, run
from tests.gateway.order_ops import CANCEL, amount, error_codes, manager, order_shop
from tests.payments.alipay_steps import CONFIRM, PAY, STATE
from tests.payments.keys import KeyPair
from tests.payments.wechat_sim import (
    APIV3_KEY,
    APP_ID,
    CHINA,
    MCH_ID,
    MERCHANT_SERIAL,
    PUBLIC_KEY_ID,
    WeChatSimulator,
    running_wechat,
)

NOTIFY = "/payments/wechat/notify"


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, KeyPair]:
    return KeyPair.generate(), KeyPair.generate()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def wechat(keys: tuple[KeyPair, KeyPair], backend: str) -> Iterator[WeChatSimulator]:
    with running_wechat(*keys) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def shop(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    keys: tuple[KeyPair, KeyPair],
    wechat: WeChatSimulator,
) -> Iterator[Shop]:
    merchant_key, platform_key = keys
    settings = PaymentSettings(
        wechatpay_mch_id=MCH_ID,
        wechatpay_app_id=APP_ID,
        wechatpay_private_key=merchant_key.private_pkcs8_pem,
        wechatpay_cert_serial_no=MERCHANT_SERIAL,
        wechatpay_apiv3_key=APIV3_KEY,
        wechatpay_public_key=platform_key.public_pem,
        wechatpay_public_key_id=PUBLIC_KEY_ID,
        wechatpay_gateway_url=wechat.url,
        provider_timeout_seconds=5,
    )
    yield from order_shop(tmp_path_factory, backend, "wechat", payments=settings)


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


@pytest.fixture(autouse=True)
def provider_up(wechat: WeChatSimulator) -> Iterator[None]:
    wechat.down = False
    yield
    wechat.down = False


def placed(shop: Shop, goods: Goods, *, buyer: int, key: str) -> dict[str, Any]:
    return shop.buy([(goods.take().id, 1)], token=shop.customer_token(buyer), key=key)


def pay(shop: Shop, order_id: str, *, buyer: int, channel: str = "QR_CODE") -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        PAY,
        {"id": order_id, "provider": "WECHAT", "channel": channel, "back": None},
        token=shop.customer_token(buyer),
    )["orderPaymentCreate"]
    return payload


def opened(shop: Shop, order_id: str, *, buyer: int) -> str:
    payload = pay(shop, order_id, buyer=buyer)
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["payment"]["qrCode"].startswith("weixin://wxpay/bizpayurl")
    return str(payload["payment"]["tradeNumber"])


def notify(shop: Shop, sent: tuple[dict[str, str], bytes]) -> httpx.Response:
    headers, body = sent
    return shop.live.client.post(NOTIFY, content=body, headers=headers)


def state(shop: Shop, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = shop.query(STATE, {"id": order_id}, token=manager(shop))["order"]
    return found


def test_a_buyer_pays_by_wechat_qr_code_once_however_often_wechat_says_so(
    shop: Shop, goods: Goods, wechat: WeChatSimulator
) -> None:
    order = placed(shop, goods, buyer=21, key="wx-1")
    trade_number = opened(shop, order["id"], buyer=21)
    sent = wechat.pay(trade_number)

    answers = [notify(shop, sent) for _ in range(3)]

    assert [(a.status_code, a.content) for a in answers] == [(200, b"")] * 3
    after = state(shop, order["id"])
    assert after["status"] == "PAID" and len(after["payments"]) == 1
    assert after["payments"][0]["provider"] == "WECHAT"
    assert after["payments"][0]["reference"] == wechat.trades[trade_number].transaction_id
    assert after["shipments"]


def test_a_phone_gets_the_h5_page(shop: Shop, goods: Goods) -> None:
    order = placed(shop, goods, buyer=22, key="wx-h5")
    payload = pay(shop, order["id"], buyer=22, channel="MOBILE_WEB")
    assert payload["userErrors"] == []
    assert payload["payment"]["redirectUrl"].startswith("https://wx.tenpay.com/")


def test_forged_or_undecryptable_notifications_get_400_and_change_nothing(
    shop: Shop, goods: Goods, wechat: WeChatSimulator
) -> None:
    order = placed(shop, goods, buyer=23, key="wx-forged")
    trade_number = opened(shop, order["id"], buyer=23)
    wechat.pay(trade_number)
    forged = wechat.notification(trade_number, signer=KeyPair.generate())
    wrong_key = wechat.notification(trade_number, apiv3_key="f" * 32)
    headers, body = wechat.notification(trade_number)
    tampered = (headers, body.replace(b'"nonce": "', b'"nonce": "0'))
    unsigned = ({"Content-Type": "application/json"}, body)

    for sent in (forged, wrong_key, tampered, unsigned):
        answer = notify(shop, sent)
        assert answer.status_code == 400
        assert answer.json()["code"] == "FAIL"
    assert state(shop, order["id"])["status"] == "PENDING_PAYMENT"


def test_another_amount_is_flagged_and_a_lost_notice_is_found_on_return(
    shop: Shop, goods: Goods, wechat: WeChatSimulator
) -> None:
    flagged_order = placed(shop, goods, buyer=24, key="wx-amount")
    flagged_trade = opened(shop, flagged_order["id"], buyer=24)
    wechat.pay(flagged_trade)
    assert notify(shop, wechat.notification(flagged_trade, total=1)).status_code == 200
    flagged = state(shop, flagged_order["id"])
    assert flagged["status"] == "PENDING_PAYMENT"
    assert flagged["paymentAttempts"][0]["status"] == "FLAGGED"

    lost_order = placed(shop, goods, buyer=25, key="wx-lost")
    lost_trade = opened(shop, lost_order["id"], buyer=25)
    wechat.pay(lost_trade)  # the notification never arrives
    back = shop.query(CONFIRM, {"id": lost_order["id"]}, token=shop.customer_token(25))
    assert back["orderPaymentConfirm"]["order"]["status"] == "PAID"


def test_wechat_down_leaves_the_order_payable(
    shop: Shop, goods: Goods, wechat: WeChatSimulator
) -> None:
    order = placed(shop, goods, buyer=26, key="wx-down")
    wechat.down = True
    assert error_codes(pay(shop, order["id"], buyer=26)) == ["PAYMENT_PROVIDER_UNAVAILABLE"]
    wechat.down = False
    assert notify(shop, wechat.pay(opened(shop, order["id"], buyer=26))).status_code == 200
    assert state(shop, order["id"])["status"] == "PAID"


def test_cancelling_a_paid_order_refunds_through_wechat_and_the_bill_agrees(
    shop: Shop, goods: Goods, wechat: WeChatSimulator
) -> None:
    order = placed(shop, goods, buyer=27, key="wx-refund")
    trade_number = opened(shop, order["id"], buyer=27)
    assert notify(shop, wechat.pay(trade_number)).status_code == 200
    cancelled = shop.query(
        CANCEL, {"id": order["id"], "reason": "damaged in the warehouse"}, token=manager(shop)
    )["orderCancel"]
    assert cancelled["userErrors"] == []
    (refund,) = state(shop, order["id"])["refunds"]
    assert refund["status"] == "SUCCEEDED" and refund["provider"] == "WECHAT"
    total = amount(order["cost"]["total"])
    assert sum(c for c, _ in wechat.trades[trade_number].refunds.values()) == int(total * 100)

    async def go() -> PaymentReconciliation:
        sources = Sources.from_settings(shop.settings)
        try:
            return await reconcile(
                sources,
                Cashier.from_settings(shop.settings),
                "wechat",
                datetime.now(CHINA).date(),
                now=datetime.now(UTC),
            )
        finally:
            await sources.close()

    result = run(go)
    assert result.refunds_matched >= 1 and result.payments_matched >= 1
    # Other tests of this module leave a flagged payment and a paid-but-untrusted trade on
    # the day; this order's payment and refund match.
    assert all(trade_number != d.out_trade_no for d in result.differences), result.differences
    assert {d.kind for d in result.differences} <= {"AMOUNT_MISMATCH", "PAID_WITHOUT_ORDER"}
    for d in result.differences:
        assert d.bill_amount != Decimal("0.01")  # the bill says what was really paid
    start, end = bill_day_bounds(result.day)
    assert start < datetime.now(UTC) < end
