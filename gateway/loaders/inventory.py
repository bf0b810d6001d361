"""Loaders over the inventory store."""

from __future__ import annotations

from functools import cached_property

from sources.common.audit import AuditRecord
from sources.inventory.api import InventorySource
from sources.inventory.records import StockLevel

from ..cache import codec
from ..cache.entities import ReadThrough
from ..cache.keys import Kind
from ..metrics import Metrics
from ..resilience.degrade import last_known_for
from .audit import AuditKey, audit_loader
from .base import Loader
from .cached import read_through


class InventoryLoaders:
    """Stock for display may come from the cache (a few seconds old at most, or its
    last-known copy, marked stale, while inventory is down); checkout never reads it here:
    it asks the inventory source, which decides. Each loader is made on first use."""

    def __init__(
        self,
        store: InventorySource,
        metrics: Metrics,
        batching: bool,
        cache: ReadThrough | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._batching = batching
        self._cache = cache

    @cached_property
    def stock(self) -> Loader[int, StockLevel]:
        return Loader(
            "inventory.stock",
            read_through(
                self._cache,
                Kind.STOCK,
                codec.STOCK,
                self._store.stock_by_sku_ids,
                last_known=last_known_for("inventory"),
            ),
            metrics=self._metrics,
            batching=self._batching,
        )

    @cached_property
    def audit(self) -> Loader[AuditKey, list[AuditRecord]]:
        return audit_loader(
            "inventory.audit", self._store.audit_by_sku_ids, self._metrics, self._batching
        )
