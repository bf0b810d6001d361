"""Per-request DataLoaders, one module per source. A resolver never calls a store for
per-item data; it asks a loader, so a list of N items costs one call per source method.

Each request gets its own ``Loaders``, but a loader is built the first time the request
asks for it: the checkout's mutations read their sources directly and use none or one of
the thirty-odd, so building them all up front was most of ``get_context`` (about 35
loaders and their closures per request)."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from ..cache.entities import ReadThrough
from ..metrics import Metrics
from ..sources import Sources
from .catalog import CatalogLoaders
from .inventory import InventoryLoaders
from .orders import OrdersLoaders
from .pricing import PricingLoaders


class Loaders:
    """One request's loaders, by source; each group is made on first use."""

    def __init__(
        self,
        sources: Sources,
        metrics: Metrics,
        *,
        batching: bool,
        currency: str,
        now: datetime,
        cache: ReadThrough | None = None,
    ) -> None:
        self._sources = sources
        self._metrics = metrics
        self._batching = batching
        self._currency = currency
        self._now = now
        self._cache = cache

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
        return cls(sources, metrics, batching=batching, currency=currency, now=now, cache=cache)

    @property
    def shared_cache(self) -> bool:
        """Whether the read-through loaders have a shared cache behind them (with none,
        each reads its source)."""
        return self._cache is not None

    @cached_property
    def catalog(self) -> CatalogLoaders:
        return CatalogLoaders(self._sources.catalog, self._metrics, self._batching, self._cache)

    @cached_property
    def inventory(self) -> InventoryLoaders:
        return InventoryLoaders(self._sources.inventory, self._metrics, self._batching, self._cache)

    @cached_property
    def pricing(self) -> PricingLoaders:
        return PricingLoaders(
            self._sources.pricing,
            self._metrics,
            self._batching,
            currency=self._currency,
            now=self._now,
            cache=self._cache,
        )

    @cached_property
    def orders(self) -> OrdersLoaders:
        return OrdersLoaders(self._sources.orders, self._metrics, self._batching)
