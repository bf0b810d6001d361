"""Loaders over the orders store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar, overload

from sources.common.audit import AuditRecord
from sources.orders.api import OrdersSource
from sources.orders.records import (
    AfterSalesRequest,
    AfterSalesStatusChange,
    Customer,
    CustomerAddress,
    Order,
    OrderLine,
    OrderPage,
    Payment,
    PaymentAttempt,
    Refund,
    ServiceAppointment,
    Shipment,
    StatusChange,
)

from ..metrics import Metrics
from .audit import AuditKey, audit_loader
from .base import Loader, PageKey, pages_per_owner

# (customer id, first, after): pages of one size and cursor are fetched together.
CustomerOrdersKey = PageKey

K = TypeVar("K")
V = TypeVar("V")


class _ByMethod(Generic[K, V]):
    """A loader over one of the store's batch methods, made on the group's first use of
    it and then kept in the group's ``__dict__`` (so later reads are a plain attribute)."""

    def __init__(self, method: str, default: Callable[[], V] | None = None) -> None:
        self._method = method
        self._default = default
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, group: None, owner: type) -> _ByMethod[K, V]: ...

    @overload
    def __get__(self, group: OrdersLoaders, owner: type) -> Loader[K, V]: ...

    def __get__(self, group: OrdersLoaders | None, owner: type) -> Loader[K, V] | _ByMethod[K, V]:
        if group is None:
            return self
        fetch: Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]] = getattr(
            group._store, self._method
        )
        loader: Loader[K, V] = Loader(
            f"orders.{self._name}",
            fetch,
            metrics=group._metrics,
            batching=group._batching,
            default=self._default,
        )
        group.__dict__[self._name] = loader
        return loader


class OrdersLoaders:
    """Each loader is made the first time the request asks for it."""

    def __init__(self, store: OrdersSource, metrics: Metrics, batching: bool) -> None:
        self._store = store
        self._metrics = metrics
        self._batching = batching

    customer: _ByMethod[int, Customer | None] = _ByMethod("customers_by_ids")
    addresses: _ByMethod[int, list[CustomerAddress]] = _ByMethod("addresses_by_customer_ids", list)
    order: _ByMethod[int, Order | None] = _ByMethod("orders_by_ids")
    order_lines: _ByMethod[int, list[OrderLine]] = _ByMethod("order_lines_by_order_ids", list)

    # What happened to an order after checkout; one call per kind for a whole page.
    status_history: _ByMethod[int, list[StatusChange]] = _ByMethod(
        "status_history_by_order_ids", list
    )
    payments: _ByMethod[int, list[Payment]] = _ByMethod("payments_by_order_ids", list)
    payment_attempts: _ByMethod[int, list[PaymentAttempt]] = _ByMethod(
        "payment_attempts_by_order_ids", list
    )
    refunds: _ByMethod[int, list[Refund]] = _ByMethod("refunds_by_order_ids", list)
    shipments: _ByMethod[int, list[Shipment]] = _ByMethod("shipments_by_order_ids", list)
    appointments: _ByMethod[int, list[ServiceAppointment]] = _ByMethod(
        "appointments_by_order_ids", list
    )
    after_sales: _ByMethod[int, list[AfterSalesRequest]] = _ByMethod(
        "after_sales_by_order_ids", list
    )
    after_sales_request: _ByMethod[int, AfterSalesRequest | None] = _ByMethod("after_sales_by_ids")
    after_sales_history: _ByMethod[int, list[AfterSalesStatusChange]] = _ByMethod(
        "after_sales_history_by_ids", list
    )

    @cached_property
    def customer_audit(self) -> Loader[AuditKey, list[AuditRecord]]:
        return audit_loader(
            "orders.customer_audit",
            self._store.audit_by_customer_ids,
            self._metrics,
            self._batching,
        )

    @cached_property
    def after_sales_audit(self) -> Loader[AuditKey, list[AuditRecord]]:
        return audit_loader(
            "orders.after_sales_audit",
            self._store.audit_by_after_sales_ids,
            self._metrics,
            self._batching,
        )

    @cached_property
    def customer_orders(self) -> Loader[CustomerOrdersKey, OrderPage]:
        return Loader(
            "orders.customer_orders",
            pages_per_owner(self._store.orders_for_customers),
            metrics=self._metrics,
            batching=self._batching,
        )
