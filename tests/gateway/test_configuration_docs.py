"""Every environment variable the gateway reads is in docs/configuration.md, the one page
an operator reads: the test walks the settings classes (gateway/settings.py and the
classes it nests), takes each field's variable names as pydantic-settings reads them
(its alias, or its prefix and name), and fails naming any the page does not mention."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic_settings import BaseSettings

from gateway.settings import Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _alias_names(alias: object) -> list[str]:
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [name for choice in alias.choices for name in _alias_names(choice)]
    if isinstance(alias, AliasPath) and alias.path and isinstance(alias.path[0], str):
        return [alias.path[0]]
    return []


def environment_variables(cls: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Each variable (as an operator writes it, upper case) and the field it sets."""
    if issubclass(cls, BaseSettings):
        prefix = cls.model_config.get("env_prefix", "") or prefix
    found: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found |= environment_variables(nested, prefix)
            continue
        names = _alias_names(field.validation_alias) + _alias_names(field.alias)
        if not names:
            names = [f"{prefix}{name}"]
        # The upper-case spelling is the documented one (lower case is accepted too).
        variable = next((n for n in names if n.isupper()), names[0].upper())
        found[variable] = f"{cls.__name__}.{name}"
    return found


def test_the_walk_finds_the_nested_settings() -> None:
    found = environment_variables(Settings)
    assert found["GATEWAY_PORT"] == "Settings.port"
    assert found["CACHE_LAST_KNOWN_HOURS"].startswith("CacheSettings.")
    assert found["MEDIA_STORAGE"] == "MediaSettings.storage"
    assert found["ALIPAY_APP_ID"] == "PaymentSettings.alipay_app_id"
    assert found["GATEWAY_JWT_JWKS_URL"] == "Settings.jwt_jwks_url"


def test_every_environment_variable_is_on_the_configuration_page() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", PAGE.read_text(encoding="utf-8")))
    missing = {
        variable: field
        for variable, field in environment_variables(Settings).items()
        if variable not in documented
    }
    assert not missing, f"not in docs/configuration.md (as `NAME`): {missing}"
