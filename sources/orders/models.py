"""Orders tables: who buys and where the shop delivers, carts, orders and the checkout
attempts that turn one into the other, then what happens after: payments, shipments and
service appointments, after-sales requests.

The rules that keep money and orders right are constraints here, so no code path can break
them whatever the concurrency: one line per SKU in a cart, one order per cart, one order
per (customer, idempotency key), one payment per (order, stage), one appointment per
service line, positive quantities."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sources.common.models import NAMING_CONVENTION, AuditColumns, IdempotencyColumns
from sources.common.types import MoneyColumn, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Customer(Base):
    """A buyer. ``subject`` is the identity provider's ``sub`` for a customer who signed up
    there (unique: two first requests at once create one customer); null for one the shop
    made itself (the demo shop's), whose tokens carry the id instead."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subject: Mapped[str | None] = mapped_column(String(255), unique=True)


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(100))
    line1: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffMember(Base):
    """Back-office accounts of the demo shop; tokens carry their permissions."""

    __tablename__ = "staff_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[str] = mapped_column(String(500), default="")  # comma-separated


class Region(Base):
    """A delivery region (province-level code such as CN-SH) and its shipping rate."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))
    is_deliverable: Mapped[bool] = mapped_column(Boolean, default=True)
    shipping_rate: Mapped[Decimal | None] = mapped_column(MoneyColumn())


class ShopProfile(Base):
    """The shop itself, one row (id 1), written by ``gateway init``: its name, the currency
    it sells in, its languages (first is the default) and its free-shipping threshold. The
    gateway reads it at start; see gateway/setup/shop.py for how it meets the environment."""

    __tablename__ = "shop_profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    languages: Mapped[str] = mapped_column(String(200))  # comma-separated BCP 47 tags
    free_shipping_over: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(AuditColumns, Base):
    """Back-office writes to customers (block, unblock), as the other sources keep theirs."""

    __tablename__ = "orders_audit"
    __table_args__ = (Index("ix_orders_audit_entity", "entity_type", "entity_id", "id"),)


class ShippingAddressColumns:
    """A delivery address copied onto a cart or an order: an order keeps the address it was
    placed with, whatever the customer edits in their address book later. All null when
    no address was given."""

    ship_name: Mapped[str | None] = mapped_column(String(200))
    ship_phone: Mapped[str | None] = mapped_column(String(32))
    ship_country: Mapped[str | None] = mapped_column(String(2))
    ship_region: Mapped[str | None] = mapped_column(String(16))
    ship_city: Mapped[str | None] = mapped_column(String(100))
    ship_line1: Mapped[str | None] = mapped_column(String(300))
    ship_postal_code: Mapped[str | None] = mapped_column(String(16))


class Cart(ShippingAddressColumns, Base):
    """A cart; its id is an unguessable token, since an anonymous cart is reachable by its
    id alone. ``order_id`` is set when checkout completes it (no foreign key: orders refer
    to carts, and one direction is enough)."""

    __tablename__ = "carts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    coupon_codes: Mapped[str] = mapped_column(Text, default="[]")  # a JSON list
    order_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CartLine(Base):
    __tablename__ = "cart_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"))
    sku_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    # Until when the inventory holds this line's stock (a flash-sale item; see
    # gateway/checkout/holds.py); null when it holds none. Inventory's hold is the truth.
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One line per SKU: adding a SKU again adds to this line (an upsert on this key).
        UniqueConstraint("cart_id", "sku_id", name="uq_cart_lines_cart_id_sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Order(ShippingAddressColumns, Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"), unique=True)  # one per cart
    order_ref: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MoneyColumn())
    discount_total: Mapped[Decimal] = mapped_column(MoneyColumn())
    shipping_total: Mapped[Decimal] = mapped_column(MoneyColumn())
    total: Mapped[Decimal] = mapped_column(MoneyColumn())
    deposit_due: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The listings: a customer's orders and the back office's, newest first.
        Index("ix_orders_customer_newest", "customer_id", "created_at", "id"),
        Index("ix_orders_newest", "created_at", "id"),
        Index("ix_orders_status_newest", "status", "created_at", "id"),
    )


class OrderLine(Base):
    """What the buyer bought and paid, as placed: names and prices are snapshots."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(300))
    sku_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    subtotal: Mapped[Decimal] = mapped_column(MoneyColumn())
    total: Mapped[Decimal] = mapped_column(MoneyColumn())
    deposit: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    fulfillment: Mapped[str] = mapped_column(String(16))
    supplier_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class OrderLineDiscount(Base):
    """A promotion's share of one line, to the cent, so refunding a line is exact."""

    __tablename__ = "order_line_discounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    promotion_id: Mapped[int] = mapped_column(Integer)
    promotion_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn())


class OrderStatusChange(Base):
    __tablename__ = "order_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")


class CheckoutAttempt(Base):
    """One checkout per (customer, idempotency key): the primary key is the claim, so of
    many concurrent calls with one key exactly one inserts the row and proceeds.
    ``order_ref`` names the attempt in the other sources (reservations, coupon uses)."""

    __tablename__ = "checkout_attempts"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    state: Mapped[str] = mapped_column(String(16))  # CLAIMED, then DONE
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Payment(Base):
    """Money received for an order. One row per (order, stage): a presale order is paid as
    a deposit and a balance, any other order in full, and a repeated notice cannot count
    twice."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    stage: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    # Who took the money ("manual": staff marked it paid) and the provider's trade number.
    provider: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    reference: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("order_id", "stage", name="uq_payments_order_id_stage"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class PaymentAttempt(Base):
    """One try at paying one stage of an order through a provider: created when the buyer
    asks to pay, PENDING until the provider says paid (then PAID, with the ``payments`` row
    in the same transaction), CLOSED when the order expired or was cancelled unpaid.

    ``out_trade_no`` is the name the provider knows it by, so a notification finds it in
    one indexed read; its status moves by conditional UPDATEs, so of ten identical
    notifications (or a notification racing the buyer's return) exactly one applies.
    FLAGGED: the provider reported another amount or currency; LATE: the money came after
    the order was cancelled (it is refunded; staff see both)."""

    __tablename__ = "payment_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64))
    action_kind: Mapped[str] = mapped_column(String(16))  # REDIRECT_URL | QR_CODE
    action: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_payment_attempts_status_paid_at", "status", "paid_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class Refund(Base):
    """Money given back through the provider it came from. ``request_no`` is the
    idempotency key the provider sees (Alipay's out_request_no, WeChat's out_refund_no):
    the same refund asked again, by a retry or a second staff click, is the same row and,
    at the provider, the same refund. FAILED refunds are retried by the sweeper and stay
    visible to staff until they succeed."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("payment_attempts.id"))
    stage: Mapped[str] = mapped_column(String(16))  # the payment (deposit, balance) it gives back
    provider: Mapped[str] = mapped_column(String(16))
    request_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # PENDING | SUCCEEDED | FAILED
    reason: Mapped[str] = mapped_column(Text, default="")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_refunds_status_updated", "status", "updated_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class PaymentReconciliation(Base):
    """The last comparison of one provider's bill for one day (China time, as the bills
    are cut) with the shop's payments and refunds: what matched and every difference (a
    JSON list), so finance reads the reconciled state without downloading the bill again.
    Running the reconciliation again replaces the day's row."""

    __tablename__ = "payment_reconciliations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    day: Mapped[str] = mapped_column(String(10))  # ISO date
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payments_matched: Mapped[int] = mapped_column(Integer)
    refunds_matched: Mapped[int] = mapped_column(Integer)
    differences: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("provider", "day", name="uq_payment_reconciliations_provider_day"),
    )


class Shipment(Base):
    """One parcel: from one warehouse (``warehouse_code``) or one drop-ship supplier."""

    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_code: Mapped[str | None] = mapped_column(String(32))
    supplier_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The ship-by promise, from the handling-time rules when the order was paid.
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_shipments_status_ship_by", "status", "ship_by"),)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class ServiceAppointment(Base):
    """A service line is scheduled, not shipped: one appointment per line."""

    __tablename__ = "service_appointments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AfterSalesRequest(Base):
    """A return, refund or exchange. Never deleted: its status moves by conditional UPDATEs
    and every move leaves an AfterSalesStatusChange."""

    __tablename__ = "after_sales_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))  # AWAITING_SECOND_APPROVAL: 24
    reason: Mapped[str] = mapped_column(Text, default="")
    refund_amount: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The back office's queue: oldest first, all or by status.
        Index("ix_after_sales_requests_oldest", "created_at", "id"),
        Index("ix_after_sales_requests_status_oldest", "status", "created_at", "id"),
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
    )


class AfterSalesLine(Base):
    """Units of one order line in a request, and what the buyer paid for them."""

    __tablename__ = "after_sales_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("after_sales_requests.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    refund_amount: Mapped[Decimal] = mapped_column(MoneyColumn())

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
    )


class AfterSalesStatusChange(Base):
    __tablename__ = "after_sales_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("after_sales_requests.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")


class IdempotencyKey(IdempotencyColumns, Base):
    __tablename__ = "orders_idempotency_keys"
