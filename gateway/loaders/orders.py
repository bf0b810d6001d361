"""Loaders over the orders store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sources.orders.records import Customer, Order, OrderLine, OrderPage
from sources.orders.store import OrdersStore

from ..metrics import Metrics
from .base import Loader

# (customer id, first, after): pages of one size and cursor are fetched together.
CustomerOrdersKey = tuple[int, int, str | None]


class OrdersLoaders:
    def __init__(self, store: OrdersStore, metrics: Metrics, batching: bool) -> None:
        self.customer: Loader[int, Customer | None] = Loader(
            "orders.customer", store.customers_by_ids, metrics=metrics, batching=batching
        )
        self.order: Loader[int, Order | None] = Loader(
            "orders.order", store.orders_by_ids, metrics=metrics, batching=batching
        )
        self.order_lines: Loader[int, list[OrderLine]] = Loader(
            "orders.order_lines",
            store.order_lines_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )

        async def customer_orders(
            keys: Sequence[CustomerOrdersKey],
        ) -> dict[CustomerOrdersKey, OrderPage]:
            groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
            for customer_id, first, after in keys:
                groups[(first, after)].append(customer_id)
            pages: dict[CustomerOrdersKey, OrderPage] = {}
            for (first, after), ids in groups.items():
                found = await store.orders_for_customers(ids, first=first, after=after)
                pages.update({(cid, first, after): page for cid, page in found.items()})
            return pages

        self.customer_orders: Loader[CustomerOrdersKey, OrderPage] = Loader(
            "orders.customer_orders", customer_orders, metrics=metrics, batching=batching
        )
