"""Loaders over the orders store."""

from __future__ import annotations

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
from .audit import audit_loader
from .base import Loader, PageKey, pages_per_owner

# (customer id, first, after): pages of one size and cursor are fetched together.
CustomerOrdersKey = PageKey


class OrdersLoaders:
    def __init__(self, store: OrdersSource, metrics: Metrics, batching: bool) -> None:
        self.customer: Loader[int, Customer | None] = Loader(
            "orders.customer", store.customers_by_ids, metrics=metrics, batching=batching
        )
        self.addresses: Loader[int, list[CustomerAddress]] = Loader(
            "orders.addresses",
            store.addresses_by_customer_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.customer_audit = audit_loader(
            "orders.customer_audit", store.audit_by_customer_ids, metrics, batching
        )
        self.after_sales_audit = audit_loader(
            "orders.after_sales_audit", store.audit_by_after_sales_ids, metrics, batching
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

        # What happened to an order after checkout; one call per kind for a whole page.
        self.status_history: Loader[int, list[StatusChange]] = Loader(
            "orders.status_history",
            store.status_history_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.payments: Loader[int, list[Payment]] = Loader(
            "orders.payments",
            store.payments_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.payment_attempts: Loader[int, list[PaymentAttempt]] = Loader(
            "orders.payment_attempts",
            store.payment_attempts_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.refunds: Loader[int, list[Refund]] = Loader(
            "orders.refunds",
            store.refunds_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.shipments: Loader[int, list[Shipment]] = Loader(
            "orders.shipments",
            store.shipments_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.appointments: Loader[int, list[ServiceAppointment]] = Loader(
            "orders.appointments",
            store.appointments_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.after_sales: Loader[int, list[AfterSalesRequest]] = Loader(
            "orders.after_sales",
            store.after_sales_by_order_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )
        self.after_sales_request: Loader[int, AfterSalesRequest | None] = Loader(
            "orders.after_sales_request",
            store.after_sales_by_ids,
            metrics=metrics,
            batching=batching,
        )
        self.after_sales_history: Loader[int, list[AfterSalesStatusChange]] = Loader(
            "orders.after_sales_history",
            store.after_sales_history_by_ids,
            metrics=metrics,
            batching=batching,
            default=list,
        )

        self.customer_orders: Loader[CustomerOrdersKey, OrderPage] = Loader(
            "orders.customer_orders",
            pages_per_owner(store.orders_for_customers),
            metrics=metrics,
            batching=batching,
        )
