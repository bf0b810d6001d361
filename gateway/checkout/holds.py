"""Reserve on add: a flash-sale product's (``reserveOnAdd``) stock is held for the cart
line the moment it is added, so the buyer who has it in the cart can check it out, and the
buyer who cannot get it hears so at once (INSUFFICIENT_STOCK on the line), not at checkout.

The inventory's hold (sources/inventory/holds.py) is the truth: one per (cart, SKU), taken
with the checkout's conditional update. The cart line records until when it holds
(``reserved_until``), which is only a hint telling which lines to look at, so a cart
without flash-sale lines costs no inventory call more. Lifecycle:

- added (cartCreate, cartLinesAdd): held for CART_RESERVATION_TTL; a quantity increase
  (add again, cartLinesUpdate) resizes the hold in one transaction, keeping its expiry, or
  is refused whole with the old hold intact;
- the buyer's activity on the cart (any cart mutation) extends each live hold once;
- a quantity decrease gives units back; removal releases the hold; expiry is the sweeper's
  (a HELD reservation past its expiry, like a checkout's);
- ``checkoutComplete`` converts the holds into the order's reservation in one transaction
  (never taking the buyer's units twice); a hold that lapsed is re-taken only if the stock
  is still free, else the checkout is refused with INSUFFICIENT_STOCK, as any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from sources.catalog.records import FulfillmentMode, Product, ProductKind
from sources.common.fast_init import fast_inits
from sources.inventory.records import (
    Reservation,
    ReservationRequest,
    ReservationResult,
    ReservationStatus,
    StockLevel,
    WarehouseStock,
)
from sources.orders.records import Cart, CartLine

from ..errors import Problem, UserErrorCode
from ..sources import Sources

DEFAULT_TTL = timedelta(minutes=10)


def hold_ref(cart_id: str, sku_id: int) -> str:
    """The inventory's name of a cart line's hold: one per (cart, SKU), like the line."""
    return f"cart:{cart_id}:sku:{sku_id}"


def may_hold(line: CartLine) -> bool:
    """Lines that held stock at some point: only they are worth asking the inventory."""
    return line.reserved_until is not None


def hold_refs(cart: Cart) -> list[str]:
    return [hold_ref(cart.id, line.sku_id) for line in cart.lines if may_hold(line)]


def live_until(hold: Reservation | None, now: datetime) -> datetime | None:
    """When a hold lapses, if it still holds stock now."""
    if hold is None or hold.status is not ReservationStatus.HELD or hold.expires_at is None:
        return None
    return hold.expires_at if hold.expires_at > now else None


@dataclass(frozen=True, slots=True)
class HoldPlan:
    """What to hold for one SKU of a cart: its product decides warehouse, supplier or parts."""

    sku_id: int
    product: Product
    quantity: int


async def hold_items(
    sources: Sources, plans: Sequence[HoldPlan]
) -> dict[int, list[ReservationRequest]]:
    """The reservation items of each plan, as the checkout would reserve them (a bundle
    holds its parts, a drop-ship item its supplier's feed). One catalog call for bundles."""
    bundle_ids = [p.product.id for p in plans if p.product.kind is ProductKind.BUNDLE]
    bundles = await sources.catalog.bundle_items_by_product_ids(bundle_ids) if bundle_ids else {}
    items: dict[int, list[ReservationRequest]] = {}
    for plan in plans:
        if plan.product.kind is ProductKind.BUNDLE:
            items[plan.sku_id] = [
                ReservationRequest(
                    part.sku.id, part.quantity * plan.quantity, _supplier(part.product)
                )
                for part in bundles.get(plan.product.id, [])
            ]
        else:
            items[plan.sku_id] = [
                ReservationRequest(plan.sku_id, plan.quantity, _supplier(plan.product))
            ]
    return items


def _supplier(product: Product) -> int | None:
    return product.supplier_id if product.fulfillment is FulfillmentMode.DROPSHIP else None


async def take_holds(
    sources: Sources,
    cart_id: str,
    plans: Sequence[HoldPlan],
    now: datetime,
    ttl: timedelta,
    *,
    create: bool = True,
) -> tuple[dict[int, datetime], dict[int, int]]:
    """Each plan's hold set to its quantity: (expiry by SKU held, what was free by SKU
    refused). One inventory call per SKU: each is all or nothing on its own."""
    if not plans:
        return {}, {}
    items = await hold_items(sources, plans)
    held: dict[int, datetime] = {}
    refused: dict[int, int] = {}
    for plan in plans:
        if not items[plan.sku_id]:
            continue  # a bundle without parts: nothing to hold (validation says so)
        result: ReservationResult = await sources.inventory.hold_stock(
            hold_ref=hold_ref(cart_id, plan.sku_id),
            items=items[plan.sku_id],
            now=now,
            ttl=ttl,
            create=create,
        )
        if result.ok and result.expires_at is not None:
            held[plan.sku_id] = result.expires_at
        elif create:
            refused[plan.sku_id] = min(result.shortages.values(), default=0)
    return held, refused


def refusal(field: tuple[str, ...], line_id: int | None, free: int) -> Problem:
    return Problem(
        UserErrorCode.INSUFFICIENT_STOCK,
        f"only {free} left to hold for your cart" if free else "sold out: none left to hold",
        field,
        str(line_id) if line_id is not None else None,
        units_left=free,
    )


async def record(
    sources: Sources, cart: Cart, until: Mapping[int, datetime | None], now: datetime
) -> Cart:
    """The lines' ``reserved_until`` by SKU, written to the cart (one orders call)."""
    by_sku = {line.sku_id: line.id for line in cart.lines}
    changes = {by_sku[sku]: at for sku, at in until.items() if sku in by_sku}
    if not changes:
        return cart
    return await sources.orders.set_cart_line_holds(cart.id, changes, now)


async def extend_on_activity(
    sources: Sources, cart: Cart, now: datetime, ttl: timedelta, *, skip: Set[int] = frozenset()
) -> Cart:
    """The buyer touched the cart: each live hold (but those this change just made) lives
    ``ttl`` from now, once. No call at all for a cart without live holds."""
    refs = {
        hold_ref(cart.id, line.sku_id): line.sku_id
        for line in cart.lines
        # live, and not already as long as it can be (held in this very request)
        if line.reserved_until is not None
        and now < line.reserved_until < now + ttl
        and line.sku_id not in skip
    }
    if not refs:
        return cart
    extended = await sources.inventory.extend_holds(list(refs), now, ttl)
    return await record(sources, cart, {refs[r]: at for r, at in extended.items()}, now)


async def release(sources: Sources, cart: Cart, lines: Sequence[CartLine], now: datetime) -> None:
    refs = [hold_ref(cart.id, line.sku_id) for line in lines if may_hold(line)]
    if refs:
        await sources.inventory.release_holds(refs, now)


def credit_own_holds(
    stock: Mapping[int, StockLevel], holds: Mapping[str, Reservation]
) -> dict[int, StockLevel]:
    """Stock as this cart may use it: what its own live holds keep aside counts as free
    for it (the checkout converts them), so the buyer who holds the last units is not told
    they are gone. A hold past its expiry that the sweeper has not reached still counts:
    the conversion takes it, under its lock."""
    freed_warehouse: dict[tuple[int, str], int] = {}
    freed_supplier: dict[int, int] = {}
    for hold in holds.values():
        if hold.status is not ReservationStatus.HELD:
            continue
        for a in hold.allocations:
            if a.warehouse_code is not None:
                key = (a.sku_id, a.warehouse_code)
                freed_warehouse[key] = freed_warehouse.get(key, 0) + a.quantity
            else:
                freed_supplier[a.sku_id] = freed_supplier.get(a.sku_id, 0) + a.quantity
    if not freed_warehouse and not freed_supplier:
        return dict(stock)
    credited = dict(stock)
    for sku_id, level in stock.items():
        warehouses = tuple(
            WarehouseStock(
                w.warehouse_code,
                w.on_hand,
                max(w.reserved - freed_warehouse.get((sku_id, w.warehouse_code), 0), 0),
            )
            for w in level.warehouses
        )
        credited[sku_id] = StockLevel(
            sku_id, warehouses, level.supplier_available + freed_supplier.get(sku_id, 0)
        )
    return credited


async def reserve_for_order(
    sources: Sources,
    cart: Cart,
    *,
    order_ref: str,
    items: Sequence[ReservationRequest],
    now: datetime,
    ttl: timedelta,
    confirmed: bool = False,
) -> ReservationResult:
    """The checkout's reservation: the plain one for a cart that never held stock (with
    ``confirmed``, CONFIRMED at once), else the one that converts the cart's holds
    (sources/inventory/holds.py), always HELD."""
    refs = hold_refs(cart)
    if not refs:
        return await sources.inventory.reserve(
            order_ref=order_ref, items=items, now=now, ttl=ttl, confirmed=confirmed
        )
    return await sources.inventory.reserve_converting_holds(
        order_ref=order_ref, items=items, hold_refs=refs, now=now, ttl=ttl
    )


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
