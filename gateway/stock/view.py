"""One viewer's view of stock figures: exact for MANAGE_STOCK staff and in ``exact`` shops,
at most a ceiling otherwise. Applied after loading, to the exact records every viewer
shares (see settings.py for why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from ..auth import Permission, Viewer
from ..errors import Problem
from .settings import StockVisibility, StockVisibilitySettings


class StockStatus(StrEnum):
    IN_STOCK = "IN_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"


@dataclass(frozen=True, slots=True)
class StockView:
    """One viewer's view of stock figures: exact, or at most ``ceiling`` units."""

    ceiling: int | None  # None: the exact figure
    low_threshold: int
    counts_hidden: bool = False  # `status`: no count at all, not even a capped one

    @classmethod
    def for_viewer(cls, settings: StockVisibilitySettings, viewer: Viewer) -> StockView:
        # MANAGE_STOCK staff run the warehouse: they always see the exact figure.
        if settings.visibility is StockVisibility.EXACT or viewer.has(Permission.MANAGE_STOCK):
            return cls(None, settings.low_threshold)
        if settings.visibility is StockVisibility.CAPPED:
            return cls(settings.cap, settings.low_threshold)
        # Status only: 1 or 0, the most a buyer can surely order that says no more than
        # `inStock` does; never more than is really there (Int! forbids null).
        return cls(1, settings.low_threshold, counts_hidden=True)

    def available(self, exact: int) -> int:
        """The units shown: never more than there are, never more than the ceiling."""
        exact = max(exact, 0)
        return exact if self.ceiling is None else min(exact, self.ceiling)

    def status(self, exact: int) -> StockStatus:
        """From the exact figure, for every viewer: a status says no count."""
        if exact <= 0:
            return StockStatus.OUT_OF_STOCK
        if exact <= self.low_threshold:
            return StockStatus.LOW_STOCK
        return StockStatus.IN_STOCK

    def shown(self, problems: Sequence[Problem]) -> list[Problem]:
        """Problems as this viewer may read them: a shortage's message made from its exact
        ``units_left`` by this view, so an error never says more than ``available``."""
        return [
            p if p.units_left is None else replace(p, message=self.left_in_stock(p.units_left))
            for p in problems
        ]

    def left_in_stock(self, units: int) -> str:
        """An INSUFFICIENT_STOCK message that says no more than ``available`` would."""
        units = max(units, 0)
        if self.ceiling is None or units < self.ceiling:
            return left_in_stock(units)
        if self.counts_hidden:
            return "not enough left in stock for this quantity"
        return f"not enough left in stock: at least {self.ceiling}, fewer than asked for"


def left_in_stock(units: int) -> str:
    """The exact message, as the checkout has always written it."""
    return f"only {units} left in stock"
