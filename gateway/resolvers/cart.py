"""Cart mutations and the cart query: thin over gateway/checkout/carts.py."""

from datetime import timedelta
from functools import partial
from typing import Annotated

import strawberry

from sources.orders.records import Cart as CartRecord

from ..checkout import carts
from ..checkout.carts import CartChange, CatalogRead, LineRequest
from ..checkout.shown import shown_catalog
from ..ids import row_id
from ..schema.cart import (
    AddressInput,
    Cart,
    CartCreateInput,
    CartLineInput,
    CartLineUpdateInput,
    CartPayload,
)
from ..schema.common import BadUserInput, Info
from ..schema.errors import user_errors
from ..schema.inventory import stock_view
from ..schema.node import decode_id
from ..schema.selection import fields, names_under


def cart_token(global_id: str) -> str | None:
    """The cart's own id inside its global id; None for anything else."""
    try:
        type_name, token = decode_id(global_id)
    except BadUserInput:
        return None
    return token if type_name == "Cart" else None


def _sku_pk(global_id: str) -> int | None:
    try:
        type_name, pk = decode_id(global_id)
    except BadUserInput:
        return None
    return row_id(pk) if type_name == "Sku" else None


def _hold_ttl(info: Info) -> timedelta:
    """How long a flash-sale line holds its stock (CART_RESERVATION_TTL)."""
    return timedelta(seconds=info.context.settings.cart_reservation_ttl_seconds)


def _shown(info: Info) -> bool:
    """Whether this mutation's payload prices and validates its cart through the loaders
    and the shared cache (checkout/shown.py): there is a shared cache, and the payload does
    not ask for the cart's ``validation`` (computed against the sources of truth, says the
    contract). ``checkoutComplete`` always reads the sources."""
    if not info.context.loaders.shared_cache:
        return False
    # What the payload selects depends on the document only: kept per query text, so a
    # repeated mutation does not convert its whole selection again (strawberry's
    # selected_fields builds an object per selected field, each request).
    return "validation" not in names_under(info, "cart.validation", _cart_validation_asked)


def _cart_validation_asked(info: Info) -> frozenset[str]:
    """{"validation"} when the payload's ``cart`` selects its ``validation``."""
    for payload in info.selected_fields:
        for cart in fields(payload.selections):
            if cart.name == "cart" and any(f.name == "validation" for f in fields(cart.selections)):
                return frozenset(("validation",))
    return frozenset()


def _catalog(info: Info) -> CatalogRead | None:
    """How the mutation reads its lines' catalog: as its payload will (``_shown``)."""
    ctx = info.context
    return partial(shown_catalog, ctx.loaders, ctx.sources) if _shown(info) else None


def _cart_of(info: Info, change: CartChange) -> Cart | None:
    if change.cart is None:
        return None
    return Cart.from_record(change.cart, change.known, change.buyer, shown=_shown(info))


def _payload(info: Info, change: CartChange) -> CartPayload:
    return CartPayload(
        cart=_cart_of(info, change),
        # A refused hold names the units left as this viewer may see them (STOCK_VISIBILITY).
        user_errors=user_errors(stock_view(info).shown(change.problems)),
    )


async def _cart(info: Info, cart_id: str) -> CartRecord | None:
    token = cart_token(cart_id)
    if token is None:
        return None
    return await carts.cart_for(info.context.sources, token, info.context.viewer.customer_id)


async def cart(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
) -> Cart | None:
    record = await _cart(info, id)
    return Cart.from_record(record) if record else None


async def cart_create(
    info: Info,
    input: Annotated[
        CartCreateInput, strawberry.argument(description="What the cart starts with.")
    ],
) -> CartPayload:
    ctx = info.context
    change = await carts.create_cart(
        ctx.sources,
        customer_id=ctx.viewer.customer_id,
        lines=[LineRequest(_sku_pk(line.sku_id), line.quantity) for line in input.lines or []],
        coupon_codes=input.coupon_codes or [],
        address=input.shipping_address.to_record() if input.shipping_address else None,
        now=ctx.now,
        ship_to_default=bool(input.ship_to_default_address),
        hold_ttl=_hold_ttl(info),
        catalog=_catalog(info),
    )
    return await _with_coupon_problems(info, change)


async def cart_lines_add(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
    lines: Annotated[
        list[CartLineInput],
        strawberry.argument(description="SKUs and quantities to add (at most 100 lines)."),
    ],
) -> CartPayload:
    record = await _cart(info, cart_id)
    if record is None:
        return _payload(info, carts.not_found())
    requests = [LineRequest(_sku_pk(line.sku_id), line.quantity) for line in lines]
    return _payload(
        info,
        await carts.add_lines(
            info.context.sources,
            record,
            requests,
            info.context.now,
            _hold_ttl(info),
            catalog=_catalog(info),
        ),
    )


async def cart_lines_update(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
    lines: Annotated[
        list[CartLineUpdateInput],
        strawberry.argument(description="Lines and their new quantities."),
    ],
) -> CartPayload:
    record = await _cart(info, cart_id)
    if record is None:
        return _payload(info, carts.not_found())
    updates = [(str(line.line_id), line.quantity) for line in lines]
    return _payload(
        info,
        await carts.update_lines(
            info.context.sources, record, updates, info.context.now, _hold_ttl(info)
        ),
    )


async def cart_lines_remove(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
    line_ids: Annotated[
        list[strawberry.ID], strawberry.argument(description="The lines to remove (CartLine.id).")
    ],
) -> CartPayload:
    record = await _cart(info, cart_id)
    if record is None:
        return _payload(info, carts.not_found())
    ids = [str(i) for i in line_ids]
    return _payload(
        info,
        await carts.remove_lines(
            info.context.sources, record, ids, info.context.now, _hold_ttl(info)
        ),
    )


async def cart_coupons_set(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
    coupon_codes: Annotated[
        list[str], strawberry.argument(description="The codes to apply, as the buyer typed them.")
    ],
) -> CartPayload:
    record = await _cart(info, cart_id)
    if record is None:
        return _payload(info, carts.not_found())
    change = await carts.set_coupons(
        info.context.sources, record, coupon_codes, info.context.now, _hold_ttl(info)
    )
    return await _with_coupon_problems(info, change)


async def _with_coupon_problems(info: Info, change: CartChange) -> CartPayload:
    """Codes are kept as typed; the payload says which do not apply now, and why."""
    if change.cart is None or not change.cart.coupon_codes:
        return _payload(info, change)
    cart = _cart_of(info, change)
    assert cart is not None
    evaluation = await cart.evaluation(info)  # memoised: the cart's fields reuse it
    coupon_problems = [p for p in evaluation.problems if p.code.value.startswith("COUPON_")]
    return CartPayload(
        cart=cart,
        user_errors=user_errors(stock_view(info).shown([*change.problems, *coupon_problems])),
    )


async def cart_shipping_address_set(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id (Cart.id).")],
    address: Annotated[
        AddressInput,
        strawberry.argument(
            description="The address; `region` takes a code (CN-SH) or a name (上海)."
        ),
    ],
) -> CartPayload:
    token = cart_token(cart_id)
    if token is None:
        return _payload(info, carts.not_found())
    ctx = info.context
    change = await carts.set_address_of(
        ctx.sources,
        token,
        ctx.viewer.customer_id,
        address.to_record(),
        ctx.now,
        _hold_ttl(info),
    )
    return _payload(info, change)


async def cart_shipping_address_use_default(
    info: Info,
    cart_id: Annotated[strawberry.ID, strawberry.argument(description="The viewer's cart.")],
) -> CartPayload:
    record = await _cart(info, cart_id)
    if record is None:
        return _payload(info, carts.not_found())
    ctx = info.context
    change = await carts.use_default_address(
        ctx.sources, record, ctx.viewer.customer_id, ctx.now, _hold_ttl(info)
    )
    return _payload(info, change)
