"""A WeChat Pay API v3 simulator on a loopback port, in "WeChat Pay public key" mode: it
checks every request's Authorization (WECHATPAY2-SHA256-RSA2048 over method, path, timestamp,
nonce and body) with the merchant's public key, and signs every answer (Wechatpay-Signature
over timestamp, nonce and body) with its own key, whose id it names in Wechatpay-Serial.
Notifications carry the transaction encrypted with the API v3 key (AEAD_AES_256_GCM), as
documented. Native and H5 orders, query by out_trade_no, refunds (idempotent by
out_refund_no), the trade bill (gzip of the backtick-prefixed CSV)."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import count
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import _free_port
from tests.payments.keys import KeyPair

CHINA = timezone(timedelta(hours=8))
MCH_ID = "1900000109"
APP_ID = "wxd678efh567hg6787"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000001"
MERCHANT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD00000001"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
_AUTH = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class WeChatTrade:
    out_trade_no: str
    total: int  # cents
    description: str
    transaction_id: str
    notify_url: str
    state: str = "NOTPAY"
    paid_at: datetime | None = None
    refunds: dict[str, tuple[int, datetime]] = field(default_factory=dict)


class WeChatSimulator:
    def __init__(self, merchant_key: KeyPair, platform_key: KeyPair) -> None:
        self.merchant_key = merchant_key
        self.platform_key = platform_key
        self.trades: dict[str, WeChatTrade] = {}
        self.down = False
        self.url = ""
        self._numbers = count(1)
        self._lock = threading.Lock()

    # -- signing ----------------------------------------------------------------------------

    def signed_headers(self, body: str, signer: KeyPair | None = None) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n{body}\n".encode()
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": (signer or self.platform_key).sign(message),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _json(self, status: int, content: dict[str, Any]) -> Response:
        body = json.dumps(content, ensure_ascii=False)
        return Response(
            body.encode(),
            status_code=status,
            media_type="application/json",
            headers=self.signed_headers(body),
        )

    def _authorised(self, request: Request, body: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        fields = dict(_AUTH.findall(header))
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = f"{request.method}\n{path}\n{fields.get('timestamp')}\n"
        message += f"{fields.get('nonce_str')}\n{body}\n"
        return fields.get("mchid") == MCH_ID and self.merchant_key.verify(
            message.encode(), fields.get("signature", "")
        )

    # -- the buyer's side ---------------------------------------------------------------

    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        with self._lock:
            trade = self.trades[out_trade_no]
            trade.state, trade.paid_at = "SUCCESS", datetime.now(UTC)
        return self.notification(out_trade_no)

    def notification(
        self,
        out_trade_no: str,
        *,
        total: int | None = None,
        signer: KeyPair | None = None,
        apiv3_key: str = APIV3_KEY,
    ) -> tuple[dict[str, str], bytes]:
        """(headers, body) of the TRANSACTION.SUCCESS notification WeChat Pay would POST."""
        trade = self.trades[out_trade_no]
        resource = {
            "mchid": MCH_ID,
            "appid": APP_ID,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": "NATIVE",
            "trade_state": trade.state,
            "success_time": (trade.paid_at or datetime.now(UTC)).astimezone(CHINA).isoformat(),
            "amount": {
                "total": trade.total if total is None else total,
                "payer_total": trade.total if total is None else total,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), b"transaction"
        )
        body = json.dumps(
            {
                "id": f"EV-{next(self._numbers)}",
                "create_time": datetime.now(CHINA).isoformat(),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": "transaction",
                    "nonce": nonce,
                },
            }
        )
        headers = self.signed_headers(body, signer)
        headers["Content-Type"] = "application/json"
        return headers, body.encode()

    # -- the API ----------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        if self.down:
            return Response("", status_code=503)
        body = (await request.body()).decode()
        if not self._authorised(request, body):
            return self._json(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        path = request.url.path
        with self._lock:
            if path in ("/v3/pay/transactions/native", "/v3/pay/transactions/h5"):
                return self._create(path, json.loads(body))
            if path.startswith("/v3/pay/transactions/out-trade-no/"):
                trade = self.trades.get(path.rsplit("/", 1)[1])
                if trade is None:
                    return self._json(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
                return self._json(200, self._transaction(trade))
            if path == "/v3/refund/domestic/refunds":
                return self._refund(json.loads(body))
            if path == "/v3/bill/tradebill":
                day = request.query_params["bill_date"]
                return self._json(
                    200,
                    {
                        "download_url": f"{self.url}/v3/billdownload/file?day={day}",
                        "hash_type": "SHA1",
                        "hash_value": "-",
                    },
                )
            if path == "/v3/billdownload/file":
                return self._bill(date.fromisoformat(request.query_params["day"]))
        return self._json(404, {"code": "NOT_FOUND", "message": path})

    def _create(self, path: str, params: dict[str, Any]) -> Response:
        trade = self.trades.get(params["out_trade_no"])
        if trade is None:
            trade = WeChatTrade(
                out_trade_no=params["out_trade_no"],
                total=int(params["amount"]["total"]),
                description=params["description"],
                transaction_id=f"4200{next(self._numbers):024d}",
                notify_url=params["notify_url"],
            )
            self.trades[trade.out_trade_no] = trade
        if path.endswith("/h5"):
            return self._json(
                200, {"h5_url": f"https://wx.tenpay.com/sim?prepay={trade.transaction_id}"}
            )
        return self._json(
            200, {"code_url": f"weixin://wxpay/bizpayurl?pr=sim{trade.transaction_id[-6:]}"}
        )

    def _transaction(self, trade: WeChatTrade) -> dict[str, Any]:
        return {
            "mchid": MCH_ID,
            "appid": APP_ID,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_state": trade.state,
            "amount": {"total": trade.total, "currency": "CNY"},
        }

    def _refund(self, params: dict[str, Any]) -> Response:
        trade = self.trades.get(params.get("out_trade_no", ""))
        if trade is None or trade.state != "SUCCESS":
            return self._json(400, {"code": "INVALID_REQUEST", "message": "订单状态不合法"})
        number = params["out_refund_no"]
        refund = int(params["amount"]["refund"])
        if number not in trade.refunds:
            if sum(a for a, _ in trade.refunds.values()) + refund > trade.total:
                return self._json(400, {"code": "NOT_ENOUGH", "message": "退款金额超限"})
            trade.refunds[number] = (refund, datetime.now(UTC))
        return self._json(
            200,
            {
                "refund_id": f"5030{next(self._numbers):024d}",
                "out_refund_no": number,
                "out_trade_no": trade.out_trade_no,
                "status": "PROCESSING",
                "amount": {"refund": refund, "total": trade.total, "currency": "CNY"},
            },
        )

    def _bill(self, day: date) -> Response:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(
            [
                "交易时间",
                "公众账号ID",
                "商户号",
                "微信订单号",
                "商户订单号",
                "交易类型",
                "交易状态",
                "订单金额",
                "微信退款单号",
                "商户退款单号",
                "退款金额",
                "商品名称",
            ]
        )
        for trade in self.trades.values():
            if trade.paid_at and trade.paid_at.astimezone(CHINA).date() == day:
                writer.writerow(
                    [
                        f"`{x}"
                        for x in (
                            "",
                            APP_ID,
                            MCH_ID,
                            trade.transaction_id,
                            trade.out_trade_no,
                            "NATIVE",
                            "SUCCESS",
                            f"{trade.total / 100:.2f}",
                            "0",
                            "",
                            "0.00",
                            trade.description,
                        )
                    ]
                )
            for number, (cents, at) in trade.refunds.items():
                if at.astimezone(CHINA).date() == day:
                    writer.writerow(
                        [
                            f"`{x}"
                            for x in (
                                "",
                                APP_ID,
                                MCH_ID,
                                trade.transaction_id,
                                trade.out_trade_no,
                                "NATIVE",
                                "REFUND",
                                f"{trade.total / 100:.2f}",
                                "5030",
                                number,
                                f"{cents / 100:.2f}",
                                trade.description,
                            )
                        ]
                    )
        writer.writerow(["总交易单数", "应结订单总金额", "退款总金额"])
        writer.writerow(["`0", "`0.00", "`0.00"])
        return Response(
            gzip.compress(text.getvalue().encode()), media_type="application/octet-stream"
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v3/{rest:path}", self.api, methods=["GET", "POST"])])


@contextmanager
def running_wechat(merchant_key: KeyPair, platform_key: KeyPair) -> Iterator[WeChatSimulator]:
    simulator = WeChatSimulator(merchant_key, platform_key)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(simulator.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the WeChat Pay simulator did not start")
        time.sleep(0.02)
    simulator.url = f"http://127.0.0.1:{port}"
    try:
        yield simulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)
