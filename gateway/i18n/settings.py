"""Language settings (GATEWAY_DEFAULT_LANGUAGE, GATEWAY_LANGUAGES), read with the rest of
``Settings`` (its ``languages`` field).

A shop set up with ``gateway init`` names its languages in its profile, the first the
default (``shop { languages }``); the gateway takes both from there unless these variables
are set (gateway/setup/shop.py), as it does the currency. Without a profile (the demo
shop) the default is Simplified Chinese, and English is offered too.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A BCP 47 tag as shops write them: a language, then a script or region (zh-CN, en, zh-Hant).
LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class LanguageSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    default: Annotated[
        str, Field(pattern=LANGUAGE_TAG, validation_alias=_env("GATEWAY_DEFAULT_LANGUAGE"))
    ] = "zh-CN"
    offered: Annotated[
        tuple[str, ...], NoDecode, Field(validation_alias=_env("GATEWAY_LANGUAGES"))
    ] = ("zh-CN", "en")

    @field_validator("offered", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("offered")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one language, e.g. zh-CN,en")
        for tag in value:
            if not re.match(LANGUAGE_TAG, tag):
                raise ValueError(f"{tag!r} is not a language tag such as zh-CN")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _default_is_offered(self) -> LanguageSettings:
        if self.default not in self.offered:
            raise ValueError(
                f"GATEWAY_DEFAULT_LANGUAGE {self.default!r} is not one of GATEWAY_LANGUAGES "
                f"({', '.join(self.offered)})"
            )
        return self
