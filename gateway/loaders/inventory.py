"""Loaders over the inventory store."""

from __future__ import annotations

from sources.inventory.api import InventorySource
from sources.inventory.records import StockLevel

from ..cache import codec
from ..cache.entities import ReadThrough
from ..cache.keys import Kind
from ..metrics import Metrics
from ..resilience.degrade import last_known_for
from .audit import audit_loader
from .base import Loader
from .cached import read_through


class InventoryLoaders:
    """Stock for display may come from the cache (a few seconds old at most, or its
    last-known copy, marked stale, while inventory is down); checkout never reads it here:
    it asks the inventory source, which decides."""

    def __init__(
        self,
        store: InventorySource,
        metrics: Metrics,
        batching: bool,
        cache: ReadThrough | None = None,
    ) -> None:
        self.stock: Loader[int, StockLevel] = Loader(
            "inventory.stock",
            read_through(
                cache,
                Kind.STOCK,
                codec.STOCK,
                store.stock_by_sku_ids,
                last_known=last_known_for("inventory"),
            ),
            metrics=metrics,
            batching=batching,
        )
        self.audit = audit_loader("inventory.audit", store.audit_by_sku_ids, metrics, batching)
