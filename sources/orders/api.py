"""OrdersSource: customers, carts, orders, checkout attempts, payments, shipments,
after-sales and the ledger as a typed interface, implemented by ``OrdersStore`` in process
and by ``RemoteSource`` over HTTP. The exceptions in ``ERRORS`` reach the caller as the same
class either way."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sources.common.audit import AuditRecord
from sources.common.wire import read

from .errors import (
    CartClosed,
    CartLineNotFound,
    CartNotFound,
    CheckoutAttemptLost,
    CustomerEmailTaken,
    PurchaseLimitReached,
    QuantityAlreadyRequested,
    SameApprover,
)
from .records import (
    Address,
    AfterSalesPage,
    AfterSalesRequest,
    AfterSalesStatus,
    AfterSalesStatusChange,
    AttemptStatus,
    Cart,
    CartBuyer,
    CartWithBuyer,
    CheckoutAttempt,
    CheckoutStart,
    Customer,
    CustomerAddress,
    CustomerPage,
    ForfeitedDeposit,
    LedgerLine,
    NewAfterSalesRequest,
    NewOrder,
    NewPaymentAttempt,
    NewRefund,
    NewShipment,
    Order,
    OrderLine,
    OrderPage,
    OrderStatus,
    Payment,
    PaymentAttempt,
    PaymentReconciliation,
    PaymentStage,
    PlacedOrder,
    ProviderReceipt,
    Refund,
    Region,
    ServiceAppointment,
    SetupChanges,
    Shipment,
    ShipmentDuePage,
    ShipmentStatus,
    ShippingLedgerLine,
    ShopProfile,
    StaffMember,
    StatusChange,
)

ERRORS: tuple[type[Exception], ...] = (
    CartNotFound,
    CartClosed,
    CartLineNotFound,
    CheckoutAttemptLost,
    CustomerEmailTaken,
    PurchaseLimitReached,
    QuantityAlreadyRequested,
    SameApprover,
)


class OrdersSource(Protocol):
    source: str

    @read
    async def customers_by_ids(self, ids: Sequence[int]) -> dict[int, Customer]: ...

    @read
    async def customers_by_emails(self, emails: Sequence[str]) -> dict[str, Customer]: ...

    @read
    async def staff_by_emails(self, emails: Sequence[str]) -> dict[str, StaffMember]: ...

    @read
    async def regions(self) -> list[Region]: ...

    @read
    async def regions_by_codes(self, codes: Sequence[str]) -> dict[str, Region]: ...

    @read
    async def cart_buyer(
        self, customer_id: int | None, region_code: str | None, limited_sku_ids: Sequence[int]
    ) -> CartBuyer:
        """A cart's buyer, its shipping region and what the buyer bought of the
        purchase-limited SKUs, in one call (the checkout's snapshot)."""

    @read
    async def customers_by_subjects(self, subjects: Sequence[str]) -> dict[str, Customer]: ...

    async def customer_for_subject(
        self, *, subject: str, email: str, name: str, email_verified: bool, now: datetime
    ) -> Customer:
        """Found or created on first use; CustomerEmailTaken when the email is another's."""

    @read
    async def addresses_by_customer_ids(
        self, customer_ids: Sequence[int]
    ) -> dict[int, list[CustomerAddress]]: ...

    async def create_address(
        self, customer_id: int, address: Address, *, is_default: bool
    ) -> CustomerAddress | None:
        """None when the customer's address book is full."""

    async def update_address(
        self,
        customer_id: int,
        address_id: int,
        address: Address | None,
        *,
        is_default: bool | None,
    ) -> CustomerAddress | None:
        """None when the address is not this customer's."""

    async def delete_address(self, customer_id: int, address_id: int) -> bool: ...

    @read
    async def list_customers(
        self, *, first: int, after: str | None = None, search: str | None = None
    ) -> CustomerPage: ...

    async def set_customer_blocked(
        self, customer_id: int, *, blocked: bool, actor: str, reason: str, now: datetime
    ) -> Customer | None: ...

    @read
    async def audit_by_customer_ids(
        self, customer_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]: ...

    @read
    async def audit_by_after_sales_ids(
        self, request_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        """Staff's moves of after-sales requests (approvals, rejections, completions)."""
        ...

    @read
    async def shop_profile(self) -> ShopProfile | None: ...

    async def save_shop_profile(self, profile: ShopProfile, now: datetime) -> bool: ...

    async def save_regions(self, regions: Sequence[Region]) -> SetupChanges: ...

    async def create_cart(
        self,
        *,
        customer_id: int | None,
        now: datetime,
        lines: Sequence[tuple[int, int]] = (),
        coupon_codes: Sequence[str] = (),
        address: Address | None = None,
    ) -> Cart:
        """``lines`` are (sku_id, quantity), written with the cart, its coupons and its
        address in one transaction."""

    async def create_cart_with_buyer(
        self,
        *,
        customer_id: int | None,
        now: datetime,
        lines: Sequence[tuple[int, int]] = (),
        coupon_codes: Sequence[str] = (),
        address: Address | None = None,
    ) -> CartWithBuyer:
        """``create_cart``, with the customer and the address's region read in the same call
        (what ``cart_buyer`` reads, purchases aside): cartCreate's one orders call."""

    @read
    async def carts_by_ids(self, ids: Sequence[str]) -> dict[str, Cart]: ...

    async def add_cart_lines(
        self, cart_id: str, items: Sequence[tuple[int, int]], now: datetime
    ) -> Cart:
        """``items`` are (sku_id, quantity); a SKU already in the cart adds to its line."""

    async def set_cart_line_quantities(
        self, cart_id: str, updates: Mapping[int, int], now: datetime
    ) -> Cart:
        """``updates`` maps line id to quantity; 0 removes the line."""

    async def remove_cart_lines(
        self, cart_id: str, line_ids: Collection[int], now: datetime
    ) -> Cart: ...

    async def set_cart_line_holds(
        self, cart_id: str, until: Mapping[int, datetime | None], now: datetime
    ) -> Cart:
        """Until when the inventory holds each line's stock, by line id (None: no hold)."""

    async def set_cart_coupons(self, cart_id: str, codes: Sequence[str], now: datetime) -> Cart: ...

    async def set_cart_address(
        self, cart_id: str, address: Address | None, now: datetime
    ) -> Cart: ...

    async def attach_cart(self, cart_id: str, customer_id: int, now: datetime) -> Cart: ...

    async def set_owned_cart_address(
        self, cart_id: str, customer_id: int | None, address: Address, now: datetime
    ) -> CartWithBuyer:
        """``set_cart_address`` of the viewer's cart (``customer_id``; None: anonymous) with
        no read before it, the buyer and region read in the same call. CartNotFound for a
        missing cart or another customer's, CartClosed for a completed one."""

    async def checkout_start(
        self,
        *,
        cart_id: str,
        customer_id: int,
        idempotency_key: str,
        now: datetime,
        stale_after: timedelta,
    ) -> CheckoutStart:
        """The cart (if the customer's or anonymous), the attempt claimed for its
        fingerprint and (when claimed) the buyer and region, in one call and transaction:
        ``carts_by_ids``, ``checkout_attempt`` and ``cart_buyer`` (purchases aside)."""

    @read
    async def checkout_lookup(
        self, *, cart_id: str, customer_id: int, idempotency_key: str
    ) -> CheckoutStart:
        """``checkout_start`` as a read, claiming nothing: the cart (if the customer's or
        anonymous) and the attempt for the key as it stands (None: there is none; else
        DONE, KEY_REUSED or IN_PROGRESS), one statement, no transaction. For a caller that
        may answer without writing (a flash sale's sold-out cart)."""

    async def checkout_attempt(
        self,
        *,
        customer_id: int,
        idempotency_key: str,
        fingerprint: str,
        now: datetime,
        stale_after: timedelta,
    ) -> CheckoutAttempt: ...

    async def abandon_checkout_attempt(self, customer_id: int, idempotency_key: str) -> bool: ...

    @read
    async def stale_checkout_attempts(
        self, older_than: datetime, *, limit: int = 1000
    ) -> list[str]: ...

    async def forget_checkout_attempt(
        self, order_ref: str, *, older_than: datetime | None = None
    ) -> bool: ...

    async def create_order(
        self, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
    ) -> Order: ...

    async def create_order_with_lines(
        self, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
    ) -> PlacedOrder:
        """``create_order``, with the order's lines as written (the checkout's payload)."""

    async def transition_order(
        self,
        order_id: int,
        *,
        to: OrderStatus,
        allowed_from: Collection[OrderStatus],
        actor: str,
        reason: str,
        now: datetime,
    ) -> Order | None: ...

    @read
    async def orders_by_ids(self, ids: Sequence[int]) -> dict[int, Order]: ...

    @read
    async def order_lines_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[OrderLine]]: ...

    @read
    async def status_history_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[StatusChange]]: ...

    @read
    async def orders_for_customers(
        self, customer_ids: Sequence[int], *, first: int, after: str | None = None
    ) -> dict[int, OrderPage]: ...

    @read
    async def list_orders(
        self,
        *,
        first: int,
        after: str | None = None,
        status: OrderStatus | None = None,
        customer_id: int | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> OrderPage:
        """Newest first; ``created_from``/``created_to`` bound a half-open range [from, to)."""

    @read
    async def purchased_quantities(
        self, customer_id: int, sku_ids: Sequence[int]
    ) -> dict[int, int]: ...

    async def record_payment(
        self,
        order_id: int,
        *,
        stage: PaymentStage,
        amount: Decimal,
        to: OrderStatus,
        allowed_from: Collection[OrderStatus],
        actor: str,
        now: datetime,
        receipt: ProviderReceipt | None = None,
    ) -> Order | None:
        """Once per (order, stage), with the status move (and the receipt's attempt turned
        PAID in the same transaction); None when refused (no write)."""

    @read
    async def payments_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Payment]]: ...

    async def create_payment_attempt(
        self, new: NewPaymentAttempt, now: datetime
    ) -> PaymentAttempt: ...

    @read
    async def payment_attempts_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[PaymentAttempt]]: ...

    @read
    async def payment_attempts_by_trade_nos(
        self, trade_nos: Sequence[str]
    ) -> dict[str, PaymentAttempt]: ...

    async def mark_payment_attempt(
        self,
        out_trade_no: str,
        *,
        to: AttemptStatus,
        allowed_from: Collection[AttemptStatus],
        note: str,
        reference: str | None,
        now: datetime,
    ) -> PaymentAttempt | None:
        """One conditional move; None (nothing written) when missing or not allowed."""

    async def close_payment_attempts(self, order_id: int, now: datetime) -> int: ...

    @read
    async def attempts_paid_between(
        self, *, paid_from: datetime, paid_to: datetime, provider: str
    ) -> list[PaymentAttempt]: ...

    @read
    async def unpaid_orders_due(self, *, created_before: datetime, limit: int = 500) -> list[Order]:
        """PENDING_PAYMENT orders placed before ``created_before`` with nothing paid."""

    @read
    async def orders_awaiting_balance(self, *, limit: int = 500) -> list[Order]:
        """PENDING_PAYMENT orders whose deposit is paid and balance is not."""

    async def request_refunds(self, refunds: Sequence[NewRefund], now: datetime) -> list[Refund]:
        """Idempotent by request_no: a known one comes back as stored."""

    @read
    async def refunds_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Refund]]: ...

    @read
    async def refunds_due(self, *, updated_before: datetime, limit: int = 200) -> list[Refund]: ...

    async def record_refund_result(
        self,
        refund_id: int,
        *,
        succeeded: bool,
        reference: str | None,
        error: str | None,
        now: datetime,
    ) -> Refund | None:
        """None when missing or already SUCCEEDED (nothing written)."""

    async def record_reconciliation(self, reconciliation: PaymentReconciliation) -> None:
        """Replaces the (provider, day) already recorded."""

    @read
    async def reconciliations_between(
        self, *, day_from: date, day_to: date
    ) -> list[PaymentReconciliation]:
        """Days in [day_from, day_to), by day then provider."""

    @read
    async def refunds_succeeded_between(
        self, *, succeeded_from: datetime, succeeded_to: datetime, provider: str
    ) -> list[Refund]: ...

    async def create_shipments(
        self,
        order_id: int,
        shipments: Sequence[NewShipment],
        service_line_ids: Sequence[int],
        now: datetime,
    ) -> list[Shipment]:
        """Once per order: an order already planned gets its shipments back, unchanged."""

    @read
    async def shipments_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Shipment]]: ...

    @read
    async def shipments_by_ids(self, ids: Sequence[int]) -> dict[int, Shipment]: ...

    @read
    async def appointments_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[ServiceAppointment]]: ...

    @read
    async def appointments_by_ids(self, ids: Sequence[int]) -> dict[int, ServiceAppointment]: ...

    async def complete_appointment(
        self, appointment_id: int, *, actor: str, now: datetime
    ) -> tuple[ServiceAppointment, Order] | None:
        """TO_SCHEDULE or SCHEDULED -> DONE, the order following (COMPLETED once every
        parcel is delivered and every appointment done); None when missing, already DONE,
        or its order is unpaid or cancelled."""

    async def mark_shipment(
        self,
        shipment_id: int,
        *,
        to: ShipmentStatus,
        carrier: str | None,
        tracking_number: str | None,
        actor: str,
        now: datetime,
    ) -> tuple[Shipment, Order] | None:
        """PENDING -> SHIPPED -> DELIVERED, the order following; None when refused."""

    @read
    async def requested_quantities(self, order_line_ids: Sequence[int]) -> dict[int, int]: ...

    async def create_after_sales_request(
        self, new: NewAfterSalesRequest, *, actor: str, now: datetime
    ) -> AfterSalesRequest: ...

    @read
    async def after_sales_by_ids(self, ids: Sequence[int]) -> dict[int, AfterSalesRequest]: ...

    @read
    async def after_sales_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[AfterSalesRequest]]: ...

    @read
    async def after_sales_history_by_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[AfterSalesStatusChange]]: ...

    @read
    async def list_after_sales(
        self, *, first: int, after: str | None, status: AfterSalesStatus | None
    ) -> AfterSalesPage: ...

    async def transition_after_sales(
        self,
        request_id: int,
        *,
        to: AfterSalesStatus,
        allowed_from: Collection[AfterSalesStatus],
        actor: str,
        note: str,
        now: datetime,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        distinct_actor: bool = False,
    ) -> tuple[AfterSalesRequest | None, bool]:
        """(request, replayed); (None, False) when refused. IdempotencyKeyReused when the
        key was used with another fingerprint; SameApprover, with ``distinct_actor``, when
        ``actor`` moved the request into its current status (four eyes)."""

    async def forget_expired_idempotency_keys(self, now: datetime) -> None:
        """For the sweeper: keys older than their 24 hours of retention."""

    @read
    async def ledger(self, *, created_from: datetime, created_to: datetime) -> list[LedgerLine]: ...

    @read
    async def shipping_ledger(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[ShippingLedgerLine]: ...

    @read
    async def forfeited_deposits(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[ForfeitedDeposit]:
        """Presale deposits kept of orders placed in the period and cancelled for an
        unpaid balance (minus any part refunded), by order id."""

    @read
    async def shipments_due(
        self, *, before: datetime, source: str | None, first: int, after: str | None = None
    ) -> ShipmentDuePage:
        """PENDING parcels promised before ``before``, earliest first."""

    @read
    async def overdue_shipment_counts(self, now: datetime) -> dict[str, int]:
        """Parcels past their ship-by time, per source label."""
