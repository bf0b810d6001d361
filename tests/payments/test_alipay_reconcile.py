"""`gateway payments reconcile --date D` against the Alipay simulator's bill, on SQLite and
PostgreSQL: every kind of difference the day holds is listed, nothing that matches is, no
key shows, and the settlement shows the reconciled day. One test per module on purpose:
the day's bill must hold exactly this test's trades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from gateway import cli
from tests.gateway.checkout_helpers import Goods, Shop
from tests.gateway.order_ops import CANCEL, manager
from tests.payments.alipay_sim import APP_ID, CHINA, AlipaySimulator, Trade
from tests.payments.alipay_steps import SETTLEMENT, alipay_paid, notify, opened, placed, sweep_at
from tests.payments.keys import KeyPair

pytestmark = pytest.mark.usefixtures("provider_up")


def test_reconcile_lists_every_difference_and_the_settlement_shows_it(
    shop: Shop,
    goods: Goods,
    alipay: AlipaySimulator,
    keys: tuple[KeyPair, KeyPair],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Matched: a payment, and a payment refunded by a staff cancel.
    alipay_paid(shop, goods, alipay, buyer=1, key="rec-paid")
    refunded_order, refunded_trade = alipay_paid(shop, goods, alipay, buyer=2, key="rec-refund")
    cancel = {"id": refunded_order["id"], "reason": "damaged"}
    assert shop.query(CANCEL, cancel, token=manager(shop))["orderCancel"]["userErrors"] == []
    # ... whose refund Alipay's bill then loses.
    lost_request, _ = alipay.trades[refunded_trade].refunds.popitem()
    # A notification with another amount: flagged.
    flagged = placed(shop, goods, buyer=3, key="rec-flagged")
    flagged_trade = opened(shop, flagged["id"], buyer=3)["tradeNumber"]
    alipay.pay(flagged_trade)
    assert notify(shop, alipay.notification(flagged_trade, total_amount="0.01")).text == "success"
    # Paid after the order expired: refunded (and that refund matches).
    late = placed(shop, goods, buyer=4, key="rec-late")
    late_trade = opened(shop, late["id"], buyer=4)["tradeNumber"]
    sweep_at(shop, datetime.now(UTC) + timedelta(minutes=31))
    assert notify(shop, alipay.pay(late_trade)).text == "success"
    # Money Alipay took for nothing the shop knows.
    stranger = Trade("STRANGER0001", Decimal("12.30"), "?", "2026000000000000000000009999", None)
    stranger.status, stranger.paid_at = "TRADE_SUCCESS", datetime.now(UTC)
    alipay.trades[stranger.out_trade_no] = stranger

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
    assert printed.splitlines()[0] == (
        f"alipay {today}: 2 payments and 1 refunds match; 4 differences"
    ), printed
    found = {line.split()[0]: line for line in printed.splitlines()[1:]}
    assert sorted(found) == [
        "AMOUNT_MISMATCH",
        "LATE_PAYMENT",
        "PAID_WITHOUT_ORDER",
        "REFUND_MISSING",
    ], printed
    assert flagged_trade in found["AMOUNT_MISMATCH"]
    assert late_trade in found["LATE_PAYMENT"]
    assert "STRANGER0001" in found["PAID_WITHOUT_ORDER"]
    assert lost_request in found["REFUND_MISSING"]
    assert app_key.private_pem.splitlines()[1] not in printed  # no key in any report

    settled = shop.query(
        SETTLEMENT,
        {"from": f"{today}T00:00:00+08:00", "to": f"{today + timedelta(days=1)}T00:00:00+08:00"},
        token=shop.staff_token("VIEW_FINANCE"),
    )["settlement"]
    (day,) = settled["reconciliations"]
    assert (day["provider"], day["day"], day["isReconciled"]) == ("alipay", str(today), False)
    assert (day["paymentsMatched"], day["refundsMatched"]) == (2, 1)
    assert sorted(d["kind"] for d in day["differences"]) == sorted(found)
    stranger_line = next(d for d in day["differences"] if d["kind"] == "PAID_WITHOUT_ORDER")
    assert (stranger_line["tradeNumber"], stranger_line["billAmount"]) == ("STRANGER0001", "12.30")
