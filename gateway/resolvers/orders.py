"""The signed-in customer, orders, checkout and cancellation."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from sources.common.pagination import InvalidCursor
from sources.orders.records import Order as OrderRecord
from sources.orders.records import OrderPage, OrderStatus, PaymentStage

from ..aftersales.cancel import CancelOutcome as PaidCancelOutcome
from ..aftersales.cancel import cancel_paid_order
from ..auth import Permission
from ..checkout.cancel import CancelOutcome, cancel_order
from ..checkout.place_order import CheckoutPolicy, complete_checkout
from ..errors import Problem, UserErrorCode
from ..schema.common import BadUserInput, Info, page_size
from ..schema.errors import user_errors
from ..schema.inventory import stock_view
from ..schema.node import decode_int_id
from ..schema.orders import (
    CheckoutCompletePayload,
    Customer,
    Order,
    OrderConnection,
    OrderPayload,
    may_see_customer,
)
from .cart import cart_token

MAX_KEY_LENGTH = 200


async def viewer(info: Info) -> Customer | None:
    """The signed-in customer; null when anonymous, staff, or the customer no longer exists."""
    customer_id = info.context.viewer.customer_id
    if customer_id is None:
        return None
    record = await info.context.loaders.orders.customer.load(customer_id)
    return Customer.from_record(record) if record else None


async def _visible_order(info: Info, global_id: str) -> Order | None:
    try:
        pk = decode_int_id(global_id, "Order")
    except BadUserInput:
        return None
    record = await info.context.loaders.orders.order.load(pk) if pk is not None else None
    if record is None or not may_see_customer(info.context.viewer, record.customer_id):
        return None
    return Order.from_record(record)


async def order(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The order's id (Order.id).")],
) -> Order | None:
    return await _visible_order(info, id)


async def orders(
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
    status: Annotated[
        OrderStatus | None, strawberry.argument(description="Only orders in this status.")
    ] = None,
    customer_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only this customer's orders (Customer.id)."),
    ] = None,
    created_from: Annotated[
        datetime | None,
        strawberry.argument(
            description="Placed at or after this time (DateTime, ISO 8601 with a time zone)."
        ),
    ] = None,
    created_to: Annotated[
        datetime | None,
        strawberry.argument(
            description="Placed before this time (DateTime, ISO 8601 with a time zone)."
        ),
    ] = None,
) -> OrderConnection:
    """Newest first; ``createdFrom``/``createdTo`` bound the placement time [from, to)."""
    size = page_size(info, first)
    customer = decode_int_id(customer_id, "Customer") if customer_id is not None else None
    if customer_id is not None and customer is None:  # another type's id: nobody's orders
        return OrderConnection.from_page(
            OrderPage(orders=[], cursors=[], has_next_page=False, total_count=0),
            after=after,
        )
    try:
        page = await info.context.sources.orders.list_orders(
            first=size,
            after=after,
            status=status,
            customer_id=customer,
            created_from=_utc(created_from),
            created_to=_utc(created_to),
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    for record in page.orders:  # requests and parcels on the page read their order from here
        info.context.loaders.orders.order.prime(record.id, record)
    return OrderConnection.from_page(page, after=after)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _policy(info: Info) -> CheckoutPolicy:
    return CheckoutPolicy.from_settings(info.context.settings)


def _error(code: UserErrorCode, message: str, *field: str) -> list[Problem]:
    return [Problem(code, message, field or None)]


async def checkout_complete(
    info: Info,
    cart_id: Annotated[
        strawberry.ID, strawberry.argument(description="The cart to order (Cart.id).")
    ],
    idempotency_key: Annotated[
        str,
        strawberry.argument(
            description=(
                "A key the client makes up per checkout attempt (e.g. a UUID); a retry "
                "with it returns the same order, never a second one."
            )
        ),
    ],
    expected_total: Annotated[
        Decimal,
        strawberry.argument(
            description=(
                "The total the buyer saw (cart.cost.total.amount, a Decimal string); a "
                "different total now answers PRICE_CHANGED."
            )
        ),
    ],
) -> CheckoutCompletePayload:
    ctx = info.context
    customer_id = ctx.viewer.customer_id
    if customer_id is None:
        problems = _error(UserErrorCode.LOGIN_REQUIRED, "sign in to place an order")
        return CheckoutCompletePayload(user_errors=user_errors(problems))
    if not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        problems = _error(
            UserErrorCode.INVALID_INPUT,
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters",
            "idempotencyKey",
        )
        return CheckoutCompletePayload(user_errors=user_errors(problems))
    token = cart_token(cart_id)
    if token is None:
        problems = _error(UserErrorCode.CART_NOT_FOUND, "no such cart", "cartId")
        return CheckoutCompletePayload(user_errors=user_errors(problems))
    result = await complete_checkout(
        ctx.sources,
        customer_id=customer_id,
        cart_id=token,
        idempotency_key=idempotency_key,
        expected_total=expected_total,
        policy=_policy(info),
        actor=f"customer:{customer_id}",
    )
    if result.snapshot is not None:  # the order's fields ask for what the saga just read
        loaders = ctx.loaders
        for sku in result.snapshot.skus.values():
            loaders.catalog.sku.prime(sku.id, sku)
        if result.snapshot.customer is not None:
            loaders.orders.customer.prime(customer_id, result.snapshot.customer)
    if result.order is not None and result.lines is not None:  # as written: no read back
        ctx.loaders.orders.order_lines.prime(result.order.id, result.lines)
    return CheckoutCompletePayload(
        order=Order.from_record(result.order) if result.order else None,
        user_errors=user_errors(stock_view(info).shown(result.problems)),
    )


async def order_cancel(
    info: Info,
    order_id: Annotated[
        strawberry.ID, strawberry.argument(description="The order's id (Order.id).")
    ],
    reason: Annotated[str, strawberry.argument(description="Why, kept in the order's history.")],
) -> OrderPayload:
    """The owner before payment, or MANAGE_ORDERS staff; anyone else reads not found."""
    ctx = info.context
    visible = await _visible_order(info, order_id)
    if visible is None:
        problems = _error(UserErrorCode.ORDER_NOT_FOUND, "no such order", "orderId")
        return OrderPayload(user_errors=user_errors(problems))
    viewer = ctx.viewer
    actor = f"{viewer.kind.value}:{viewer.subject}"
    record = visible.record
    is_staff = viewer.has(Permission.MANAGE_ORDERS)
    outcome: CancelOutcome | PaidCancelOutcome
    if is_staff and record.status in (OrderStatus.PAID, OrderStatus.CANCELLED):
        # After payment only staff cancel, and the whole order is refunded (aftersales).
        outcome = await cancel_paid_order(
            ctx.sources, record, reason=reason, actor=actor, now=ctx.now, cashier=ctx.cashier
        )
    elif not is_staff and await _deposit_paid(info, record):
        problems = _error(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            "the deposit of this presale order is paid: ask the shop to cancel it",
            "orderId",
        )
        return OrderPayload(order=visible, user_errors=user_errors(problems))
    else:
        outcome = await cancel_order(
            ctx.sources,
            record,
            reason=reason,
            actor=actor,
            now=ctx.now,
            cashier=ctx.cashier if is_staff else None,  # a buyer cannot cancel a paid deposit
        )
    ctx.loaders.orders.order.clear(record.id)
    ctx.loaders.orders.status_history.clear(record.id)
    ctx.loaders.orders.after_sales.clear(record.id)
    return OrderPayload(
        order=Order.from_record(outcome.order) if outcome.order else visible,
        user_errors=user_errors(outcome.problems),
    )


async def _deposit_paid(info: Info, order: OrderRecord) -> bool:
    if order.deposit_due is None or order.status is not OrderStatus.PENDING_PAYMENT:
        return False
    payments = await info.context.loaders.orders.payments.load(order.id)
    return any(p.stage is PaymentStage.DEPOSIT for p in payments)
