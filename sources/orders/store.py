"""OrdersStore: customers, staff and delivery regions, carts, orders and checkout
attempts, payments, shipments, after-sales requests and the settlement ledger. Reads take
many keys and cost one round trip whatever their number; each write is one transaction,
and every status change one conditional UPDATE with a history row, so of racing callers
exactly one wins. The work lives in one module per idea (carts, orders, order_queries,
checkout_attempts, and for what follows payment: payments, shipments, after_sales,
after_sales_queries, ledger, whose doors are in OrderOperations); this class is the one
door the gateway (and the HTTP service) uses.

Cart writes raise CartNotFound, CartClosed or CartLineNotFound (all CartError) and change
nothing; ``create_order`` raises those or CheckoutAttemptLost, also changing nothing;
``create_after_sales_request`` raises QuantityAlreadyRequested, changing nothing. Refused
transitions return None. ValueError means the caller broke the contract (a bug)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from sources.common.audit import AuditRecord, read_audit
from sources.common.db import Database

from . import buyers, carts, checkout_attempts, customers, order_queries, orders, shop_setup
from . import models as m
from .errors import (
    CartClosed,
    CartError,
    CartLineNotFound,
    CartNotFound,
    CheckoutAttemptLost,
    CustomerEmailTaken,
    PurchaseLimitReached,
    QuantityAlreadyRequested,
    SameApprover,
)
from .order_operations import OrderOperations
from .payment_operations import PaymentOperations
from .records import (
    Address,
    Cart,
    CartBuyer,
    CartWithBuyer,
    CheckoutAttempt,
    CheckoutStart,
    Customer,
    CustomerAddress,
    CustomerPage,
    NewOrder,
    Order,
    OrderLine,
    OrderPage,
    OrderStatus,
    PlacedOrder,
    Region,
    SetupChanges,
    ShopProfile,
    StaffMember,
    StatusChange,
)

__all__ = [
    "CartClosed",
    "CartError",
    "CartLineNotFound",
    "CartNotFound",
    "CheckoutAttemptLost",
    "CustomerEmailTaken",
    "OrdersStore",
    "PurchaseLimitReached",
    "QuantityAlreadyRequested",
    "SameApprover",
]


# The checkout's reads, built once (buyers.py).
_CUSTOMERS_BY_IDS = buyers.CUSTOMERS_BY_IDS
_REGIONS_BY_CODES = buyers.REGIONS_BY_CODES


class OrdersStore(OrderOperations, PaymentOperations):
    source = "orders"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def customers_by_ids(self, ids: Sequence[int]) -> dict[int, Customer]:
        async with self.db.connect() as conn:
            rows = await conn.execute(_CUSTOMERS_BY_IDS, {"ids": list(set(ids))})
            return {r.id: Customer(r.id, r.email, r.name, r.is_blocked) for r in rows}

    async def customers_by_emails(self, emails: Sequence[str]) -> dict[str, Customer]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(m.Customer).where(m.Customer.email.in_({e.lower() for e in emails}))
            )
            return {r.email: Customer(r.id, r.email, r.name, r.is_blocked) for r in rows}

    async def staff_by_emails(self, emails: Sequence[str]) -> dict[str, StaffMember]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(m.StaffMember).where(m.StaffMember.email.in_({e.lower() for e in emails}))
            )
            return {
                r.email: StaffMember(
                    r.id, r.email, r.name, tuple(p for p in r.permissions.split(",") if p)
                )
                for r in rows
            }

    async def regions(self) -> list[Region]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Region).order_by(m.Region.code))
            return [
                Region(r.code, r.country, r.name, r.is_deliverable, r.shipping_rate) for r in rows
            ]

    async def regions_by_codes(self, codes: Sequence[str]) -> dict[str, Region]:
        async with self.db.connect() as conn:
            rows = await conn.execute(_REGIONS_BY_CODES, {"codes": list(set(codes))})
            return {
                r.code: Region(r.code, r.country, r.name, r.is_deliverable, r.shipping_rate)
                for r in rows
            }

    async def cart_buyer(
        self, customer_id: int | None, region_code: str | None, limited_sku_ids: Sequence[int]
    ) -> CartBuyer:
        """The customer, the region and the purchases (when there is a buyer and a limit) in
        one call and one connection, read in that order with the single-purpose reads'
        statements."""
        async with self.db.connect() as conn:
            return await buyers.buyer_on(conn, customer_id, region_code, limited_sku_ids)

    # Customers from the identity provider, address books, the back office's view

    async def customers_by_subjects(self, subjects: Sequence[str]) -> dict[str, Customer]:
        return await customers.customers_by_subjects(self.db, subjects)

    async def customer_for_subject(
        self, *, subject: str, email: str, name: str, email_verified: bool, now: datetime
    ) -> Customer:
        """Found or created on first use; CustomerEmailTaken when the email is another's."""
        return await customers.customer_for_subject(
            self.db,
            subject=subject,
            email=email,
            name=name,
            email_verified=email_verified,
            now=now,
        )

    async def addresses_by_customer_ids(
        self, customer_ids: Sequence[int]
    ) -> dict[int, list[CustomerAddress]]:
        return await customers.addresses_by_customer_ids(self.db, customer_ids)

    async def create_address(
        self, customer_id: int, address: Address, *, is_default: bool
    ) -> CustomerAddress | None:
        """None when the customer's address book is full."""
        return await customers.create_address(self.db, customer_id, address, is_default=is_default)

    async def update_address(
        self,
        customer_id: int,
        address_id: int,
        address: Address | None,
        *,
        is_default: bool | None,
    ) -> CustomerAddress | None:
        """None when the address is not this customer's."""
        return await customers.update_address(
            self.db, customer_id, address_id, address, is_default=is_default
        )

    async def delete_address(self, customer_id: int, address_id: int) -> bool:
        return await customers.delete_address(self.db, customer_id, address_id)

    async def list_customers(
        self, *, first: int, after: str | None = None, search: str | None = None
    ) -> CustomerPage:
        return await customers.list_customers(self.db, first=first, after=after, search=search)

    async def set_customer_blocked(
        self, customer_id: int, *, blocked: bool, actor: str, reason: str, now: datetime
    ) -> Customer | None:
        return await customers.set_customer_blocked(
            self.db, customer_id, blocked=blocked, actor=actor, reason=reason, now=now
        )

    async def audit_by_customer_ids(
        self, customer_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(
                conn, m.AuditEntry, self.source, "customer", customer_ids, limit
            )

    async def audit_by_after_sales_ids(
        self, request_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(
                conn, m.AuditEntry, self.source, "after_sales_request", request_ids, limit
            )

    # The shop's profile and delivery regions (gateway init)

    async def shop_profile(self) -> ShopProfile | None:
        return await shop_setup.shop_profile(self.db)

    async def save_shop_profile(self, profile: ShopProfile, now: datetime) -> bool:
        return await shop_setup.save_shop_profile(self.db, profile, now)

    async def save_regions(self, regions: Sequence[Region]) -> SetupChanges:
        return await shop_setup.save_regions(self.db, regions)

    # Carts

    async def create_cart(
        self,
        *,
        customer_id: int | None,
        now: datetime,
        lines: Sequence[tuple[int, int]] = (),
        coupon_codes: Sequence[str] = (),
        address: Address | None = None,
    ) -> Cart:
        """``lines`` are (sku_id, quantity), written with the cart in one transaction."""
        return await carts.create_cart(
            self.db,
            customer_id=customer_id,
            now=now,
            lines=lines,
            coupon_codes=coupon_codes,
            address=address,
        )

    async def create_cart_with_buyer(
        self,
        *,
        customer_id: int | None,
        now: datetime,
        lines: Sequence[tuple[int, int]] = (),
        coupon_codes: Sequence[str] = (),
        address: Address | None = None,
    ) -> CartWithBuyer:
        return await carts.create_cart_with_buyer(
            self.db,
            customer_id=customer_id,
            now=now,
            lines=lines,
            coupon_codes=coupon_codes,
            address=address,
        )

    async def carts_by_ids(self, ids: Sequence[str]) -> dict[str, Cart]:
        async with self.db.connect() as conn:
            return await carts.load_carts(conn, set(ids))

    async def add_cart_lines(
        self, cart_id: str, items: Sequence[tuple[int, int]], now: datetime
    ) -> Cart:
        """``items`` are (sku_id, quantity); a SKU already in the cart adds to its line."""
        return await carts.add_cart_lines(self.db, cart_id, items, now)

    async def set_cart_line_quantities(
        self, cart_id: str, updates: Mapping[int, int], now: datetime
    ) -> Cart:
        """``updates`` maps line id to quantity; 0 removes the line."""
        return await carts.set_cart_line_quantities(self.db, cart_id, updates, now)

    async def remove_cart_lines(
        self, cart_id: str, line_ids: Collection[int], now: datetime
    ) -> Cart:
        return await carts.remove_cart_lines(self.db, cart_id, line_ids, now)

    async def set_cart_line_holds(
        self, cart_id: str, until: Mapping[int, datetime | None], now: datetime
    ) -> Cart:
        """Until when the inventory holds each line's stock, by line id (None: no hold)."""
        return await carts.set_cart_line_holds(self.db, cart_id, until, now)

    async def set_cart_coupons(self, cart_id: str, codes: Sequence[str], now: datetime) -> Cart:
        return await carts.set_cart_coupons(self.db, cart_id, codes, now)

    async def set_cart_address(self, cart_id: str, address: Address | None, now: datetime) -> Cart:
        return await carts.set_cart_address(self.db, cart_id, address, now)

    async def attach_cart(self, cart_id: str, customer_id: int, now: datetime) -> Cart:
        return await carts.attach_cart(self.db, cart_id, customer_id, now)

    async def set_owned_cart_address(
        self, cart_id: str, customer_id: int | None, address: Address, now: datetime
    ) -> CartWithBuyer:
        return await carts.set_owned_cart_address(self.db, cart_id, customer_id, address, now)

    # Checkout attempts

    async def checkout_start(
        self,
        *,
        cart_id: str,
        customer_id: int,
        idempotency_key: str,
        now: datetime,
        stale_after: timedelta,
    ) -> CheckoutStart:
        return await checkout_attempts.checkout_start(
            self.db,
            cart_id=cart_id,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            now=now,
            stale_after=stale_after,
        )

    async def checkout_lookup(
        self, *, cart_id: str, customer_id: int, idempotency_key: str
    ) -> CheckoutStart:
        return await checkout_attempts.checkout_lookup(
            self.db, cart_id=cart_id, customer_id=customer_id, idempotency_key=idempotency_key
        )

    async def checkout_attempt(
        self,
        *,
        customer_id: int,
        idempotency_key: str,
        fingerprint: str,
        now: datetime,
        stale_after: timedelta,
    ) -> CheckoutAttempt:
        return await checkout_attempts.checkout_attempt(
            self.db,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            now=now,
            stale_after=stale_after,
        )

    async def abandon_checkout_attempt(self, customer_id: int, idempotency_key: str) -> bool:
        return await checkout_attempts.abandon_checkout_attempt(
            self.db, customer_id, idempotency_key
        )

    async def stale_checkout_attempts(
        self, older_than: datetime, *, limit: int = 1000
    ) -> list[str]:
        return await checkout_attempts.stale_checkout_attempts(self.db, older_than, limit=limit)

    async def forget_checkout_attempt(
        self, order_ref: str, *, older_than: datetime | None = None
    ) -> bool:
        return await checkout_attempts.forget_checkout_attempt(
            self.db, order_ref, older_than=older_than
        )

    # Orders

    async def create_order(
        self, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
    ) -> Order:
        return await orders.create_order(
            self.db, new, idempotency_key=idempotency_key, actor=actor, now=now
        )

    async def create_order_with_lines(
        self, new: NewOrder, *, idempotency_key: str, actor: str, now: datetime
    ) -> PlacedOrder:
        return await orders.create_order_with_lines(
            self.db, new, idempotency_key=idempotency_key, actor=actor, now=now
        )

    async def transition_order(
        self,
        order_id: int,
        *,
        to: OrderStatus,
        allowed_from: Collection[OrderStatus],
        actor: str,
        reason: str,
        now: datetime,
    ) -> Order | None:
        return await orders.transition_order(
            self.db,
            order_id,
            to=to,
            allowed_from=allowed_from,
            actor=actor,
            reason=reason,
            now=now,
        )

    async def orders_by_ids(self, ids: Sequence[int]) -> dict[int, Order]:
        return await order_queries.orders_by_ids(self.db, ids)

    async def order_lines_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[OrderLine]]:
        return await order_queries.order_lines_by_order_ids(self.db, ids)

    async def status_history_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[StatusChange]]:
        return await order_queries.status_history_by_order_ids(self.db, ids)

    async def orders_for_customers(
        self, customer_ids: Sequence[int], *, first: int, after: str | None = None
    ) -> dict[int, OrderPage]:
        return await order_queries.orders_for_customers(
            self.db, customer_ids, first=first, after=after
        )

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
        return await order_queries.list_orders(
            self.db,
            first=first,
            after=after,
            status=status,
            customer_id=customer_id,
            created_from=created_from,
            created_to=created_to,
        )

    async def purchased_quantities(
        self, customer_id: int, sku_ids: Sequence[int]
    ) -> dict[int, int]:
        return await order_queries.purchased_quantities(self.db, customer_id, sku_ids)
