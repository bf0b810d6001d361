"""The providers this gateway is configured for, by name: ``manual`` always, Alipay and
WeChat Pay when their settings are given (see settings.py)."""

from __future__ import annotations

from collections.abc import Mapping

from .provider import PaymentProvider
from .settings import PaymentSettings

MANUAL = "manual"
ALIPAY = "alipay"
WECHAT = "wechat"


def build_providers(settings: PaymentSettings) -> dict[str, PaymentProvider]:
    from .manual import ManualProvider

    providers: dict[str, PaymentProvider] = {MANUAL: ManualProvider()}
    if settings.alipay_app_id:
        from .alipay import AlipayProvider

        assert settings.alipay_app_private_key and settings.alipay_public_key
        providers[ALIPAY] = AlipayProvider(
            app_id=settings.alipay_app_id,
            app_private_key=settings.alipay_app_private_key.get_secret_value(),
            alipay_public_key=settings.alipay_public_key,
            gateway_url=settings.alipay_gateway_url,
            timeout_s=settings.provider_timeout_seconds,
        )
    if settings.wechatpay_mch_id:  # settings checked the rest is there
        from .wechat import WeChatPayProvider

        s = settings
        assert (
            s.wechatpay_mch_id
            and s.wechatpay_private_key
            and s.wechatpay_apiv3_key
            and s.wechatpay_app_id
        )
        assert s.wechatpay_cert_serial_no and s.wechatpay_public_key and s.wechatpay_public_key_id
        providers[WECHAT] = WeChatPayProvider(
            mch_id=s.wechatpay_mch_id,
            app_id=s.wechatpay_app_id,
            private_key=s.wechatpay_private_key.get_secret_value(),
            cert_serial_no=s.wechatpay_cert_serial_no,
            apiv3_key=s.wechatpay_apiv3_key.get_secret_value(),
            public_key=s.wechatpay_public_key,
            public_key_id=s.wechatpay_public_key_id,
            gateway_url=s.wechatpay_gateway_url,
            timeout_s=s.provider_timeout_seconds,
        )
    return providers


def provider_named(providers: Mapping[str, PaymentProvider], name: str) -> PaymentProvider | None:
    return providers.get(name.lower())
