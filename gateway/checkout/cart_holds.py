"""The cart mutations' part in reserve on add (holds.py): which lines to hold, resize or
release before the cart is written, and what to tell the buyer who could not get one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sources.common.fast_init import fast_inits
from sources.orders.records import Cart

from ..errors import Problem
from ..sources import Sources
from . import holds
from .holds import HoldPlan
from .snapshot import KnownCatalog


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """What a cart change may write (the lines refused a hold left out), the problems to
    report, and the new ``reserved_until`` by SKU to record once the cart is written."""

    accepted: list[tuple[int, int]]  # (SKU, quantity) added, or (line, quantity) set
    problems: list[Problem] = field(default_factory=list)
    until: dict[int, datetime | None] = field(default_factory=dict)


def holds_any(accepted: Sequence[tuple[int, int]], known: KnownCatalog) -> bool:
    """Whether any of these SKUs belongs to a reserve-on-add product."""
    for sku_id, _ in accepted:
        product = known.products.get(known.skus[sku_id].product_id)
        if product is not None and product.reserve_on_add:
            return True
    return False


async def for_added(
    sources: Sources,
    cart: Cart,
    accepted: Sequence[tuple[int, int]],
    requested: Sequence[int | None],
    known: KnownCatalog,
    now: datetime,
    ttl: timedelta,
) -> HoldOutcome:
    """Lines of flash-sale products are held for their whole new quantity (what the cart
    has plus what is added); a line that cannot be is not added at all. ``requested``: the
    SKU asked for at each input position, for the refusal's ``field``."""
    adding: dict[int, int] = {}
    for sku_id, quantity in accepted:
        adding[sku_id] = adding.get(sku_id, 0) + quantity
    lines = {line.sku_id: line for line in cart.lines}
    plans = []
    for sku_id, quantity in adding.items():
        product = known.products.get(known.skus[sku_id].product_id)
        if product is not None and product.reserve_on_add:  # as holds_any
            current = lines[sku_id].quantity if sku_id in lines else 0
            plans.append(HoldPlan(sku_id, product, current + quantity))
    if not plans:
        return HoldOutcome(list(accepted))
    held, refused = await holds.take_holds(sources, cart.id, plans, now, ttl)
    problems = [
        holds.refusal(
            ("lines", str(requested.index(sku_id))),
            lines[sku_id].id if sku_id in lines else None,
            free,
        )
        for sku_id, free in refused.items()
    ]
    kept = [(sku_id, quantity) for sku_id, quantity in accepted if sku_id not in refused]
    return HoldOutcome(kept, problems, dict(held))


async def for_updated(
    sources: Sources,
    cart: Cart,
    accepted: Mapping[int, int],
    now: datetime,
    ttl: timedelta,
) -> HoldOutcome:
    """Held lines (only those: a line's hold began when it was added) follow their new
    quantity: an increase is held first and refused whole when short; a decrease gives
    units back; 0 is left to :func:`after_removal`."""
    lines = {line.id: line for line in cart.lines}
    resized = [
        lines[line_id]
        for line_id, quantity in accepted.items()
        if holds.may_hold(lines[line_id]) and 0 < quantity != lines[line_id].quantity
    ]
    if not resized:
        return HoldOutcome(list(accepted.items()))
    skus = await sources.catalog.skus_by_ids([line.sku_id for line in resized])
    products = await sources.catalog.products_by_ids(sorted({s.product_id for s in skus.values()}))
    grow: list[HoldPlan] = []
    shrink: list[HoldPlan] = []
    for line in resized:
        sku = skus.get(line.sku_id)
        product = products.get(sku.product_id) if sku else None
        if product is None:
            continue
        plan = HoldPlan(line.sku_id, product, accepted[line.id])
        (grow if plan.quantity > line.quantity else shrink).append(plan)
    grown, refused = await holds.take_holds(sources, cart.id, grow, now, ttl)
    shrunk, _ = await holds.take_holds(sources, cart.id, shrink, now, ttl, create=False)
    by_sku = {line.sku_id: line for line in resized}
    problems = [
        holds.refusal(("lines", str(list(accepted).index(by_sku[sku].id))), by_sku[sku].id, free)
        for sku, free in refused.items()
    ]
    kept = [
        (line_id, quantity)
        for line_id, quantity in accepted.items()
        if lines[line_id].sku_id not in refused
    ]
    return HoldOutcome(kept, problems, {**grown, **shrunk})


async def after_removal(
    sources: Sources, cart: Cart, removed_line_ids: Sequence[int], now: datetime
) -> None:
    """The removed lines' holds released (their stock back at once, not at expiry)."""
    gone = [line for line in cart.lines if line.id in set(removed_line_ids)]
    await holds.release(sources, cart, gone, now)


async def after_write(
    sources: Sources,
    cart: Cart,
    until: Mapping[int, datetime | None],
    now: datetime,
    ttl: timedelta,
) -> Cart:
    """Once the cart is written: record the holds this change made, and extend the others
    (the buyer's activity)."""
    cart = await holds.record(sources, cart, until, now)
    return await holds.extend_on_activity(sources, cart, now, ttl, skip=set(until))


async def undo(sources: Sources, cart_id: str, until: Mapping[int, datetime | None]) -> None:
    """The cart write failed (completed or gone meanwhile): the holds just made go back."""
    refs = [holds.hold_ref(cart_id, sku_id) for sku_id, at in until.items() if at is not None]
    if refs:
        await sources.inventory.release_holds(refs, datetime.now(UTC))


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
