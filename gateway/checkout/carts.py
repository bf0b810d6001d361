"""Cart changes: apply what is valid, report what is not (with field and line), never
fail the whole request for one bad line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sources.common.fast_init import fast_inits
from sources.orders.records import Address, Cart, CartStatus
from sources.orders.store import CartClosed, CartNotFound

from ..errors import Problem, UserErrorCode
from ..sources import Sources
from . import addresses, cart_holds
from .holds import DEFAULT_TTL
from .snapshot import KnownBuyer, KnownCatalog
from .validation import MAX_LINE_QUANTITY

MAX_COUPONS = 5

# How a cart mutation reads its lines' catalog: ``catalog.cart_catalog`` by default, or
# shown.shown_catalog over the request's loaders (the cache) when its payload may.
CatalogRead = Callable[[list[int]], Awaitable[KnownCatalog]]


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku_id: int | None  # None: an id that is no SKU's
    quantity: int


@dataclass(frozen=True, slots=True)
class CartChange:
    cart: Cart | None
    problems: list[Problem]
    known: KnownCatalog | None = None  # what the change read of the catalog, for its payload
    buyer: KnownBuyer | None = None  # the buyer and region its orders call read, likewise


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
    sources: Sources, lines: Sequence[LineRequest], field: str, catalog: CatalogRead | None
) -> tuple[list[tuple[int, int]], list[Problem], KnownCatalog]:
    ids = sorted({line.sku_id for line in lines if line.sku_id is not None})
    # The snapshot's whole catalog read, not just SKUs and products: the payload's
    # evaluation then asks the catalog nothing (KnownCatalog).
    read = catalog or sources.catalog.cart_catalog
    known = await read(ids) if ids else KnownCatalog({}, {}, {}, {}, {})
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
    catalog: CatalogRead | None = None,
) -> CartChange:
    """``ship_to_default``: without ``address``, a signed-in customer's cart ships to the
    default address of their book (if they have one)."""
    accepted, problems, known = await _sellable_lines(sources, lines, "lines", catalog)
    if address is None and ship_to_default and customer_id is not None:
        address = await default_address(sources, customer_id)
    # The cart with its coupons and address in one orders call, which reads the buyer and
    # region for the payload's snapshot too; the common cart's lines with them.
    codes, coupon_problems = _cleaned_coupons(coupon_codes)
    checked, address_problems_ = await _checked_address(sources, address)
    holding = cart_holds.holds_any(accepted, known)
    written = await sources.orders.create_cart_with_buyer(
        customer_id=customer_id,
        now=now,
        lines=() if holding else accepted,
        coupon_codes=codes,
        address=checked,
    )
    cart = written.cart
    if holding:  # a hold names the cart: create it, hold, then add what was held
        held = await cart_holds.for_added(
            sources, cart, accepted, [line.sku_id for line in lines], known, now, hold_ttl
        )
        problems += held.problems
        if held.accepted:
            cart = await sources.orders.add_cart_lines(cart.id, list(held.accepted), now)
            cart = await cart_holds.after_write(sources, cart, held.until, now, hold_ttl)
    buyer = KnownBuyer(written.buyer_id, checked.region if checked else None, written.buyer)
    return CartChange(cart, problems + coupon_problems + address_problems_, known, buyer)


def _cleaned_coupons(codes: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """The codes to store (blank ones dropped), or none and why."""
    cleaned = [c.strip() for c in codes if c.strip()]
    if len(cleaned) > MAX_COUPONS or any(len(c) > 64 for c in cleaned):
        return [], [
            Problem(
                UserErrorCode.INVALID_INPUT,
                f"at most {MAX_COUPONS} codes of 64 characters",
                ("couponCodes",),
            )
        ]
    return cleaned, []


async def _checked_address(
    sources: Sources, address: Address | None
) -> tuple[Address | None, list[Problem]]:
    """The address to store (its region as the ISO code), or none and what is wrong."""
    if address is None:
        return None, []
    problems = address_problems(address)
    if not problems:
        address, problems = await addresses.checked(sources, address)
    return (None, problems) if problems else (address, [])


async def add_lines(
    sources: Sources,
    cart: Cart,
    lines: Sequence[LineRequest],
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
    catalog: CatalogRead | None = None,
) -> CartChange:
    if cart.status is CartStatus.COMPLETED:
        return completed(cart)
    accepted, problems, known = await _sellable_lines(sources, lines, "lines", catalog)
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
    cleaned, problems = _cleaned_coupons(codes)
    if problems:
        return CartChange(cart, problems)
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
    checked, problems = await _checked_address(sources, address)
    if checked is None:
        return CartChange(cart, problems)
    return await _held(
        sources,
        cart,
        [],
        lambda: sources.orders.set_cart_address(cart.id, checked, now),
        {},
        now,
        hold_ttl,
    )


async def set_address_of(
    sources: Sources,
    cart_id: str,
    customer_id: int | None,
    address: Address,
    now: datetime,
    hold_ttl: timedelta = DEFAULT_TTL,
) -> CartChange:
    """:func:`set_address` for the viewer's cart (``customer_id``) known by its id only: a
    good address is written with no read before it, the write checking the cart is open
    and the viewer's, and reading the buyer and region for the payload's snapshot. A bad
    address reads the cart first, to answer as :func:`set_address` would (a missing cart,
    then a completed one, come before the address's problems)."""
    checked, problems = await _checked_address(sources, address)
    if checked is None:
        cart = await cart_for(sources, cart_id, customer_id)
        if cart is None:
            return not_found()
        return (
            completed(cart) if cart.status is CartStatus.COMPLETED else CartChange(cart, problems)
        )
    try:
        written = await sources.orders.set_owned_cart_address(cart_id, customer_id, checked, now)
    except CartNotFound:
        return not_found()
    except CartClosed:
        cart = await cart_for(sources, cart_id, customer_id)
        return completed(cart) if cart is not None else not_found()
    cart = await cart_holds.after_write(sources, written.cart, {}, now, hold_ttl)
    buyer = KnownBuyer(written.buyer_id, checked.region, written.buyer)
    return CartChange(cart, [], buyer=buyer)


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


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
