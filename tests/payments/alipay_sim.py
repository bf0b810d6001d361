"""An Alipay simulator on a loopback port: the open platform's gateway.do as documented
(common parameters and biz_content, RSA2 over the sorted parameters, answers as
``{"<method>_response": {...}, "sign": "..."}`` signed over the response object's exact
text), the trade bill download (a zip of a GBK CSV), and the asynchronous notification a
trade's payment sends (a form signed over its sorted parameters without sign and
sign_type). It checks every request's signature with the app's public key and signs with a
key of its own, so the SDK's real signing and the gateway's real verification both run.

Tests drive the buyer's side: ``pay`` marks a trade paid and returns its notification,
which the test posts (once, ten times, late, never); ``down`` makes it answer 503.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.conftest import _free_port
from tests.payments.keys import KeyPair

CHINA = timezone(timedelta(hours=8))
APP_ID = "2021000000000001"
PAID = "TRADE_SUCCESS"


@dataclass
class Trade:
    out_trade_no: str
    total_amount: Decimal
    subject: str
    trade_no: str
    notify_url: str | None
    status: str = "WAIT_BUYER_PAY"
    paid_at: datetime | None = None
    refunds: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)

    @property
    def refunded(self) -> Decimal:
        return sum((amount for amount, _ in self.refunds.values()), Decimal("0.00"))


def sign_content(params: dict[str, str]) -> bytes:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items())).encode()


class AlipaySimulator:
    def __init__(self, app_key: KeyPair, alipay_key: KeyPair) -> None:
        self.app_key = app_key  # the shop's: requests are checked with its public half
        self.alipay_key = alipay_key  # ours: answers and notifications are signed with it
        self.trades: dict[str, Trade] = {}
        self.requests: list[str] = []  # methods called, in order
        self.down = False
        self.refuse_refunds = False
        self.url = ""
        self._numbers = count(1)
        self._lock = threading.Lock()

    # -- the buyer's side ---------------------------------------------------------------

    def pay(self, out_trade_no: str, *, at: datetime | None = None) -> dict[str, str]:
        """The buyer pays in full: the trade is TRADE_SUCCESS, and here is the notification
        Alipay would send (the test decides whether it arrives)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            trade.status = PAID
            trade.paid_at = at or datetime.now(UTC)
        return self.notification(out_trade_no)

    def notification(
        self,
        out_trade_no: str,
        *,
        status: str | None = None,
        total_amount: str | None = None,
        signer: KeyPair | None = None,
        app_id: str = APP_ID,
    ) -> dict[str, str]:
        trade = self.trades[out_trade_no]
        paid_at = (trade.paid_at or datetime.now(UTC)).astimezone(CHINA)
        params = {
            "notify_time": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": f"sim{next(self._numbers)}",
            "app_id": app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": status or trade.status,
            "total_amount": total_amount or str(trade.total_amount),
            "receipt_amount": total_amount or str(trade.total_amount),
            "gmt_payment": paid_at.strftime("%Y-%m-%d %H:%M:%S"),
            "subject": trade.subject,
        }
        params["sign"] = (signer or self.alipay_key).sign(sign_content(params))
        params["sign_type"] = "RSA2"
        return params

    # -- the open platform ---------------------------------------------------------------

    def _answer(self, method: str, content: dict[str, Any]) -> Response:
        key = method.replace(".", "_") + "_response"
        inner = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        sign = self.alipay_key.sign(inner.encode())
        body = '{"' + key + '":' + inner + ',"sign":"' + sign + '"}'
        return Response(body.encode(), media_type="application/json;charset=utf-8")

    def _business_error(self, method: str, sub_code: str, sub_msg: str) -> Response:
        return self._answer(
            method,
            {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg},
        )

    async def gateway(self, request: Request) -> Response:
        if self.down:
            return Response("service unavailable", status_code=503)
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        method = params.get("method", "")
        sign = params.pop("sign", "")
        if not self.app_key.verify(sign_content(params), sign) or params.get("app_id") != APP_ID:
            return self._answer(
                method,
                {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                },
            )
        biz = json.loads(params.get("biz_content") or "{}")
        with self._lock:
            self.requests.append(method)
            return self._dispatch(method, biz, params)

    def _dispatch(self, method: str, biz: dict[str, Any], params: dict[str, str]) -> Response:
        if method in ("alipay.trade.precreate", "alipay.trade.wap.pay"):
            trade = self.trades.get(biz["out_trade_no"])
            if trade is None:
                trade = Trade(
                    out_trade_no=biz["out_trade_no"],
                    total_amount=Decimal(str(biz["total_amount"])),
                    subject=biz.get("subject", ""),
                    trade_no=f"2026{next(self._numbers):024d}",
                    notify_url=params.get("notify_url"),
                )
                self.trades[trade.out_trade_no] = trade
            if method == "alipay.trade.wap.pay":  # the buyer's browser lands on the cashier
                return HTMLResponse(f"<h1>Alipay cashier: {trade.total_amount}</h1>")
            return self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "out_trade_no": trade.out_trade_no,
                    "qr_code": f"https://qr.alipay.com/sim{trade.trade_no[-8:]}",
                },
            )
        if method == "alipay.trade.query":
            trade = self.trades.get(biz.get("out_trade_no", ""))
            if trade is None:
                return self._business_error(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
            return self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": trade.trade_no,
                    "out_trade_no": trade.out_trade_no,
                    "trade_status": trade.status,
                    "total_amount": str(trade.total_amount),
                },
            )
        if method == "alipay.trade.refund":
            return self._refund(method, biz)
        if method == "alipay.data.dataservice.bill.downloadurl.query":
            return self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "bill_download_url": f"{self.url}/bill/{biz['bill_date']}.zip",
                },
            )
        return self._business_error(method, "isv.invalid-method", method)

    def _refund(self, method: str, biz: dict[str, Any]) -> Response:
        if self.refuse_refunds:
            return self._answer(method, {"code": "20000", "msg": "Service Currently Unavailable"})
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return self._business_error(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != PAID:
            return self._business_error(method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        request_no = biz.get("out_request_no") or trade.out_trade_no
        amount = Decimal(str(biz["refund_amount"]))
        changed = "N"
        if request_no not in trade.refunds:  # the same out_request_no is the same refund
            if trade.refunded + amount > trade.total_amount:
                return self._business_error(
                    method, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"
                )
            trade.refunds[request_no] = (amount, datetime.now(UTC))
            changed = "Y"
        return self._answer(
            method,
            {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "fund_change": changed,
                "refund_fee": str(trade.refunded),
            },
        )

    async def bill(self, request: Request) -> Response:
        day = date.fromisoformat(request.path_params["day"])
        header = [
            "支付宝交易号",
            "商户订单号",
            "业务类型",
            "商品名称",
            "创建时间",
            "完成时间",
            "订单金额\uff08元\uff09",
            "商家实收\uff08元\uff09",
            "退款批次号/请求号",
            "备注",
        ]
        text = io.StringIO()
        text.write(f"#支付宝业务明细查询\n#账号\uff1a[2088000000000001]\n#起始日期\uff1a[{day}]\n")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        with self._lock:
            for trade in self.trades.values():
                if trade.paid_at and trade.paid_at.astimezone(CHINA).date() == day:
                    writer.writerow(
                        [
                            trade.trade_no,
                            trade.out_trade_no,
                            "交易",
                            trade.subject,
                            "",
                            "",
                            str(trade.total_amount),
                            str(trade.total_amount),
                            "",
                            "",
                        ]
                    )
                for request_no, (amount, at) in trade.refunds.items():
                    if at.astimezone(CHINA).date() == day:
                        writer.writerow(
                            [
                                trade.trade_no,
                                trade.out_trade_no,
                                "退款",
                                trade.subject,
                                "",
                                "",
                                str(trade.total_amount),
                                str(-amount),
                                request_no,
                                "",
                            ]
                        )
        text.write("#-----------------------------------------业务明细列表结束\n")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(
                f"2088000000000001_{day:%Y%m%d}_业务明细.csv", text.getvalue().encode("gbk")
            )
            zipped.writestr(
                f"2088000000000001_{day:%Y%m%d}_业务明细(汇总).csv", "#汇总\n".encode("gbk")
            )
        return Response(archive.getvalue(), media_type="application/zip")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/gateway.do", self.gateway, methods=["GET", "POST"]),
                Route("/bill/{day}.zip", self.bill),
            ]
        )


@contextmanager
def running_alipay(app_key: KeyPair, alipay_key: KeyPair) -> Iterator[AlipaySimulator]:
    simulator = AlipaySimulator(app_key, alipay_key)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(simulator.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the Alipay simulator did not start")
        time.sleep(0.02)
    simulator.url = f"http://127.0.0.1:{port}"
    try:
        yield simulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)
