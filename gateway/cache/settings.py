"""Cache configuration: TTLs per kind of data, sizes, the circuit breaker and the response
cache. Read from the environment with the rest of ``Settings`` (as its ``cache`` field)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Bump when the shape of a cached record changes: old keys are then simply never read.
RECORD_VERSION = 4  # 4: products, categories and promotions carry their translations


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def _seconds(name: str, *, le: float = 86_400 * 30) -> Any:
    return Field(ge=0, le=le, validation_alias=_env(name))


class CacheSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    enabled: Annotated[bool, Field(validation_alias=_env("CACHE_ENABLED"))] = True
    key_prefix: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$", validation_alias=_env("CACHE_KEY_PREFIX"))
    ] = "gw"
    schema_version: Annotated[int, Field(ge=1, validation_alias=_env("CACHE_SCHEMA_VERSION"))] = (
        RECORD_VERSION
    )
    catalog_ttl: Annotated[float, _seconds("CACHE_TTL_CATALOG_SECONDS")] = 300.0
    price_ttl: Annotated[float, _seconds("CACHE_TTL_PRICES_SECONDS")] = 300.0
    promotion_ttl: Annotated[float, _seconds("CACHE_TTL_PROMOTIONS_SECONDS")] = 30.0
    stock_ttl: Annotated[float, _seconds("CACHE_TTL_STOCK_SECONDS", le=300)] = 5.0
    listing_ttl: Annotated[float, _seconds("CACHE_TTL_LISTINGS_SECONDS")] = 30.0
    # Prices, promotions and display stock also keep a last-known copy this long, to answer
    # browsing (marked stale) while their source is down. 0: no copies.
    last_known_hours: Annotated[float, _seconds("CACHE_LAST_KNOWN_HOURS", le=24 * 30)] = 24.0
    missing_ttl: Annotated[float, _seconds("CACHE_TTL_MISSING_SECONDS")] = 10.0
    local_max_entries: Annotated[
        int, Field(ge=100, le=10_000_000, validation_alias=_env("CACHE_LOCAL_MAX_ENTRIES"))
    ] = 50_000
    local_ttl: Annotated[float, _seconds("CACHE_LOCAL_TTL_SECONDS", le=300)] = 2.0
    breaker_failures: Annotated[
        int, Field(ge=1, le=1000, validation_alias=_env("CACHE_BREAKER_FAILURES"))
    ] = 3
    breaker_reset: Annotated[float, _seconds("CACHE_BREAKER_RESET_SECONDS", le=3600)] = 5.0
    response_cache: Annotated[bool, Field(validation_alias=_env("RESPONSE_CACHE_ENABLED"))] = True
    response_ttl: Annotated[float, _seconds("RESPONSE_CACHE_TTL_SECONDS")] = 30.0
    apq_ttl: Annotated[float, _seconds("APQ_TTL_SECONDS", le=86_400 * 365)] = 86_400.0 * 7
    # A CDN in front (gateway/cache/cdn.py): how long it may serve a response while it
    # fetches a fresh one, and where to send the tags each write purges.
    cdn_stale_while_revalidate: Annotated[
        float, _seconds("CDN_STALE_WHILE_REVALIDATE_SECONDS", le=86_400)
    ] = 30.0
    cdn_purge_url: Annotated[
        str | None, Field(pattern=r"^https?://", validation_alias=_env("CDN_PURGE_URL"))
    ] = None
    cdn_purge_headers: Annotated[
        dict[str, str], Field(validation_alias=_env("CDN_PURGE_HEADERS"))
    ] = {}

    @property
    def channel(self) -> str:
        return f"{self.key_prefix}:v{self.schema_version}:invalidate"
