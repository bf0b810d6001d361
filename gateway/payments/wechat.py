"""WeChat Pay API v3 through wechatpayv3, in its "WeChat Pay public key" mode (the key and
its id from the merchant console; no platform certificates downloaded at start).

A desktop buyer gets a Native QR code (``code_url``); a phone goes to the H5 page
(``h5_url``). Every answer WeChat Pay sends is signed (Wechatpay-Signature over timestamp,
nonce and body) and the SDK verifies it; a notification is verified the same way and its
resource decrypted with the API v3 key (AES-256-GCM). It is answered 200 with no body when
taken, 4xx with {"code": "FAIL"} when not, so WeChat Pay retries. Amounts are in cents.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
from collections.abc import Mapping
from datetime import date, timedelta, timezone
from decimal import Decimal
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from sources.common.money import CENT
from sources.orders.records import PaymentActionKind

from .provider import (
    BadNotification,
    BillEntry,
    BillKind,
    Channel,
    NotifyAnswer,
    PaymentAction,
    PaymentOrder,
    ProviderRefused,
    ProviderTrade,
    ProviderUnavailable,
    RefundReceipt,
)

CHINA = timezone(timedelta(hours=8))


def _cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def _yuan(cents: object) -> Decimal:
    return (Decimal(int(str(cents))) * CENT).quantize(CENT)


class WeChatPayProvider:
    name = "wechat"

    def __init__(
        self,
        *,
        mch_id: str,
        app_id: str,
        private_key: str,
        cert_serial_no: str,
        apiv3_key: str,
        public_key: str,
        public_key_id: str,
        gateway_url: str,
        timeout_s: float,
    ) -> None:
        self._clients = {
            kind: WeChatPay(
                wechatpay_type=kind,
                mchid=mch_id,
                private_key=private_key,
                cert_serial_no=cert_serial_no,
                appid=app_id,
                apiv3_key=apiv3_key,
                public_key=public_key,
                public_key_id=public_key_id,
                timeout=timeout_s,
            )
            for kind in (WeChatPayType.NATIVE, WeChatPayType.H5)
        }
        for client in self._clients.values():
            # The SDK has no setting for its host; a sandbox or simulator is named here.
            client._core._gate_way = gateway_url.rstrip("/")
        self._native = self._clients[WeChatPayType.NATIVE]
        self._mch_id = mch_id

    def __repr__(self) -> str:  # never the keys
        return f"WeChatPayProvider(mch_id={self._mch_id!r})"

    async def _call(self, method: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            code, message = await asyncio.to_thread(method, **kwargs)
        except Exception as exc:  # connection errors, and the SDK's bare signature Exception
            raise ProviderUnavailable(f"wechat: {type(exc).__name__}") from None
        try:
            body = json.loads(message) if message else {}
        except (TypeError, ValueError):
            body = {}
        if code >= 500:
            raise ProviderUnavailable(f"wechat: HTTP {code}")
        return code, body

    async def create_payment(self, order: PaymentOrder) -> PaymentAction:
        mobile = order.channel is Channel.MOBILE_WEB
        client = self._clients[WeChatPayType.H5 if mobile else WeChatPayType.NATIVE]
        kwargs: dict[str, Any] = {
            "description": order.subject[:127],
            "out_trade_no": order.out_trade_no,
            "amount": {"total": _cents(order.amount), "currency": order.currency},
            "time_expire": order.expires_at.astimezone(CHINA).isoformat(timespec="seconds"),
            "notify_url": order.notify_url,
        }
        if mobile:
            kwargs["scene_info"] = {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}
        code, body = await self._call(client.pay, **kwargs)
        if code != 200:
            raise ProviderRefused(f"wechat: {body.get('code') or code}")
        if mobile:
            return PaymentAction(PaymentActionKind.REDIRECT_URL, str(body["h5_url"]))
        return PaymentAction(PaymentActionKind.QR_CODE, str(body["code_url"]))

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> ProviderTrade:
        wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("wechatpay-")}
        if "wechatpay-signature" not in wanted:
            raise BadNotification("unsigned")
        try:
            result = self._native.callback(wanted, body)
        except Exception:  # the SDK raises bare Exceptions for bad headers or keys
            raise BadNotification("signature does not verify") from None
        if not result or not isinstance(result.get("resource"), dict):
            raise BadNotification("signature does not verify")
        resource: dict[str, Any] = result["resource"]
        if resource.get("mchid") != self._mch_id:
            raise BadNotification("addressed to another merchant")
        amount = resource.get("amount") or {}
        return ProviderTrade(
            out_trade_no=str(resource.get("out_trade_no", "")),
            reference=resource.get("transaction_id"),
            is_paid=resource.get("trade_state") == "SUCCESS",
            amount=_yuan(amount.get("total", 0)),
            currency=str(amount.get("currency") or "CNY"),
            state=str(resource.get("trade_state", "")),
        )

    def answer(self, accepted: bool) -> NotifyAnswer:
        if accepted:
            return NotifyAnswer(200, b"", "application/json")
        return NotifyAnswer(400, b'{"code":"FAIL","message":"not accepted"}', "application/json")

    async def query_payment(self, out_trade_no: str) -> ProviderTrade | None:
        code, body = await self._call(self._native.query, out_trade_no=out_trade_no)
        if code == 404 or body.get("code") == "ORDER_NOT_EXIST":
            return None
        if code != 200:
            raise ProviderUnavailable(f"wechat: {body.get('code') or code}")
        amount = body.get("amount") or {}
        return ProviderTrade(
            out_trade_no=str(body.get("out_trade_no", out_trade_no)),
            reference=body.get("transaction_id"),
            is_paid=body.get("trade_state") == "SUCCESS",
            amount=_yuan(amount.get("total", 0)),
            currency=str(amount.get("currency") or "CNY"),
            state=str(body.get("trade_state", "")),
        )

    async def refund(
        self,
        *,
        out_trade_no: str,
        request_no: str,
        amount: Decimal,
        paid: Decimal,
        currency: str,
        reason: str,
    ) -> RefundReceipt:
        code, body = await self._call(
            self._native.refund,
            out_refund_no=request_no,
            amount={"refund": _cents(amount), "total": _cents(paid), "currency": currency},
            out_trade_no=out_trade_no,
            reason=reason[:80],
        )
        # PROCESSING: accepted under this out_refund_no; the money follows.
        if code == 200 and body.get("status") in ("SUCCESS", "PROCESSING"):
            return RefundReceipt(body.get("refund_id"))
        if code == 429:
            raise ProviderUnavailable("wechat: rate limited")
        raise ProviderRefused(f"wechat: {body.get('code') or body.get('status') or code}")

    async def download_bill(self, day: date) -> list[BillEntry]:
        code, body = await self._call(
            self._native.trade_bill, bill_date=day.isoformat(), tar_type="GZIP"
        )
        if code != 200 or not body.get("download_url"):
            raise ProviderRefused(f"wechat: {body.get('code') or code}")
        try:
            status, content = await asyncio.to_thread(
                self._native.download_bill, url=str(body["download_url"])
            )
        except Exception as exc:
            raise ProviderUnavailable(f"wechat bill: {type(exc).__name__}") from None
        if status != 200:
            raise ProviderUnavailable(f"wechat bill: HTTP {status}")
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8")
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        return parse_bill(text)


def parse_bill(text: str) -> list[BillEntry]:
    """WeChat Pay's trade bill (bill_type ALL): a header row, one row per payment or refund
    with every field prefixed by a backtick, then a summary header and row. Columns used:
    微信订单号, 商户订单号, 交易状态 (SUCCESS / REFUND), 应结订单金额 or 订单金额,
    商户退款单号, 退款金额."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    column = {h: i for i, h in enumerate(header)}
    entries: list[BillEntry] = []
    for row in rows[1:]:
        cells = [c.strip().lstrip("`") for c in row]
        if len(cells) < len(header):
            break  # the summary section starts
        state = cells[column["交易状态"]]
        if state == "REFUND":
            entries.append(
                BillEntry(
                    kind=BillKind.REFUND,
                    out_trade_no=cells[column["商户订单号"]],
                    reference=cells[column["微信订单号"]] or None,
                    amount=Decimal(cells[column["退款金额"]]),
                    request_no=cells[column["商户退款单号"]] or None,
                )
            )
        elif state == "SUCCESS":
            entries.append(
                BillEntry(
                    kind=BillKind.PAYMENT,
                    out_trade_no=cells[column["商户订单号"]],
                    reference=cells[column["微信订单号"]] or None,
                    amount=Decimal(cells[column["订单金额"]]),
                )
            )
    return entries
