"""Plain records the orders source hands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    email: str
    name: str
    is_blocked: bool


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    email: str
    name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    country: str
    name: str
    is_deliverable: bool
    shipping_rate: Decimal | None


class CartStatus(StrEnum):
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    phone: str
    country: str
    region: str
    city: str
    line1: str
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class CartLine:
    id: int
    sku_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Cart:
    id: str  # unguessable token: an anonymous cart is reachable by its id alone
    customer_id: int | None
    status: CartStatus
    lines: tuple[CartLine, ...]
    coupon_codes: tuple[str, ...]
    shipping_address: Address | None
    order_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LineDiscount:
    promotion_id: int
    promotion_name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    """An order line as placed: a snapshot, so later catalog or price changes never
    rewrite what the buyer bought and paid."""

    sku_id: int
    product_id: int
    product_name: str
    sku_name: str
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    discounts: tuple[LineDiscount, ...]
    total: Decimal
    deposit: Decimal | None  # per unit, presale lines only
    fulfillment: str  # WAREHOUSE | DROPSHIP
    supplier_id: int | None


@dataclass(frozen=True, slots=True)
class OrderLine:
    id: int
    order_id: int
    sku_id: int
    product_id: int
    product_name: str
    sku_name: str
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    discounts: tuple[LineDiscount, ...]
    total: Decimal
    deposit: Decimal | None
    fulfillment: str
    supplier_id: int | None


@dataclass(frozen=True, slots=True)
class NewOrder:
    customer_id: int
    cart_id: str
    order_ref: str  # the saga's key: reservation and coupon uses are recorded under it
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    total: Decimal
    deposit_due: Decimal | None
    shipping_address: Address | None
    lines: tuple[NewOrderLine, ...]


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    number: str  # human-readable, e.g. "SO-20261125-000042"
    customer_id: int
    cart_id: str
    order_ref: str
    status: OrderStatus
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    total: Decimal
    deposit_due: Decimal | None
    shipping_address: Address | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChange:
    order_id: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    actor: str
    reason: str


class AttemptState(StrEnum):
    """Where a checkout attempt stands for one (customer, idempotency key)."""

    CLAIMED = "CLAIMED"  # this call owns the attempt and must finish or abandon it
    IN_PROGRESS = "IN_PROGRESS"  # another call owns it and has not finished
    DONE = "DONE"  # an order exists for it
    KEY_REUSED = "KEY_REUSED"  # the key was used with another cart


@dataclass(frozen=True, slots=True)
class CheckoutAttempt:
    state: AttemptState
    order_ref: str
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order]
    cursors: list[str]
    has_next_page: bool
    total_count: int
