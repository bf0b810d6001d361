"""Releases what crashed or abandoned checkouts left behind: held reservations past their
expiry (inventory) and coupon uses of attempts that never became an order (pricing). Given
the cashier (``gateway serve`` and ``gateway sweep`` give it), it also cancels orders left
unpaid past ORDER_PAYMENT_TTL and retries refunds a provider has not yet taken. It also
folds the catalog's listing counts (sources/catalog/counts.py), so totalCount stays a sum
of a few rows.
Runs inside ``gateway serve`` every GATEWAY_SWEEP_INTERVAL_SECONDS and as ``gateway sweep``;
safe to run in many processes at once (every release happens exactly once)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..metrics import housekeeping_calls
from ..sources import Sources

if TYPE_CHECKING:
    from ..payments.cashier import Cashier

log = logging.getLogger("gateway.sweeper")
ATTEMPT_GRACE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SweepReport:
    reservations_released: int
    attempts_cleared: int
    unpaid_orders_cancelled: int = 0
    refunds_retried: int = 0
    listing_counts_folded: int = 0


async def sweep(
    sources: Sources, now: datetime | None = None, cashier: Cashier | None = None
) -> SweepReport:
    now = now or datetime.now(UTC)
    released = await sources.inventory.sweep_expired(now)
    cutoff = now - ATTEMPT_GRACE
    cleared = 0
    for order_ref in await sources.orders.stale_checkout_attempts(cutoff):
        # Forget first: only if the attempt is still stale (a retry may have taken it over
        # and now owns what it holds) do its hold and coupon uses go back.
        if await sources.orders.forget_checkout_attempt(order_ref, older_than=cutoff):
            await sources.pricing.release_coupon_uses(order_ref, now)
            await sources.inventory.release_reservation(order_ref, now)
            cleared += 1
    expired = retried = 0
    if cashier is not None:
        from ..payments.expiry import expire_unpaid_orders
        from ..payments.refunding import retry_refunds

        expired = await expire_unpaid_orders(sources, cashier, now)
        retried = await retry_refunds(sources, cashier, now)
    return SweepReport(released, cleared, expired, retried, await _fold_listing_counts(sources))


async def _fold_listing_counts(sources: Sources) -> int:
    """Housekeeping, last: a catalog that cannot be reached now is folded next time, and
    must not undo the releases above (the counts are exact either way)."""
    try:
        with housekeeping_calls():  # not a storefront call: kept out of the call counts
            return await sources.catalog.compact_listing_counts()
    except Exception:
        log.warning("sweep: listing counts not folded; next interval", exc_info=True)
        return 0


async def run_forever(sources: Sources, interval_s: float, cashier: Cashier | None = None) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            report = await sweep(sources, cashier=cashier)
            if any(dataclasses.astuple(report)):
                log.info("sweep: %s", report)
        except Exception:
            log.exception("sweep failed; retrying next interval")
