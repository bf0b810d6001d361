"""A cart as the buyer sees it now: its snapshot, its price and its problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sources.common.fast_init import fast_inits
from sources.orders.records import Cart

from ..errors import Problem
from ..loaders import Loaders
from ..sources import Sources
from .pricing import CartPricing, price
from .snapshot import CartSnapshot, KnownBuyer, KnownCatalog, load_snapshot
from .validation import validate


@dataclass(frozen=True, slots=True)
class CartEvaluation:
    snapshot: CartSnapshot
    pricing: CartPricing
    problems: list[Problem]


async def evaluate_cart(
    sources: Sources,
    cart: Cart,
    *,
    customer_id: int | None,
    currency: str,
    free_shipping_over: Decimal,
    now: datetime,
    known: KnownCatalog | None = None,
    known_buyer: KnownBuyer | None = None,
    shown: Loaders | None = None,
) -> CartEvaluation:
    """``shown``: a cart mutation's payload without its validation (see shown.py)."""
    snapshot = await load_snapshot(
        sources,
        cart,
        customer_id=customer_id,
        currency=currency,
        now=now,
        known=known,
        known_buyer=known_buyer,
        shown=shown,
    )
    pricing = price(snapshot, free_shipping_over=free_shipping_over)
    return CartEvaluation(snapshot, pricing, validate(snapshot, pricing))


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
