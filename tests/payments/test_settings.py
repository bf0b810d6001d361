"""Payment configuration: a provider half-configured stops the start with one clear line,
and no private key or API v3 key ever shows, in an error, a repr or a provider."""

from __future__ import annotations

import pytest

from gateway.payments.registry import build_providers
from gateway.payments.settings import PaymentSettings
from gateway.settings import ConfigurationError, load_settings
from tests.payments.keys import KeyPair


def test_a_half_configured_provider_is_refused_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = KeyPair.generate()
    monkeypatch.setenv("ALIPAY_APP_ID", "2021000000000001")
    monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", key.private_pem)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value) == (
        "configuration error: ALIPAY_APP_ID is set: ALIPAY_PUBLIC_KEY required"
    )


def test_keys_never_show_in_errors_or_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    app, alipay = KeyPair.generate(), KeyPair.generate()
    secret_line = app.private_pem.splitlines()[1]
    monkeypatch.setenv("WECHATPAY_MCH_ID", "1900000109")
    monkeypatch.setenv("WECHATPAY_PRIVATE_KEY", app.private_pkcs8_pem)
    monkeypatch.setenv("WECHATPAY_APIV3_KEY", "too-short-and-secret")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "too-short-and-secret" not in str(refused.value)
    assert secret_line not in str(refused.value)
    assert "WECHATPAY_APIV3_KEY" in str(refused.value)
    for name in ("WECHATPAY_MCH_ID", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_APIV3_KEY"):
        monkeypatch.delenv(name)

    settings = PaymentSettings(
        alipay_app_id="2021000000000001",
        alipay_app_private_key=app.private_pem,
        alipay_public_key=alipay.public_pem,
    )
    assert secret_line not in repr(settings) and secret_line not in str(settings.model_dump())
    providers = build_providers(settings)
    assert sorted(providers) == ["alipay", "manual"]
    assert secret_line not in repr(providers["alipay"])
