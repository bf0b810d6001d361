"""What the Alipay tests share: the requests a storefront and the back office send, the
simulator's side of a payment, and small steps (an order placed, paid, swept at a given
time), each through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from gateway.checkout.sweeper import SweepReport, sweep
from gateway.payments.cashier import Cashier
from gateway.payments.settings import PaymentSettings
from gateway.sources import Sources
from tests.gateway.checkout_helpers import Goods, Shop, SkuFacts, run
from tests.gateway.order_ops import manager
from tests.payments.alipay_sim import APP_ID, AlipaySimulator
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


def alipay_settings(keys: tuple[KeyPair, KeyPair], simulator: AlipaySimulator) -> PaymentSettings:
    app_key, alipay_key = keys
    return PaymentSettings(
        alipay_app_id=APP_ID,
        alipay_app_private_key=app_key.private_pem,
        alipay_public_key=alipay_key.public_pem,
        alipay_gateway_url=f"{simulator.url}/gateway.do",
        provider_timeout_seconds=5,
    )


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


def alipay_paid(
    shop: Shop, goods: Goods, alipay: AlipaySimulator, *, buyer: int, key: str, units: int = 1
) -> tuple[dict[str, Any], str]:
    sku = goods.take()
    order = shop.buy([(sku.id, units)], token=shop.customer_token(buyer), key=key)
    trade_number = opened(shop, order["id"], buyer=buyer)["tradeNumber"]
    assert notify(shop, alipay.pay(trade_number)).text == "success"
    return order, trade_number


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
