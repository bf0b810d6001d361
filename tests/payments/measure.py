"""How long paying takes, end to end over HTTP against the Alipay simulator:
``python -m tests.payments.measure sqlite|postgresql``. Prints p50/p90 of
orderPaymentCreate (with its signed precreate round trip), of a first notification
(verify, pay, sell the stock, plan parcels) and of duplicate notifications."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.gateway.checkout_helpers import Goods, open_shop
from tests.payments.alipay_sim import running_alipay
from tests.payments.alipay_steps import NOTIFY, PAY, alipay_settings
from tests.payments.keys import KeyPair

ORDERS = 25
DUPLICATES = 3


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50 = 1000 * statistics.median(ordered)
    p90 = 1000 * ordered[int(len(ordered) * 0.9)]
    return f"p50 {p50:.1f} ms, p90 {p90:.1f} ms (n={len(ordered)})"


def main(backend: str) -> None:
    keys = (KeyPair.generate(), KeyPair.generate())
    with running_alipay(*keys) as simulator:
        directory = Path(tempfile.mkdtemp())
        settings = alipay_settings(keys, simulator)
        for shop in open_shop(backend, directory, payments=settings, cache={"enabled": False}):
            goods = Goods(shop.plain_skus())
            create: list[float] = []
            first: list[float] = []
            again: list[float] = []
            for i in range(ORDERS):
                token = shop.customer_token(1 + i % 30)
                order = shop.buy([(goods.common().id, 1)], token=token, key=f"measure-{i}")
                variables = {
                    "id": order["id"],
                    "provider": "ALIPAY",
                    "channel": "QR_CODE",
                    "back": None,
                }
                started = time.perf_counter()
                payload = shop.query(PAY, variables, token=token)["orderPaymentCreate"]
                create.append(time.perf_counter() - started)
                form = simulator.pay(payload["payment"]["tradeNumber"])
                for runs in (first, *[again] * DUPLICATES):
                    started = time.perf_counter()
                    assert shop.live.client.post(NOTIFY, data=form).text == "success"
                    runs.append(time.perf_counter() - started)
            print(f"{backend} orderPaymentCreate: {summary(create)}")
            print(f"{backend} first notification: {summary(first)}")
            print(f"{backend} duplicate notification: {summary(again)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
