"""Per-request DataLoaders, one module per source. A resolver never calls a store for
per-item data; it asks a loader, so a list of N items costs one call per source method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..cache.entities import ReadThrough
from ..metrics import Metrics
from ..sources import Sources
from .catalog import CatalogLoaders
from .inventory import InventoryLoaders
from .orders import OrdersLoaders
from .pricing import PricingLoaders


@dataclass
class Loaders:
    catalog: CatalogLoaders
    inventory: InventoryLoaders
    pricing: PricingLoaders
    orders: OrdersLoaders

    @classmethod
    def for_request(
        cls,
        sources: Sources,
        metrics: Metrics,
        *,
        batching: bool,
        currency: str,
        now: datetime,
        cache: ReadThrough | None = None,
    ) -> Loaders:
        return cls(
            catalog=CatalogLoaders(sources.catalog, metrics, batching, cache),
            inventory=InventoryLoaders(sources.inventory, metrics, batching, cache),
            pricing=PricingLoaders(
                sources.pricing, metrics, batching, currency=currency, now=now, cache=cache
            ),
            orders=OrdersLoaders(sources.orders, metrics, batching),
        )
