"""Unpaid orders expire: ORDER_PAYMENT_TTL after an order was placed with nothing paid,
the sweeper cancels it and gives its stock and coupon uses back.

Before cancelling, each provider the buyer opened a payment with is asked where it stands
(its notification may have been lost): a paid one is applied instead. A provider that does
not answer earns the order one more TTL of patience; past that the order is cancelled
anyway, and money arriving later is refunded as late. The cancellation is the same
conditional move as a buyer's (gateway/checkout/cancel.py): only the call that moved the
order gives anything back, so expiry racing a payment, a buyer's cancel or another sweeper
releases stock and coupon uses exactly once.

A presale whose deposit is paid is not touched by that TTL: its balance is due once the
presale ends, and it is cancelled ORDER_BALANCE_TTL after the last of its presales ended
with the balance still unpaid (its stock and coupon uses given back, the deposit kept).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sources.orders.records import Order, OrderStatus

from ..checkout.cancel import cancel_order
from ..sources import Sources
from .cashier import Cashier
from .paying import Settled, confirm_payments
from .presale_deadline import is_overdue
from .provider import ProviderRefused, ProviderUnavailable

log = logging.getLogger("gateway.payments")
EXPIRY_ACTOR = "system:payment-expiry"


async def expire_unpaid_orders(sources: Sources, cashier: Cashier, now: datetime) -> int:
    """Returns how many orders this call cancelled."""
    ttl = cashier.payment_ttl
    due = await sources.orders.unpaid_orders_due(created_before=now - ttl)
    balances = await _balances_due(sources, cashier, now)
    cancelled = 0
    for order, reason in [
        *((o, f"not paid within {int(ttl.total_seconds() // 60)} minutes") for o in due),
        *((o, "balance not paid after the presale ended; the deposit is kept") for o in balances),
    ]:
        try:
            settled = await confirm_payments(sources, cashier, order, now)
        except (ProviderUnavailable, ProviderRefused) as exc:
            if order.created_at > now - 2 * ttl:
                log.warning("order %s: provider unreachable (%s); expiry waits", order.id, exc)
                continue
            settled = []
        if Settled.APPLIED in settled:
            continue
        outcome = await cancel_order(sources, order, reason=reason, actor=EXPIRY_ACTOR, now=now)
        if outcome.order is not None and outcome.order.status is OrderStatus.CANCELLED:
            cancelled += 1
    return cancelled


async def _balances_due(sources: Sources, cashier: Cashier, now: datetime) -> list[Order]:
    """Deposit-paid presale orders whose last presale ended more than ORDER_BALANCE_TTL
    ago. Three source calls however many: the orders, their lines, the lines' products."""
    waiting = await sources.orders.orders_awaiting_balance()
    if not waiting:
        return []
    lines = await sources.orders.order_lines_by_order_ids([o.id for o in waiting])
    product_ids = sorted({line.product_id for ls in lines.values() for line in ls})
    products = await sources.catalog.products_by_ids(product_ids)
    presale_ends = {pid: p.presale.ends_at for pid, p in products.items() if p.presale}
    due: list[Order] = []
    for order in waiting:
        ends = [
            presale_ends[line.product_id]
            for line in lines.get(order.id, [])
            if line.deposit is not None and line.product_id in presale_ends
        ]
        if ends and is_overdue(max(ends), cashier.balance_ttl, now):
            due.append(order)
    return due
