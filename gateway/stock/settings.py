"""Stock visibility settings (STOCK_VISIBILITY, STOCK_VISIBILITY_CAP, STOCK_LOW_THRESHOLD),
read with the rest of ``Settings`` (its ``stock`` field); see view.py for what they do.

Stock visibility: how many units a viewer is told a SKU has.

Exact counts tell competitors a shop's sales, so a shop may show buyers at most a cap
(``capped``: "only 3 left" still works below it) or only a status (``status``). The
figure is a presentation of the exact record, decided per viewer *after* loading: the
records in the shared cache stay exact (staff read the same records), and only the
response cache for anonymous reads holds buyer figures (it never stores a signed-in
answer, and its key carries the visibility in force, see ``variant``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class StockVisibility(StrEnum):
    EXACT = "exact"
    CAPPED = "capped"
    STATUS = "status"


class StockVisibilitySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    visibility: Annotated[StockVisibility, Field(validation_alias=_env("STOCK_VISIBILITY"))] = (
        StockVisibility.EXACT
    )
    cap: Annotated[
        int, Field(ge=1, le=1_000_000, validation_alias=_env("STOCK_VISIBILITY_CAP"))
    ] = 10
    low_threshold: Annotated[
        int, Field(ge=0, le=1_000_000, validation_alias=_env("STOCK_LOW_THRESHOLD"))
    ] = 5

    @property
    def variant(self) -> str:
        """What a buyer-facing response depends on: part of the response cache's key, so
        a shop that changes its visibility never serves answers made under the old one."""
        return f"stock={self.visibility.value}:{self.cap}:{self.low_threshold}"
