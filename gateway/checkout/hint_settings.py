"""Promotion hints' configuration, read with the rest of ``Settings`` (as its
``promotion_hints``); docs/configuration.md lists the variables."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class PromotionHintSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    # A cart "nearly qualifies" when what it lacks is at most this fraction of the
    # threshold (or of the units a buy-X-get-Y set takes): 0.5 = at least half-way there.
    max_shortfall: Annotated[
        Decimal, Field(gt=0, le=1, validation_alias=_env("PROMOTION_HINTS_MAX_SHORTFALL"))
    ] = Decimal("0.5")
    # Cart.promotionHints lists at most this many, the largest savings first.
    limit: Annotated[int, Field(ge=0, le=20, validation_alias=_env("PROMOTION_HINTS_LIMIT"))] = 3
    # Promotions that ended, or start, within this many days appear in a line's
    # promotionsNotApplied (ENDED, NOT_STARTED); a typed coupon does whatever its window.
    horizon_days: Annotated[
        int, Field(ge=0, le=365, validation_alias=_env("PROMOTION_HINTS_HORIZON_DAYS"))
    ] = 7
    # Which shared coupon codes a hint may name ("enter coupon SAVE50"): "*" for all, or a
    # comma-separated list; "" for none. Generated codes are never named.
    coupon_codes: Annotated[
        str, Field(max_length=2000, validation_alias=_env("PROMOTION_HINTS_COUPON_CODES"))
    ] = "*"

    def may_name(self, code: str) -> bool:
        if self.coupon_codes.strip() == "*":
            return True
        named = {c.strip().lower() for c in self.coupon_codes.split(",") if c.strip()}
        return code.strip().lower() in named
