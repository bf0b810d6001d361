"""Loaders over the orders store."""

from __future__ import annotations

from sources.orders.records import Customer
from sources.orders.store import OrdersStore

from ..metrics import Metrics
from .base import Loader


class OrdersLoaders:
    def __init__(self, store: OrdersStore, metrics: Metrics, batching: bool) -> None:
        self.customer: Loader[int, Customer | None] = Loader(
            "orders.customer", store.customers_by_ids, metrics=metrics, batching=batching
        )
