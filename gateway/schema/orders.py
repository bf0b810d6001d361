"""Customers (orders, carts and after-sales arrive with the checkout issues)."""

from __future__ import annotations

import strawberry

from sources.orders.records import Customer as CustomerRecord

from ..auth import Permission, Viewer
from .node import Node, encode_id


def may_see_customer(viewer: Viewer, customer_id: int) -> bool:
    """The customer themself or order staff; anyone else reads it as not found."""
    return viewer.customer_id == customer_id or viewer.has(Permission.MANAGE_ORDERS)


@strawberry.type
class Customer(Node):
    email: str
    name: str

    @classmethod
    def from_record(cls, record: CustomerRecord) -> Customer:
        return cls(id=encode_id("Customer", record.id), email=record.email, name=record.name)
