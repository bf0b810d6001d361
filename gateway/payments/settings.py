"""Payment configuration, read with the rest of ``Settings`` (as its ``payments``).

A provider is on when its app id (Alipay) or merchant id (WeChat Pay) is set; then its keys
are required. Keys are PEM text or the bare base64 body the providers' consoles print.
Private keys and the WeChat API v3 key are SecretStr: they print as '**********' and no
error message shows them. The gateway URLs default to the providers' production hosts; set
them to a sandbox or a simulator.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    # An order nobody pays is cancelled (stock and coupon uses given back) this long after
    # it was placed. A presale whose deposit is paid is not: its balance waits for the
    # presale's end.
    order_payment_ttl_seconds: Annotated[
        int, Field(ge=60, le=7 * 86_400, validation_alias=_env("ORDER_PAYMENT_TTL"))
    ] = 1800
    # A presale whose deposit is paid waits for its balance until this long after the
    # presale ends; then it is cancelled (stock and coupon uses back, the deposit kept, as
    # presale deposits are: 定金不退).
    order_balance_ttl_seconds: Annotated[
        int, Field(ge=60, le=90 * 86_400, validation_alias=_env("ORDER_BALANCE_TTL"))
    ] = 86_400
    # The gateway's public address, for the providers' notifications
    # (<base>/payments/<provider>/notify).
    notify_base_url: Annotated[
        str, Field(pattern=r"^https?://", validation_alias=_env("PAYMENT_NOTIFY_BASE_URL"))
    ] = "http://127.0.0.1:8000"
    provider_timeout_seconds: Annotated[
        float, Field(gt=0, le=120, validation_alias=_env("PAYMENT_PROVIDER_TIMEOUT_SECONDS"))
    ] = 10.0

    alipay_app_id: Annotated[str | None, Field(validation_alias=_env("ALIPAY_APP_ID"))] = None
    alipay_app_private_key: Annotated[
        SecretStr | None, Field(validation_alias=_env("ALIPAY_APP_PRIVATE_KEY"))
    ] = None
    alipay_public_key: Annotated[str | None, Field(validation_alias=_env("ALIPAY_PUBLIC_KEY"))] = (
        None
    )
    alipay_gateway_url: Annotated[
        str, Field(pattern=r"^https?://", validation_alias=_env("ALIPAY_GATEWAY_URL"))
    ] = "https://openapi.alipay.com/gateway.do"

    wechatpay_mch_id: Annotated[str | None, Field(validation_alias=_env("WECHATPAY_MCH_ID"))] = None
    wechatpay_app_id: Annotated[str | None, Field(validation_alias=_env("WECHATPAY_APP_ID"))] = None
    wechatpay_private_key: Annotated[
        SecretStr | None, Field(validation_alias=_env("WECHATPAY_PRIVATE_KEY"))
    ] = None
    wechatpay_cert_serial_no: Annotated[
        str | None, Field(validation_alias=_env("WECHATPAY_CERT_SERIAL_NO"))
    ] = None
    wechatpay_apiv3_key: Annotated[
        SecretStr | None,
        Field(min_length=32, max_length=32, validation_alias=_env("WECHATPAY_APIV3_KEY")),
    ] = None
    wechatpay_public_key: Annotated[
        str | None, Field(validation_alias=_env("WECHATPAY_PUBLIC_KEY"))
    ] = None
    wechatpay_public_key_id: Annotated[
        str | None, Field(validation_alias=_env("WECHATPAY_PUBLIC_KEY_ID"))
    ] = None
    wechatpay_gateway_url: Annotated[
        str, Field(pattern=r"^https?://", validation_alias=_env("WECHATPAY_GATEWAY_URL"))
    ] = "https://api.mch.weixin.qq.com"

    @model_validator(mode="after")
    def _complete_providers(self) -> Self:
        if self.alipay_app_id:
            missing = [
                name
                for name, value in (
                    ("ALIPAY_APP_PRIVATE_KEY", self.alipay_app_private_key),
                    ("ALIPAY_PUBLIC_KEY", self.alipay_public_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"ALIPAY_APP_ID is set: {', '.join(missing)} required")
        if self.wechatpay_mch_id:
            missing = [
                name
                for name, value in (
                    ("WECHATPAY_APP_ID", self.wechatpay_app_id),
                    ("WECHATPAY_PRIVATE_KEY", self.wechatpay_private_key),
                    ("WECHATPAY_CERT_SERIAL_NO", self.wechatpay_cert_serial_no),
                    ("WECHATPAY_APIV3_KEY", self.wechatpay_apiv3_key),
                    ("WECHATPAY_PUBLIC_KEY", self.wechatpay_public_key),
                    ("WECHATPAY_PUBLIC_KEY_ID", self.wechatpay_public_key_id),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"WECHATPAY_MCH_ID is set: {', '.join(missing)} required")
        return self

    def notify_url(self, provider: str) -> str:
        return f"{self.notify_base_url.rstrip('/')}/payments/{provider}/notify"
