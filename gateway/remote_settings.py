"""Sources as services: where each remote source is and how the gateway talks to it.

A source whose URL is set is reached over HTTP (sources/common/client.py); the others stay
embedded. Read from the environment with the rest of ``Settings`` (as its ``remote`` field).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where `gateway source serve NAME` listens when --port is not given.
DEFAULT_PORTS = {"catalog": 8101, "inventory": 8102, "pricing": 8103, "orders": 8104}


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class RemoteSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    catalog_url: Annotated[str | None, Field(validation_alias=_env("CATALOG_URL"))] = None
    inventory_url: Annotated[str | None, Field(validation_alias=_env("INVENTORY_URL"))] = None
    pricing_url: Annotated[str | None, Field(validation_alias=_env("PRICING_URL"))] = None
    orders_url: Annotated[str | None, Field(validation_alias=_env("ORDERS_URL"))] = None
    service_secret: Annotated[
        str | None, Field(min_length=16, validation_alias=_env("GATEWAY_SERVICE_SECRET"))
    ] = None
    timeout_seconds: Annotated[
        float, Field(gt=0, le=300, validation_alias=_env("SOURCE_TIMEOUT_SECONDS"))
    ] = 5.0
    retries: Annotated[int, Field(ge=0, le=10, validation_alias=_env("SOURCE_RETRIES"))] = 2
    concurrency: Annotated[
        int, Field(ge=1, le=1000, validation_alias=_env("SOURCE_CONCURRENCY"))
    ] = 32

    @field_validator("catalog_url", "inventory_url", "pricing_url", "orders_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("service_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return value or None

    def url_for(self, source: str) -> str | None:
        url: str | None = getattr(self, f"{source}_url")
        return url

    @property
    def remote_sources(self) -> list[str]:
        return [name for name in DEFAULT_PORTS if self.url_for(name)]
