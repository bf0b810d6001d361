"""Cart changes: apply what is valid, report what is not (with field and line), never
fail the whole request for one bad line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sources.orders.records import Address, Cart, CartStatus
from sources.orders.store import CartClosed, CartNotFound

from ..errors import Problem, UserErrorCode
from ..sources import Sources
from . import addresses, cart_holds
from .holds import DEFAULT_TTL
from .snapshot import KnownCatalog
from .validation import MAX_LINE_QUANTITY

MAX_COUPONS = 5


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku_id: int | None  # None: an id that is no SKU's
    quantity: int


@dataclass(frozen=True, slots=True)
class CartChange:
    cart: Cart | None
    problems: list[Problem]
    known: KnownCatalog | None = None  # what the change read of the catalog, for its payload


def not_found() -> CartChange:
    return CartChange(None, [Problem(UserErrorCode.CART_NOT_FOUND, "no such cart", ("cartId",))])


def completed(cart: Cart) -> CartChange:
    return CartChange(
        cart, [Problem(UserErrorCode.CART_COMPLETED, "this cart is checked out", ("cartId",))]
    )


async def cart_for(sources: Sources, cart_id: str, customer_id: int | None) -> Cart | None:
    """A customer's cart is theirs alone; an anonymous cart is reachable by its id."""
    cart = (await sources.orders.carts_by_ids([cart_id])).get(cart_id)
    if cart is None or (cart.customer_id is not None and cart.customer_id != customer_id):
        return None
    return cart


async def _sellable_lines(
    sources: Sources, lines: Sequence[LineRequest], field: str
) -> tuple[list[tuple[int, int]], list[Problem], KnownCatalog]:
    ids = sorted({line.sku_id for line in lines if line.sku_id is not None})
    # The snapshot's whole catalog read, not just SKUs and products: the payload's
    # evaluation then asks the catalog nothing (KnownCatalog).
    known = await sources.catalog.cart_catalog(ids) if ids else KnownCatalog({}, {}, {}, {}, {})
    skus, products = known.skus, known.products
    accepted: list[tuple[int, int]] = []
    problems: list[Problem] = []
    for index, line in enumerate(lines):
        where = (field, str(index))
        sku = skus.get(line.sku_id) if line.sku_id is not None else None
        product = products.get(sku.product_id) if sku else None
        if sku is None or product is None:
            problems.append(Problem(UserErrorCode.SKU_NOT_FOUND, "no such SKU", (*where, "skuId")))
        elif not product.is_published:
            problems.append(
                Problem(
                    UserErrorCode.PRODUCT_UNAVAILABLE,
                    f"{product.name} is not for sale",
                    (*where, "skuId"),
                )
            )
        elif not sku.is_active:
            problems.append(
                Problem(
                    UserErrorCode.SKU_INACTIVE, f"{sku.name} is no longer sold", (*where, "skuId")
                )
            )
        elif not 0 < line.quantity <= MAX_LINE_QUANTITY:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_QUANTITY,
                    f"quantity must be between 1 and {MAX_LINE_QUANTITY}",
                    (*where, "quantity"),
                )
            )
        else:
            accepted.append((sku.id, line.quantity))
    return accepted, problems, known


def address_problems(address: Address) -> list[Problem]:
    problems = [
        Problem(UserErrorCode.INVALID_INPUT, f"{name} is required", ("shippingAddress", name))
        for name in ("name", "phone", "country", "region", "city", "line1")
        if not str(getattr(address, name)).strip()
    ]
    if len(address.country.strip()) != 2:
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                "country is a two-letter code such as CN",
                ("shippingAddress", "country"),
            )
        )
    return problems


async def create_cart(
    sources: Sources,
    *,
    customer_id: int | None,
    lines: Sequence[LineRequest],
    coupon_codes: Sequence[str],
    address: Address | None,
    now: datetime,
    ship_to_default: bool = False,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    """``ship_to_default``: without ``address``, a signed-in customer's cart ships to the
    default address of their book (if they have one)."""
    problems: list[Problem] = []
    accepted, line_problems, known = await _sellable_lines(sources, lines, "lines")
    problems += line_problems
    if address is None and ship_to_default and customer_id is not None:
        address = await default_address(sources, customer_id)
    if not cart_holds.holds_any(accepted, known):  # the common cart: one call
        cart = await sources.orders.create_cart(customer_id=customer_id, now=now, lines=accepted)
    else:  # a hold names the cart: create it, hold, then add what was held
        cart = await sources.orders.create_cart(customer_id=customer_id, now=now)
        held = await cart_holds.for_added(
            sources, cart, accepted, [line.sku_id for line in lines], known, now, hold_ttl
        )
        problems += held.problems
        if held.accepted:
            cart = await sources.orders.add_cart_lines(cart.id, list(held.accepted), now)
            cart = await cart_holds.after_write(sources, cart, held.until, now, hold_ttl)
    if coupon_codes:
        change = await set_coupons(sources, cart, coupon_codes, now, hold_ttl)
        cart, problems = change.cart or cart, problems + change.problems
    if address is not None:
        change = await set_address(sources, cart, address, now, hold_ttl)
        cart, problems = change.cart or cart, problems + change.problems
    return CartChange(cart, problems, known)


async def add_lines(
    sources: Sources,
    cart: Cart,
    lines: Sequence[LineRequest],
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    accepted, problems, known = await _sellable_lines(sources, lines, "lines")
    held = await cart_holds.for_added(
        sources, cart, accepted, [line.sku_id for line in lines], known, now, hold_ttl
    )
    adding = list(held.accepted)
    change = await _held(
        sources,
        cart,
        problems + held.problems,
        lambda: sources.orders.add_cart_lines(cart.id, adding, now) if adding else None,
        held.until,
        now,
        hold_ttl,
    )
    return CartChange(change.cart, change.problems, known if change.cart else None)


async def update_lines(
    sources: Sources,
    cart: Cart,
    updates: Sequence[tuple[str, int]],
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    known = {str(line.id): line.id for line in cart.lines}
    accepted: dict[int, int] = {}
    problems: list[Problem] = []
    for index, (line_id, quantity) in enumerate(updates):
        if line_id not in known:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    "no such line in this cart",
                    ("lines", str(index), "lineId"),
                    line_id,
                )
            )
        elif not 0 <= quantity <= MAX_LINE_QUANTITY:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_QUANTITY,
                    f"quantity must be between 0 (removes the line) and {MAX_LINE_QUANTITY}",
                    ("lines", str(index), "quantity"),
                    line_id,
                )
            )
        else:
            accepted[known[line_id]] = quantity
    held = await cart_holds.for_updated(sources, cart, accepted, now, hold_ttl)
    setting = dict(held.accepted)
    change = await _held(
        sources,
        cart,
        problems + held.problems,
        lambda: sources.orders.set_cart_line_quantities(cart.id, setting, now) if setting else None,
        held.until,
        now,
        hold_ttl,
    )
    if change.cart is not None:
        removed = [line_id for line_id, quantity in setting.items() if quantity == 0]
        await cart_holds.after_removal(sources, cart, removed, now)
    return change


async def remove_lines(
    sources: Sources,
    cart: Cart,
    line_ids: Sequence[str],
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    known = {str(line.id): line.id for line in cart.lines}
    problems = [
        Problem(UserErrorCode.INVALID_INPUT, "no such line in this cart", ("lineIds", str(i)), lid)
        for i, lid in enumerate(line_ids)
        if lid not in known
    ]
    remove = [known[lid] for lid in line_ids if lid in known]
    change = await _held(
        sources,
        cart,
        problems,
        lambda: sources.orders.remove_cart_lines(cart.id, remove, now) if remove else None,
        {},
        now,
        hold_ttl,
    )
    if change.cart is not None:
        await cart_holds.after_removal(sources, cart, remove, now)
    return change


async def set_coupons(
    sources: Sources,
    cart: Cart,
    codes: Sequence[str],
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    cleaned = [c.strip() for c in codes if c.strip()]
    if len(cleaned) > MAX_COUPONS or any(len(c) > 64 for c in cleaned):
        return CartChange(
            cart,
            [
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    f"at most {MAX_COUPONS} codes of 64 characters",
                    ("couponCodes",),
                )
            ],
        )
    return await _held(
        sources,
        cart,
        [],
        lambda: sources.orders.set_cart_coupons(cart.id, cleaned, now),
        {},
        now,
        hold_ttl,
    )


async def set_address(
    sources: Sources,
    cart: Cart,
    address: Address,
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    problems = address_problems(address)
    if not problems:
        address, problems = await addresses.checked(sources, address)
    if problems:
        return CartChange(cart, problems)
    return await _held(
        sources,
        cart,
        [],
        lambda: sources.orders.set_cart_address(cart.id, address, now),
        {},
        now,
        hold_ttl,
    )


async def default_address(sources: Sources, customer_id: int) -> Address | None:
    book = await sources.orders.addresses_by_customer_ids([customer_id])
    return next((e.address for e in book.get(customer_id, []) if e.is_default), None)


async def use_default_address(
    sources: Sources,
    cart: Cart,
    customer_id: int | None,
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    """Ship the cart to the signed-in customer's default address."""
    if customer_id is None:
        return CartChange(
            cart,
            [Problem(UserErrorCode.LOGIN_REQUIRED, "sign in to use your address book", None)],
        )
    address = await default_address(sources, customer_id)
    if address is None:
        return CartChange(
            cart,
            [Problem(UserErrorCode.ADDRESS_NOT_FOUND, "your address book has no default", None)],
        )
    return await set_address(sources, cart, address, now, hold_ttl)


async def _held(
    sources: Sources,
    cart: Cart,
    problems: list[Problem],
    write: object,
    until: dict[int, datetime | None],
    now: datetime,
    hold_ttl: timedelta,
) -> CartChange:
    """:func:`_guarded`, then the holds: those this change made are recorded on their
    lines (or given back when the write failed) and the others extended once."""
    change = await _guarded(sources, cart, problems, write)
    if change.cart is None or any(p.code is UserErrorCode.CART_COMPLETED for p in change.problems):
        await cart_holds.undo(sources, cart.id, until)
        return change
    updated = await cart_holds.after_write(sources, change.cart, until, now, hold_ttl)
    return CartChange(updated, change.problems, change.known)


async def _guarded(
    sources: Sources, cart: Cart, problems: list[Problem], write: object
) -> CartChange:
    """Run the write (if any); a cart completed or gone meanwhile becomes a userError."""
    try:
        pending = write() if callable(write) else None
        updated = await pending if pending is not None else cart
    except CartClosed:
        return completed(cart)
    except CartNotFound:
        return not_found()
    return CartChange(updated, problems)
