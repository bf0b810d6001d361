"""Plain records the orders source hands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sources.common.fast_init import fast_inits


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


@dataclass(frozen=True, slots=True)
class CartBuyer:
    """What a cart's validation needs of the orders source, read in one call: the buyer
    (None when anonymous or unknown), the region it ships to (None without an address or
    for a code the shop does not know) and the units the buyer already bought of each
    purchase-limited SKU asked about (every one asked about is a key)."""

    customer: Customer | None
    region: Region | None
    purchased: dict[int, int]


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
    reserved_until: datetime | None = None  # a flash-sale line's stock hold, when it lapses


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
    purchase_limit: int | None = None  # per customer, re-checked as the order is written


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
class PlacedOrder:
    """A new order with its lines as written (ids from RETURNING), for the checkout's
    payload: the confirmation screen shows the lines without reading them back."""

    order: Order
    lines: list[OrderLine]


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
class CartWithBuyer:
    """A cart as a write left it, with what its validation needs of the orders source read
    in the same call: ``buyer`` holds the customer ``buyer_id`` (the viewer, or the cart's
    owner; None: anonymous) and the region of the cart's address. Its ``purchased`` is
    empty: which SKUs have a purchase limit is the catalog's to say, asked afterwards."""

    cart: Cart
    buyer_id: int | None
    buyer: CartBuyer


@dataclass(frozen=True, slots=True)
class CheckoutStart:
    """``checkoutComplete``'s first call: the cart (None when there is none, or it is
    another customer's: then nothing was claimed), the attempt claimed for its key, and,
    when this call claimed it, the buyer and region as in :class:`CartWithBuyer`."""

    cart: Cart | None
    attempt: CheckoutAttempt | None = None
    buyer: CartBuyer | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order]
    cursors: list[str]
    has_next_page: bool
    total_count: int


class ShipmentStatus(StrEnum):
    PENDING = "PENDING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


@dataclass(frozen=True, slots=True)
class ShipmentSource:
    """Where a shipment leaves from: one of ours (warehouse code) or a drop-ship supplier."""

    warehouse_code: str | None
    supplier_id: int | None

    @property
    def label(self) -> str:
        return self.warehouse_code or f"supplier:{self.supplier_id}"


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    order_line_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class NewShipment:
    source: ShipmentSource
    lines: tuple[ShipmentLine, ...]
    ship_by: datetime | None = None  # the promise to the buyer: leaves before this


@dataclass(frozen=True, slots=True)
class Shipment:
    id: int
    order_id: int
    source: ShipmentSource
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    lines: tuple[ShipmentLine, ...]
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    ship_by: datetime | None = None  # None: planned before ship-by promises existed


@dataclass(frozen=True, slots=True)
class ShipmentDuePage:
    """PENDING parcels by deadline (earliest first), a keyset page of them."""

    shipments: list[Shipment]
    cursors: list[str]
    has_next_page: bool
    total_count: int


@dataclass(frozen=True, slots=True)
class ServiceAppointment:
    """A service line (installation, warranty visit) is scheduled, not shipped."""

    id: int
    order_id: int
    order_line_id: int
    status: str  # TO_SCHEDULE | SCHEDULED | DONE
    created_at: datetime


class PaymentStage(StrEnum):
    """Presale orders are paid in two steps: the deposit now, the balance when the presale
    ends. Other orders are paid in full at once."""

    FULL = "FULL"
    DEPOSIT = "DEPOSIT"
    BALANCE = "BALANCE"


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    order_id: int
    stage: PaymentStage
    amount: Decimal
    at: datetime
    actor: str
    provider: str = "manual"  # staff marked it paid, or the provider that took the money
    reference: str | None = None  # the provider's trade number


@dataclass(frozen=True, slots=True)
class ProviderReceipt:
    """Which provider took a payment, under which of our attempt numbers and its own
    trade number: recorded with the payment, and the attempt marked PAID with it."""

    provider: str
    out_trade_no: str
    reference: str | None


class AttemptStatus(StrEnum):
    PENDING = "PENDING"  # waiting for the buyer to pay
    PAID = "PAID"  # the provider confirmed; a payment is recorded
    CLOSED = "CLOSED"  # the order expired or was cancelled before any money came
    FLAGGED = "FLAGGED"  # the provider reported another amount or currency: staff look
    LATE = "LATE"  # money came after the order was cancelled: refunded automatically


class PaymentActionKind(StrEnum):
    REDIRECT_URL = "REDIRECT_URL"  # send the buyer's browser there (phones)
    QR_CODE = "QR_CODE"  # show this content as a QR code (desktop)
    NONE = "NONE"  # nothing to show: staff take the money (manual)


@dataclass(frozen=True, slots=True)
class NewPaymentAttempt:
    order_id: int
    stage: PaymentStage
    provider: str
    out_trade_no: str
    amount: Decimal
    currency: str
    action_kind: PaymentActionKind
    action: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    id: int
    order_id: int
    stage: PaymentStage
    provider: str
    out_trade_no: str
    amount: Decimal
    currency: str
    status: AttemptStatus
    reference: str | None
    action_kind: PaymentActionKind
    action: str
    note: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None


class RefundStatus(StrEnum):
    PENDING = "PENDING"  # asked, not yet answered by the provider
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the provider refused or was unreachable: retried by the sweeper


@dataclass(frozen=True, slots=True)
class NewRefund:
    order_id: int
    attempt_id: int | None  # None: a manual payment, given back by staff
    stage: PaymentStage  # the payment it gives back (a presale's deposit or balance)
    provider: str
    request_no: str  # the idempotency key the provider sees
    amount: Decimal
    currency: str
    reason: str


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    order_id: int
    attempt_id: int | None
    stage: PaymentStage
    provider: str
    request_no: str
    amount: Decimal
    currency: str
    status: RefundStatus
    reason: str
    tries: int
    last_error: str | None
    reference: str | None
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None


class AfterSalesKind(StrEnum):
    RETURN = "RETURN"
    REFUND_ONLY = "REFUND_ONLY"
    EXCHANGE = "EXCHANGE"


class AfterSalesStatus(StrEnum):
    OPEN = "OPEN"
    # A refund above the shop's four-eyes threshold, approved once: a second staff member
    # (not the first) moves it to APPROVED.
    AWAITING_SECOND_APPROVAL = "AWAITING_SECOND_APPROVAL"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMPLETED = "COMPLETED"


@dataclass(frozen=True, slots=True)
class AfterSalesLine:
    order_line_id: int
    quantity: int
    refund_amount: Decimal  # what the buyer paid for these units, to the cent


@dataclass(frozen=True, slots=True)
class NewAfterSalesRequest:
    order_id: int
    customer_id: int
    kind: AfterSalesKind
    reason: str
    lines: tuple[AfterSalesLine, ...]
    refund_amount: Decimal | None  # lines' refunds (+ shipping when the whole order goes back)


@dataclass(frozen=True, slots=True)
class AfterSalesRequest:
    id: int
    order_id: int
    customer_id: int
    kind: AfterSalesKind
    status: AfterSalesStatus
    reason: str
    lines: tuple[AfterSalesLine, ...]
    refund_amount: Decimal | None
    created_at: datetime
    updated_at: datetime
    resolution_note: str | None


@dataclass(frozen=True, slots=True)
class AfterSalesStatusChange:
    request_id: int
    from_status: AfterSalesStatus | None
    to_status: AfterSalesStatus
    at: datetime
    actor: str
    note: str


@dataclass(frozen=True, slots=True)
class AfterSalesPage:
    requests: list[AfterSalesRequest]
    cursors: list[str]
    has_next_page: bool
    total_count: int


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One order line as finance settles it: what was sold, the discounts by promotion, what
    the buyer paid for it (``total``) and what was given back (``refunded``: approved or
    completed returns and refunds of the line; the whole line when a paid order was
    cancelled)."""

    order_id: int
    order_line_id: int
    sku_id: int
    quantity: int
    subtotal: Decimal
    discounts: tuple[LineDiscount, ...]
    total: Decimal
    refunded: Decimal


@dataclass(frozen=True, slots=True)
class ForfeitedDeposit:
    """A presale deposit the shop kept: the order was cancelled because its balance was
    not paid by the presale's deadline (sources/orders/forfeits.py)."""

    order_id: int
    amount: Decimal  # what was paid as deposit, minus any of it refunded
    currency: str


@dataclass(frozen=True, slots=True)
class ShippingLedgerLine:
    """An order's shipping charge and how much of it was refunded (shipping goes back with
    a request that returns the whole order, or with the cancellation of a paid order), so
    lines plus shipping add up to what was paid minus what was refunded."""

    order_id: int
    shipping: Decimal
    refunded: Decimal


@dataclass(frozen=True, slots=True)
class CustomerAddress:
    """An entry in a customer's address book; at most one per customer ``is_default``."""

    id: int
    customer_id: int
    address: Address
    is_default: bool


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """Customers for the back office, newest first; ``cursors`` align with ``customers``."""

    customers: list[Customer]
    cursors: list[str]
    has_next_page: bool
    total_count: int


@dataclass(frozen=True, slots=True)
class ShopProfile:
    """The shop itself (``gateway init``): languages first-is-default."""

    name: str
    currency: str
    languages: tuple[str, ...]
    free_shipping_over: Decimal | None


@dataclass(frozen=True, slots=True)
class SetupChanges:
    """What an idempotent set-up write did: run twice, the second says all unchanged."""

    added: int
    changed: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class ReconciliationDifference:
    """One way the provider's bill and the shop's books disagree (see
    gateway/payments/reconcile.py for the kinds)."""

    kind: str
    out_trade_no: str
    request_no: str | None
    shop_amount: Decimal | None
    bill_amount: Decimal | None
    note: str


@dataclass(frozen=True, slots=True)
class PaymentReconciliation:
    provider: str
    day: date
    ran_at: datetime
    payments_matched: int
    refunds_matched: int
    differences: tuple[ReconciliationDifference, ...]


# Every record above: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
