"""Loaders over the pricing store. Prices are in the request's currency; promotions are
those live at the request's start, so one response never mixes two moments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sources.pricing.records import Price, Promotion
from sources.pricing.store import PricingStore

from ..metrics import Metrics
from .audit import audit_loader
from .base import Loader

# (product id, its category path): the pricing source does not own categories.
PromotionKey = tuple[int, tuple[int, ...]]


class PricingLoaders:
    def __init__(
        self,
        store: PricingStore,
        metrics: Metrics,
        batching: bool,
        *,
        currency: str,
        now: datetime,
    ) -> None:
        async def prices(ids: Sequence[int]) -> dict[int, Price]:
            return await store.prices_by_sku_ids(ids, currency)

        async def costs(ids: Sequence[int]) -> dict[int, Decimal]:
            return await store.cost_prices_by_sku_ids(ids, currency)

        async def promotions(keys: Sequence[PromotionKey]) -> dict[PromotionKey, list[Promotion]]:
            found = await store.promotions_for_products(dict(keys), now)
            return {key: found.get(key[0], []) for key in keys}

        self.price: Loader[int, Price | None] = Loader(
            "pricing.price", prices, metrics=metrics, batching=batching
        )
        self.cost_price: Loader[int, Decimal | None] = Loader(
            "pricing.cost_price", costs, metrics=metrics, batching=batching
        )
        self.promotions: Loader[PromotionKey, list[Promotion]] = Loader(
            "pricing.promotions", promotions, metrics=metrics, batching=batching, default=list
        )
        self.audit = audit_loader("pricing.audit", store.audit_by_sku_ids, metrics, batching)
        self.promotion: Loader[int, Promotion | None] = Loader(
            "pricing.promotion", store.promotions_by_ids, metrics=metrics, batching=batching
        )
