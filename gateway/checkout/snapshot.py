"""Everything a cart's price and validation depend on, read from the sources of truth in
one batch per source method (never from the cache: these reads decide money and stock),
or, for a cart mutation's payload that does not show its validation, through the
request's loaders (``shown``: see shown.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sources.catalog.records import BundleItem, CartCatalog, Category, Product, Sku
from sources.common.fast_init import fast_inits
from sources.inventory.records import CartStock, Reservation, StockLevel
from sources.orders.records import Cart, CartBuyer, Customer, Region
from sources.pricing.engine import CouponUsage
from sources.pricing.records import Price, Promotion

from ..loaders import Loaders
from ..sources import Sources
from .holds import credit_own_holds, hold_refs
from .shown import shown_catalog, shown_pricing, shown_stock


@dataclass(frozen=True, slots=True)
class CartSnapshot:
    cart: Cart
    customer: Customer | None
    now: datetime
    currency: str
    skus: dict[int, Sku]
    products: dict[int, Product]
    categories: dict[int, Category]
    prices: dict[int, Price]
    stock: dict[int, StockLevel]
    bundles: dict[int, list[BundleItem]]
    service_areas: dict[int, list[str]]
    region: Region | None
    promotions: list[Promotion]
    coupon_usage: dict[int, CouponUsage]
    purchased: dict[int, int]
    # The cart's own stock holds (reserve on add), by hold ref; ``stock`` counts them free.
    holds: dict[str, Reservation] = field(default_factory=dict)

    def product_of(self, sku_id: int) -> Product | None:
        sku = self.skus.get(sku_id)
        return self.products.get(sku.product_id) if sku else None

    def category_path(self, product: Product) -> tuple[int, ...]:
        category = self.categories.get(product.category_id) if product.category_id else None
        return category.path if category else ()


# The catalog records a request already read (a cart mutation checks its lines with
# ``cart_catalog`` before writing them): the snapshot reuses them instead of asking again.
KnownCatalog = CartCatalog


@dataclass(frozen=True, slots=True)
class KnownBuyer:
    """The buyer and region the request's orders call already read from the source of
    truth, inside its cart write or its checkout claim (``CartWithBuyer``,
    ``CheckoutStart``): the snapshot asks the orders source again only for purchases (a
    SKU with a purchase limit), or when it is not the same buyer or region."""

    customer_id: int | None
    region_code: str | None
    buyer: CartBuyer


async def load_snapshot(
    sources: Sources,
    cart: Cart,
    *,
    customer_id: int | None,
    currency: str,
    now: datetime,
    known: KnownCatalog | None = None,
    known_buyer: KnownBuyer | None = None,
    shown: Loaders | None = None,
) -> CartSnapshot:
    """One call per source: the catalog first (its SKUs and products say which other SKUs,
    limits and services the cart involves), then pricing, inventory and orders side by side.
    Within a call a read is skipped only where its answer cannot matter: bundle parts of a
    cart with no bundle, purchases of a cart without a purchase limit, service areas without
    a service, the region without an address, coupon usage without a coupon; and the
    orders read altogether when ``known_buyer`` holds it (no purchase limit involved).

    ``shown`` (a cart mutation's payload, never the checkout): the catalog, and the prices,
    promotions and stock of a cart with no coupon and no hold, from these loaders; ``known``
    must then come from them too."""
    sku_ids = [line.sku_id for line in cart.lines]
    if known is None or any(i not in known.skus for i in sku_ids):
        wanted = sorted(set(sku_ids))
        known = (
            await shown_catalog(shown, sources, wanted)
            if shown is not None
            else await sources.catalog.cart_catalog(wanted)
        )
    skus = {i: known.skus[i] for i in sku_ids if i in known.skus}
    products = {
        s.product_id: known.products[s.product_id]
        for s in skus.values()
        if s.product_id in known.products
    }
    bundles = {p: known.bundles[p] for p in products if p in known.bundles}
    # Bundle parts count as cart contents for stock, service areas and prices.
    part_skus = {item.sku.id: item.sku for items in bundles.values() for item in items}
    part_products = {item.product.id: item.product for items in bundles.values() for item in items}
    all_sku_ids = sorted(set(sku_ids) | set(part_skus))
    all_products = {**part_products, **products}
    all_skus = {**part_skus, **skus}
    region_code = cart.shipping_address.region if cart.shipping_address else None
    owner = customer_id or cart.customer_id
    limited = [i for i in sku_ids if i in all_skus and all_skus[i].purchase_limit is not None]

    refs = hold_refs(cart)

    async with asyncio.TaskGroup() as reads:
        if shown is not None and not cart.coupon_codes:
            paths = {p.id: _category_path(known, p) for p in all_products.values()}
            pricing = reads.create_task(shown_pricing(shown, all_sku_ids, paths))
        else:
            pricing = reads.create_task(
                sources.pricing.pricing_for_checkout(
                    all_sku_ids, currency, cart.coupon_codes, now, owner
                )
            )
        if shown is not None and not refs:
            stock = reads.create_task(_shown_stock(shown, all_sku_ids))
        else:
            # The cart's holds are read BEFORE its stock inside this call (see cart_stock).
            stock = reads.create_task(sources.inventory.cart_stock(refs, all_sku_ids))
        if _buyer_known(known_buyer, owner, region_code, limited):
            assert known_buyer is not None
            buyer = _done(known_buyer.buyer)
        else:
            buyer = reads.create_task(
                sources.orders.cart_buyer(owner, region_code, limited if owner else [])
            )
    held = stock.result().holds
    return CartSnapshot(
        cart=cart,
        customer=buyer.result().customer,
        now=now,
        currency=currency,
        skus=all_skus,
        products=all_products,
        categories=known.categories,
        prices=pricing.result().prices,
        stock=credit_own_holds(stock.result().stock, held),
        bundles=bundles,
        service_areas={p: a for p, a in known.service_areas.items() if p in all_products},
        region=buyer.result().region,
        promotions=pricing.result().promotions,
        coupon_usage=pricing.result().coupon_usage,
        purchased=buyer.result().purchased,
        holds=held,
    )


def _category_path(catalog: CartCatalog, product: Product) -> tuple[int, ...]:
    category = catalog.categories.get(product.category_id) if product.category_id else None
    return category.path if category else ()


async def _shown_stock(loaders: Loaders, sku_ids: list[int]) -> CartStock:
    return CartStock({}, await shown_stock(loaders, sku_ids))


def _buyer_known(
    known: KnownBuyer | None, owner: int | None, region_code: str | None, limited: list[int]
) -> bool:
    return (
        known is not None
        and known.customer_id == owner
        and known.region_code == region_code
        and not (owner and limited)
    )


def _done(buyer: CartBuyer) -> asyncio.Future[CartBuyer]:
    future: asyncio.Future[CartBuyer] = asyncio.get_running_loop().create_future()
    future.set_result(buyer)
    return future


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
