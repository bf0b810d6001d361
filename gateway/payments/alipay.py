"""Alipay through python-alipay-sdk, RSA2 both ways.

A desktop buyer gets a QR code (alipay.trade.precreate, a server call whose signed answer
carries the code); a phone goes to the mobile-web payment page (alipay.trade.wap.pay, a
signed URL built locally). Every answer from Alipay is verified by the SDK with Alipay's
public key before we read it. The asynchronous notification is a form POST signed with
Alipay's key over its sorted parameters (without sign and sign_type); it is answered with
the word ``success``, anything else and Alipay retries. The SDK is synchronous, so its calls
run in a worker thread; it is built with ``verbose=False``, so nothing it signs is logged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import urllib.request
import zipfile
from collections.abc import Mapping
from datetime import date, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.utils import AliPayConfig

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
PAID_STATES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
SUCCESS = "10000"
ORDER_AMOUNT = "订单金额\uff08元\uff09"
RECEIVED = "商家实收\uff08元\uff09"


def _pem(key: str, kind: str) -> str:
    """A PEM as the SDK wants it; the bare base64 body Alipay's console prints is wrapped."""
    key = key.strip()
    if key.startswith("-----"):
        return key
    return f"-----BEGIN {kind}-----\n{key}\n-----END {kind}-----"


def _amount(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BadNotification(f"not an amount: {value!r}") from None


class AlipayProvider:
    name = "alipay"

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: str,
        alipay_public_key: str,
        gateway_url: str,
        timeout_s: float,
    ) -> None:
        self._client = AliPay(
            appid=app_id,
            app_private_key_string=_pem(app_private_key, "RSA PRIVATE KEY"),
            alipay_public_key_string=_pem(alipay_public_key, "PUBLIC KEY"),
            sign_type="RSA2",
            verbose=False,
            config=AliPayConfig(timeout=timeout_s),
        )
        # The SDK picks production or its sandbox; any other gateway (a simulator) is named
        # here, the one attribute every request URL is built from.
        self._client._gateway = gateway_url
        self._gateway = gateway_url
        self._app_id = app_id
        self._timeout = timeout_s

    def __repr__(self) -> str:  # never the keys
        return f"AlipayProvider(app_id={self._app_id!r})"

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The verified ``*_response`` object; ProviderUnavailable when Alipay did not
        answer, or its signature did not verify (a bad answer decides nothing)."""
        try:
            answer: dict[str, Any] = await asyncio.to_thread(method, *args, **kwargs)
        except Exception as exc:  # socket errors, AliPayException, AliPayValidationError
            raise ProviderUnavailable(f"alipay: {type(exc).__name__}") from None
        return answer

    async def create_payment(self, order: PaymentOrder) -> PaymentAction:
        expire = order.expires_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        if order.channel is Channel.MOBILE_WEB:
            signed = await asyncio.to_thread(
                self._client.api_alipay_trade_wap_pay,
                subject=order.subject[:256],
                out_trade_no=order.out_trade_no,
                total_amount=str(order.amount),
                return_url=order.return_url,
                notify_url=order.notify_url,
                time_expire=expire,
            )
            return PaymentAction(PaymentActionKind.REDIRECT_URL, f"{self._gateway}?{signed}")
        answer = await self._call(
            self._client.api_alipay_trade_precreate,
            subject=order.subject[:256],
            out_trade_no=order.out_trade_no,
            total_amount=str(order.amount),
            notify_url=order.notify_url,
            time_expire=expire,
        )
        if answer.get("code") != SUCCESS or not answer.get("qr_code"):
            raise ProviderRefused(f"alipay: {answer.get('sub_code') or answer.get('code')}")
        return PaymentAction(PaymentActionKind.QR_CODE, str(answer["qr_code"]))

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> ProviderTrade:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadNotification("not UTF-8") from None
        sign = params.pop("sign", "")
        if params.get("sign_type", "RSA2") != "RSA2" or not sign:
            raise BadNotification("unsigned or not RSA2")
        try:
            verified = self._client.verify(params, sign)
        except Exception:  # a malformed signature (bad base64, wrong length)
            verified = False
        if not verified:
            raise BadNotification("signature does not verify")
        if params.get("app_id") != self._app_id:
            raise BadNotification("addressed to another app")
        return ProviderTrade(
            out_trade_no=params.get("out_trade_no", ""),
            reference=params.get("trade_no") or None,
            is_paid=params.get("trade_status") in PAID_STATES,
            amount=_amount(params.get("total_amount", "")),
            currency=params.get("trans_currency") or "CNY",
            state=params.get("trade_status", ""),
        )

    def answer(self, accepted: bool) -> NotifyAnswer:
        return NotifyAnswer(200, b"success" if accepted else b"fail", "text/plain")

    async def query_payment(self, out_trade_no: str) -> ProviderTrade | None:
        answer = await self._call(self._client.api_alipay_trade_query, out_trade_no=out_trade_no)
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        if answer.get("code") != SUCCESS:
            raise ProviderUnavailable(f"alipay: {answer.get('sub_code') or answer.get('code')}")
        return ProviderTrade(
            out_trade_no=str(answer.get("out_trade_no", out_trade_no)),
            reference=answer.get("trade_no"),
            is_paid=answer.get("trade_status") in PAID_STATES,
            amount=Decimal(str(answer.get("total_amount", "0"))),
            currency=str(answer.get("trans_currency") or "CNY"),
            state=str(answer.get("trade_status", "")),
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
        answer = await self._call(
            self._client.api_alipay_trade_refund,
            refund_amount=str(amount),
            out_trade_no=out_trade_no,
            out_request_no=request_no,
            refund_reason=reason[:256],
        )
        if answer.get("code") == SUCCESS:
            return RefundReceipt(answer.get("trade_no"))
        if answer.get("code") == "20000" or answer.get("sub_code") == "ACQ.SYSTEM_ERROR":
            raise ProviderUnavailable(f"alipay: {answer.get('sub_code') or answer.get('code')}")
        raise ProviderRefused(f"alipay: {answer.get('sub_code') or answer.get('code')}")

    async def download_bill(self, day: date) -> list[BillEntry]:
        answer = await self._call(
            self._client.server_api,
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        if answer.get("code") != SUCCESS or not answer.get("bill_download_url"):
            raise ProviderRefused(f"alipay: {answer.get('sub_code') or answer.get('code')}")
        url = str(answer["bill_download_url"])
        try:
            raw = await asyncio.to_thread(self._download, url)
        except OSError as exc:
            raise ProviderUnavailable(f"alipay bill: {type(exc).__name__}") from None
        return parse_bill(raw)

    def _download(self, url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=self._timeout) as response:
            body: bytes = response.read()
        return body


def parse_bill(raw: bytes) -> list[BillEntry]:
    """Alipay's trade bill: a zip holding a GBK CSV of the day's business lines ("业务明细"),
    comment lines starting with '#', one header row, then one row per payment or refund:
    支付宝交易号, 商户订单号, 业务类型 (交易 / 退款), ..., the order amount in yuan, ...,
    退款批次号/请求号 (the header names use full-width brackets, hence the escapes)."""
    entries: list[BillEntry] = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for name in archive.namelist():
            if "汇总" in name:  # the summary file: totals only
                continue
            text = archive.read(name).decode("gbk")
            rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
            if not rows:
                continue
            header = [h.strip() for h in rows[0]]
            column = {h: i for i, h in enumerate(header)}
            for row in rows[1:]:
                cells = [c.strip() for c in row]
                if len(cells) < len(header) or not cells[column["商户订单号"]]:
                    continue
                kind = BillKind.REFUND if cells[column["业务类型"]] == "退款" else BillKind.PAYMENT
                # A refund row carries the trade's amount and, as what the shop received, the
                # refund as a negative number.
                amount = abs(Decimal(cells[column[ORDER_AMOUNT]]))
                if kind is BillKind.REFUND and RECEIVED in column:
                    amount = abs(Decimal(cells[column[RECEIVED]]))
                entries.append(
                    BillEntry(
                        kind=kind,
                        out_trade_no=cells[column["商户订单号"]],
                        reference=cells[column["支付宝交易号"]] or None,
                        amount=amount,
                        request_no=(cells[column.get("退款批次号/请求号", -1)] or None)
                        if kind is BillKind.REFUND
                        else None,
                    )
                )
    return entries
