"""Loaders over the inventory store."""

from __future__ import annotations

from sources.inventory.records import StockLevel
from sources.inventory.store import InventoryStore

from ..metrics import Metrics
from .audit import audit_loader
from .base import Loader


class InventoryLoaders:
    def __init__(self, store: InventoryStore, metrics: Metrics, batching: bool) -> None:
        self.stock: Loader[int, StockLevel] = Loader(
            "inventory.stock", store.stock_by_sku_ids, metrics=metrics, batching=batching
        )
        self.audit = audit_loader("inventory.audit", store.audit_by_sku_ids, metrics, batching)
