"""Resilience configuration, read with the rest of ``Settings`` (as its ``resilience``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ResilienceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    # Generous defaults: a call's time includes waiting for a pooled connection, which under
    # a burst of checkouts on SQLite (writers queue on its 30 s busy timeout) is long and
    # not a fault. A shop sets them to its latency budget (2 s is typical on PostgreSQL).
    read_timeout: Annotated[
        float, Field(gt=0, le=600, validation_alias=_env("SOURCE_READ_TIMEOUT_SECONDS"))
    ] = 20.0
    write_timeout: Annotated[
        float, Field(gt=0, le=600, validation_alias=_env("SOURCE_WRITE_TIMEOUT_SECONDS"))
    ] = 60.0
    breaker_failures: Annotated[
        int, Field(ge=1, le=1000, validation_alias=_env("SOURCE_BREAKER_FAILURES"))
    ] = 5
    breaker_reset: Annotated[
        float, Field(gt=0, le=3600, validation_alias=_env("SOURCE_BREAKER_RESET_SECONDS"))
    ] = 5.0
    stale_max_entries: Annotated[
        int, Field(ge=0, le=10_000_000, validation_alias=_env("SOURCE_STALE_MAX_ENTRIES"))
    ] = 50_000
