"""Unpaid orders expire: ORDER_PAYMENT_TTL after an order was placed with nothing paid,
the sweeper cancels it and gives its stock and coupon uses back.

Before cancelling, each provider the buyer opened a payment with is asked where it stands
(its notification may have been lost): a paid one is applied instead. A provider that does
not answer earns the order one more TTL of patience; past that the order is cancelled
anyway, and money arriving later is refunded as late. The cancellation is the same
conditional move as a buyer's (gateway/checkout/cancel.py): only the call that moved the
order gives anything back, so expiry racing a payment, a buyer's cancel or another sweeper
releases stock and coupon uses exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sources.orders.records import OrderStatus

from ..checkout.cancel import cancel_order
from ..sources import Sources
from .cashier import Cashier
from .paying import Settled, confirm_payments
from .provider import ProviderRefused, ProviderUnavailable

log = logging.getLogger("gateway.payments")
EXPIRY_ACTOR = "system:payment-expiry"


async def expire_unpaid_orders(sources: Sources, cashier: Cashier, now: datetime) -> int:
    """Returns how many orders this call cancelled."""
    ttl = cashier.payment_ttl
    cancelled = 0
    for order in await sources.orders.unpaid_orders_due(created_before=now - ttl):
        try:
            settled = await confirm_payments(sources, cashier, order, now)
        except (ProviderUnavailable, ProviderRefused) as exc:
            if order.created_at > now - 2 * ttl:
                log.warning("order %s: provider unreachable (%s); expiry waits", order.id, exc)
                continue
            settled = []
        if Settled.APPLIED in settled:
            continue
        outcome = await cancel_order(
            sources,
            order,
            reason=f"not paid within {int(ttl.total_seconds() // 60)} minutes",
            actor=EXPIRY_ACTOR,
            now=now,
        )
        if outcome.order is not None and outcome.order.status is OrderStatus.CANCELLED:
            cancelled += 1
    return cancelled
