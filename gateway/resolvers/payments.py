"""orderPaymentCreate and orderPaymentConfirm: the order's owner pays through a provider,
and tells the shop when they are back from the provider's page."""

from typing import Annotated

import strawberry

from ..errors import Problem, UserErrorCode
from ..payments.paying import confirm_payments, start_payment
from ..payments.provider import Channel, ProviderRefused, ProviderUnavailable
from ..schema.common import Info
from ..schema.errors import user_errors
from ..schema.orders import Order, OrderPayload
from ..schema.payments import OrderPaymentPayload, PaymentAttempt, PaymentProvider
from .orders import _visible_order
from .shipments import forget_order


def _not_found() -> list[Problem]:
    return [Problem(UserErrorCode.ORDER_NOT_FOUND, "no such order", ("orderId",))]


async def order_payment_create(
    info: Info,
    order_id: Annotated[strawberry.ID, strawberry.argument(description="The order to pay.")],
    provider: Annotated[PaymentProvider, strawberry.argument(description="ALIPAY or WECHAT.")],
    return_url: Annotated[
        str | None,
        strawberry.argument(
            description="Where the provider sends the buyer back after paying (MOBILE_WEB)."
        ),
    ] = None,
    channel: Annotated[
        Channel,
        strawberry.argument(description="QR_CODE (desktop, the default) or MOBILE_WEB."),
    ] = Channel.QR_CODE,
) -> OrderPaymentPayload:
    ctx = info.context
    visible = await _visible_order(info, order_id)
    # Only the owner pays; staff take money by hand (orderMarkPaid).
    if visible is None or ctx.viewer.customer_id != visible.record.customer_id:
        return OrderPaymentPayload(user_errors=user_errors(_not_found()))
    if ctx.cashier is None:
        problems = [
            Problem(UserErrorCode.PAYMENT_PROVIDER_UNAVAILABLE, "payments are off", ("provider",))
        ]
        return OrderPaymentPayload(order=visible, user_errors=user_errors(problems))
    outcome = await start_payment(
        ctx.sources,
        ctx.cashier,
        visible.record,
        provider_name=str(provider.value),
        channel=channel,
        return_url=return_url,
        now=ctx.now,
    )
    ctx.loaders.orders.payment_attempts.clear(visible.record.id)
    return OrderPaymentPayload(
        order=visible,
        payment=PaymentAttempt.from_record(outcome.attempt) if outcome.attempt else None,
        user_errors=user_errors(outcome.problems),
    )


async def order_payment_confirm(
    info: Info,
    order_id: Annotated[
        strawberry.ID, strawberry.argument(description="The order the buyer came back to.")
    ],
) -> OrderPayload:
    """The buyer is back from the provider's page: ask the provider in case its notification
    is late or lost. The provider being down is no error: the order stays payable and the
    notification (or the next confirm) applies the payment."""
    ctx = info.context
    visible = await _visible_order(info, order_id)
    if visible is None:
        return OrderPayload(user_errors=user_errors(_not_found()))
    if ctx.cashier is not None:
        try:
            await confirm_payments(ctx.sources, ctx.cashier, visible.record, ctx.now)
        except (ProviderUnavailable, ProviderRefused):
            pass
    record = (await ctx.sources.orders.orders_by_ids([visible.record.id]))[visible.record.id]
    forget_order(info, record)
    ctx.loaders.orders.payment_attempts.clear(record.id)
    ctx.loaders.orders.refunds.clear(record.id)
    return OrderPayload(order=Order.from_record(record))
