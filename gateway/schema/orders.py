"""Customers and their orders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from sources.common.pagination import InvalidCursor
from sources.orders.records import Customer as CustomerRecord
from sources.orders.records import Order as OrderRecord
from sources.orders.records import OrderLine as OrderLineRecord
from sources.orders.records import OrderPage
from sources.orders.records import OrderStatus as OrderStatusRecord
from sources.orders.records import Payment as PaymentRecord
from sources.orders.records import PaymentStage as PaymentStageRecord
from sources.orders.records import StatusChange as StatusChangeRecord

from ..auth import Permission, Viewer
from .cart import Address, CartCost, DiscountAllocation, allocations
from .catalog import Sku
from .common import BadUserInput, Info, Money, PageInfo, page_size
from .enums import describe_values
from .errors import UserError
from .node import Node, encode_id

if TYPE_CHECKING:
    from .aftersales import AfterSalesRequest
    from .customers import CustomerAddress
    from .payments import PaymentAttempt, PaymentProvider, Refund
    from .shipments import ServiceAppointment, Shipment

strawberry.enum(OrderStatusRecord, name="OrderStatus", description="Where an order stands.")
describe_values(
    OrderStatusRecord,
    {
        "PENDING_PAYMENT": "Placed, stock reserved, waiting for payment (it expires unpaid).",
        "PAID": "Paid (for a presale: its deposit or in full); parcels are being prepared.",
        "PARTIALLY_SHIPPED": "Some parcels have shipped, others not yet.",
        "SHIPPED": "Every parcel has shipped; not everything delivered or done yet.",
        "COMPLETED": "Every parcel delivered and every service appointment done.",
        "CANCELLED": "Cancelled before shipping; its stock went back on sale.",
    },
)
strawberry.enum(
    PaymentStageRecord, name="PaymentStage", description="Which part of an order a payment pays."
)
describe_values(
    PaymentStageRecord,
    {
        "FULL": "The whole order at once.",
        "DEPOSIT": "A presale's deposit, at checkout.",
        "BALANCE": "A presale's balance, once the presale has ended.",
    },
)


def shown_actor(viewer: Viewer, actor: str) -> str:
    """Staff see who moved an order or request; a buyer sees only what kind of actor."""
    if viewer.has(Permission.MANAGE_ORDERS) or viewer.has(Permission.MANAGE_AFTER_SALES):
        return actor
    return actor.partition(":")[0]


def may_see_customer(viewer: Viewer, customer_id: int) -> bool:
    """The customer themself or order staff; anyone else reads it as not found."""
    return viewer.customer_id == customer_id or viewer.has(Permission.MANAGE_ORDERS)


@strawberry.type(description="One SKU bought in an order, at the price fixed at checkout.")
class OrderLine:
    id: strawberry.ID = strawberry.field(
        description="The line's global id (Relay); after-sales requests name it."
    )
    product_name: str = strawberry.field(
        description="The product's name when ordered (kept if the product is renamed)."
    )
    quantity: int = strawberry.field(description="Units bought.")
    unit_price: Money = strawberry.field(description="The price paid per unit, before discounts.")
    discounts: list[DiscountAllocation] = strawberry.field(
        description="The discounts on this line, per promotion."
    )
    total: Money = strawberry.field(
        description="Unit price times quantity, minus this line's discounts."
    )
    record: strawberry.Private[OrderLineRecord]

    @classmethod
    def from_record(cls, record: OrderLineRecord, currency: str) -> OrderLine:
        return cls(
            id=encode_id("OrderLine", record.id),
            product_name=record.product_name,
            quantity=record.quantity,
            unit_price=Money.of(record.unit_price, currency),
            discounts=allocations(record.discounts, currency),
            total=Money.of(record.total, currency),
            record=record,
        )

    @strawberry.field(description="The SKU bought.")
    async def sku(self, info: Info) -> Sku:
        record = await info.context.loaders.catalog.sku.load(self.record.sku_id)
        if record is None:
            raise RuntimeError(f"SKU {self.record.sku_id} is gone")
        return Sku.from_record(record)

    @strawberry.field(
        description="The ship-by promise of this line: the latest of the parcels carrying "
        "it (null until the order is paid, and for service lines)."
    )
    async def ship_by(self, info: Info) -> datetime | None:
        parcels = await info.context.loaders.orders.shipments.load(self.record.order_id)
        promises = [
            s.ship_by
            for s in parcels
            if s.ship_by is not None and any(i.order_line_id == self.record.id for i in s.lines)
        ]
        return max(promises) if promises else None


@strawberry.type(description="One move of an order's status: who, when, why.")
class OrderStatusChange:
    from_status: OrderStatusRecord | None = strawberry.field(
        description="The status before; null for the order being placed."
    )
    to_status: OrderStatusRecord = strawberry.field(description="The status after.")
    at: datetime = strawberry.field(description="When it changed (UTC).")
    reason: str = strawberry.field(
        description="Why (e.g. a cancellation's reason); empty when none."
    )
    record: strawberry.Private[StatusChangeRecord]

    @strawberry.field(
        description="Who: 'customer', 'staff' or 'system' for the buyer; the staff member or "
        "customer id (e.g. 'staff:7') for order and after-sales staff."
    )
    def actor(self, info: Info) -> str:
        return shown_actor(info.context.viewer, self.record.actor)


@strawberry.type(
    description="Money received for an order: in full, or a presale's deposit then its balance."
)
class Payment:
    stage: PaymentStageRecord = strawberry.field(
        description="Which part of the order it paid: in full, a deposit or a balance."
    )
    amount: Money = strawberry.field(description="The amount received, in the shop's currency.")
    at: datetime = strawberry.field(description="When it was received (UTC).")

    record: strawberry.Private[PaymentRecord]

    @classmethod
    def from_record(cls, record: PaymentRecord, currency: str) -> Payment:
        return cls(
            stage=record.stage,
            amount=Money.of(record.amount, currency),
            at=record.at,
            record=record,
        )

    @strawberry.field(description="Who took the money: a provider, or MANUAL (staff).")
    def provider(self) -> Annotated[PaymentProvider, strawberry.lazy(".payments")]:
        from .payments import PaymentProvider

        return PaymentProvider(self.record.provider)

    @strawberry.field(description="The provider's trade number; null for a manual payment.")
    def reference(self) -> str | None:
        return self.record.reference


@strawberry.type(
    description="An order placed from a cart. Its owner and MANAGE_ORDERS staff see it."
)
class Order(Node):
    number: str = strawberry.field(
        description="The order number shown to the buyer and on parcels."
    )
    status: OrderStatusRecord = strawberry.field(description="Where the order stands.")
    created_at: datetime = strawberry.field(description="When it was placed (UTC).")
    cost: CartCost = strawberry.field(
        description=(
            "What it cost when placed (prices, discounts and shipping are fixed at checkout)."
        )
    )
    shipping_address: Address | None = strawberry.field(
        description="Where it ships; null for an order of services only."
    )
    record: strawberry.Private[OrderRecord]

    @classmethod
    def from_record(cls, record: OrderRecord) -> Order:
        c = record.currency
        return cls(
            id=encode_id("Order", record.id),
            number=record.number,
            status=record.status,
            created_at=record.created_at,
            cost=CartCost(
                subtotal=Money.of(record.subtotal, c),
                discount_total=Money.of(record.discount_total, c),
                shipping_total=Money.of(record.shipping_total, c),
                total=Money.of(record.total, c),
                deposit_due=Money.of(record.deposit_due, c)
                if record.deposit_due is not None
                else None,
            ),
            shipping_address=Address.from_record(record.shipping_address),
            record=record,
        )

    @strawberry.field(description="What was bought, one line per SKU.")
    async def lines(self, info: Info) -> list[OrderLine]:
        lines = await info.context.loaders.orders.order_lines.load(self.record.id)
        return [OrderLine.from_record(line, self.record.currency) for line in lines]

    @strawberry.field(
        description="Parcels, one per warehouse or drop-ship supplier; planned "
        "when the order is paid."
    )
    async def shipments(
        self, info: Info
    ) -> list[Annotated[Shipment, strawberry.lazy("gateway.schema.shipments")]]:
        from .shipments import Shipment

        found = await info.context.loaders.orders.shipments.load(self.record.id)
        return [Shipment.from_record(s) for s in found]

    @strawberry.field(description="Service lines to schedule; planned when the order is paid.")
    async def service_appointments(
        self, info: Info
    ) -> list[Annotated[ServiceAppointment, strawberry.lazy("gateway.schema.shipments")]]:
        from .shipments import ServiceAppointment

        found = await info.context.loaders.orders.appointments.load(self.record.id)
        return [ServiceAppointment.from_record(a) for a in found]

    @strawberry.field(description="Returns, refunds and exchanges asked for, oldest first.")
    async def after_sales_requests(
        self, info: Info
    ) -> list[Annotated[AfterSalesRequest, strawberry.lazy("gateway.schema.aftersales")]]:
        from .aftersales import AfterSalesRequest

        found = await info.context.loaders.orders.after_sales.load(self.record.id)
        return [AfterSalesRequest.from_record(r) for r in found]

    @strawberry.field(description="Every status move, oldest first (placement included).")
    async def status_history(self, info: Info) -> list[OrderStatusChange]:
        changes = await info.context.loaders.orders.status_history.load(self.record.id)
        return [
            OrderStatusChange(
                from_status=c.from_status, to_status=c.to_status, at=c.at, reason=c.reason, record=c
            )
            for c in changes
        ]

    @strawberry.field(description="Money received, oldest first.")
    async def payments(self, info: Info) -> list[Payment]:
        found = await info.context.loaders.orders.payments.load(self.record.id)
        return [Payment.from_record(p, self.record.currency) for p in found]

    @strawberry.field(
        description="Every try at paying through a provider, oldest first: its status, "
        "amount and the provider's reference (a presale's deposit and balance are separate)."
    )
    async def payment_attempts(
        self, info: Info
    ) -> list[Annotated[PaymentAttempt, strawberry.lazy(".payments")]]:
        from .payments import PaymentAttempt

        found = await info.context.loaders.orders.payment_attempts.load(self.record.id)
        return [PaymentAttempt.from_record(a) for a in found]

    @strawberry.field(description="Money given back through the providers, oldest first.")
    async def refunds(self, info: Info) -> list[Annotated[Refund, strawberry.lazy(".payments")]]:
        from .payments import Refund

        found = await info.context.loaders.orders.refunds.load(self.record.id)
        return [Refund.from_record(r) for r in found]

    @strawberry.field(
        description="While nothing is paid: when the order is cancelled if still unpaid "
        "(ORDER_PAYMENT_TTL after it was placed). Null once paid or cancelled."
    )
    async def payment_due_by(self, info: Info) -> datetime | None:
        cashier = info.context.cashier
        if cashier is None or self.record.status is not OrderStatusRecord.PENDING_PAYMENT:
            return None
        if await info.context.loaders.orders.payments.load(self.record.id):
            return None  # a presale's deposit is paid: its balance waits for the presale
        return self.record.created_at + cashier.payment_ttl

    @strawberry.field(description="The owner, or anyone for MANAGE_ORDERS staff; else null.")
    async def customer(self, info: Info) -> Customer | None:
        if not may_see_customer(info.context.viewer, self.record.customer_id):
            return None
        record = await info.context.loaders.orders.customer.load(self.record.customer_id)
        return Customer.from_record(record) if record else None


@strawberry.type(description="One order and its cursor.")
class OrderEdge:
    cursor: str = strawberry.field(description="Pass as `after` to get the orders after this one.")
    node: Order = strawberry.field(description="The order.")


@strawberry.type(description="A page of orders (Relay connection).")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(
        description="The orders on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many orders match, across all pages.")

    @classmethod
    def from_page(cls, page: OrderPage, *, after: str | None) -> OrderConnection:
        return cls(
            edges=[
                OrderEdge(cursor=cursor, node=Order.from_record(order))
                for order, cursor in zip(page.orders, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
            total_count=page.total_count,
        )


@strawberry.type(
    description=(
        "A customer account. Visible to the customer themselves and to MANAGE_CUSTOMERS staff."
    )
)
class Customer(Node):
    email: str = strawberry.field(description="The customer's email address.")
    name: str = strawberry.field(description="The customer's display name.")
    record: strawberry.Private[CustomerRecord]

    @classmethod
    def from_record(cls, record: CustomerRecord) -> Customer:
        return cls(
            id=encode_id("Customer", record.id), email=record.email, name=record.name, record=record
        )

    @strawberry.field(
        description="Whether support staff blocked this customer (a blocked customer cannot "
        "check out: CUSTOMER_BLOCKED)."
    )
    def blocked(self) -> bool:
        return self.record.is_blocked

    @strawberry.field(
        description="The address book, the default first (the customer themself, or staff "
        "with MANAGE_CUSTOMERS; empty for anyone else)."
    )
    async def addresses(
        self, info: Info
    ) -> list[Annotated[CustomerAddress, strawberry.lazy("gateway.schema.customers")]]:
        from .customers import CustomerAddress

        viewer = info.context.viewer
        if viewer.customer_id != self.record.id and not viewer.has(Permission.MANAGE_CUSTOMERS):
            return []
        book = await info.context.loaders.orders.addresses.load(self.record.id)
        return [CustomerAddress.from_record(entry) for entry in book]

    @strawberry.field(description="Newest first.")
    async def orders(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
                )
            ),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from a previous page's edges (or pageInfo.endCursor)."
            ),
        ] = None,
    ) -> OrderConnection:
        if not may_see_customer(info.context.viewer, self.record.id):
            # Support staff find customers without seeing their orders (MANAGE_ORDERS does).
            return OrderConnection.from_page(
                OrderPage(orders=[], cursors=[], has_next_page=False, total_count=0), after=after
            )
        size = page_size(info, first)
        try:
            page = await info.context.loaders.orders.customer_orders.load(
                (self.record.id, size, after)
            )
        except InvalidCursor as exc:
            raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
        for record in page.orders:  # what the page's requests and parcels read their order from
            info.context.loaders.orders.order.prime(record.id, record)
        return OrderConnection.from_page(page, after=after)


@strawberry.type(description="The order placed, or why it was not.")
class CheckoutCompletePayload:
    order: Order | None = strawberry.field(
        default=None,
        description=(
            "The new order (or the one this idempotencyKey already placed); null "
            "when userErrors say why not."
        ),
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "Why the order was not placed: CART_NOT_FOUND, CART_EMPTY, "
            "CART_COMPLETED, SHIPPING_ADDRESS_REQUIRED, REGION_NOT_DELIVERABLE, "
            "SERVICE_AREA_UNAVAILABLE, INSUFFICIENT_STOCK, PURCHASE_LIMIT_EXCEEDED,"
            " SKU_INACTIVE, PRODUCT_UNAVAILABLE, PRESALE_*, BUNDLE_INCOMPLETE, "
            "COUPON_*, PRICE_CHANGED, CUSTOMER_BLOCKED, IDEMPOTENCY_KEY_REUSED."
        ),
    )


@strawberry.type(description="The order after the mutation, or why not.")
class OrderPayload:
    order: Order | None = strawberry.field(
        default=None, description="The order as it is now; null when userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done: ORDER_NOT_FOUND, INVALID_STATUS_TRANSITION, "
            "PERMISSION_DENIED, LOGIN_REQUIRED, PAYMENT_PROVIDER_UNAVAILABLE."
        ),
    )
