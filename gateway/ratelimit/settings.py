"""Rate-limit configuration, read with the rest of ``Settings`` (as its ``rate_limit``).

Budgets are in query-cost points (gateway/limits.py), so a viewer may send many cheap
queries or a few dear ones: what is bounded is the work asked of the sources.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class RateLimitSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    # Unset: on in production, off in development (one machine's tests and benchmarks all
    # come from 127.0.0.1 and would share one anonymous budget).
    enabled: Annotated[bool | None, Field(validation_alias=_env("RATE_LIMIT_ENABLED"))] = None
    cost_per_minute: Annotated[
        int, Field(ge=1, le=1_000_000_000, validation_alias=_env("RATE_LIMIT_COST_PER_MINUTE"))
    ] = 300_000
    cost_burst: Annotated[
        int, Field(ge=1, le=1_000_000_000, validation_alias=_env("RATE_LIMIT_COST_BURST"))
    ] = 60_000
    checkouts_per_minute: Annotated[
        int, Field(ge=1, le=1_000_000, validation_alias=_env("RATE_LIMIT_CHECKOUTS_PER_MINUTE"))
    ] = 10
    checkout_burst: Annotated[
        int, Field(ge=1, le=1_000_000, validation_alias=_env("RATE_LIMIT_CHECKOUT_BURST"))
    ] = 5
    in_process_max_keys: Annotated[
        int, Field(ge=100, le=10_000_000, validation_alias=_env("RATE_LIMIT_LOCAL_MAX_KEYS"))
    ] = 100_000
