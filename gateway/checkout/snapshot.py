"""Everything a cart's price and validation depend on, read from the sources of truth in
one batch per source method (never from the cache: these reads decide money and stock)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sources.catalog.records import BundleItem, Category, Product, ProductKind, Sku
from sources.inventory.records import Reservation, StockLevel
from sources.orders.records import Cart, Customer, Region
from sources.pricing.engine import CouponUsage
from sources.pricing.records import Price, Promotion, PromotionScope

from ..sources import Sources
from .holds import credit_own_holds, hold_refs


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


@dataclass(frozen=True, slots=True)
class KnownCatalog:
    """SKUs and products this request already read from the catalog (a cart mutation checks
    them before writing its lines): the snapshot reuses them instead of asking again."""

    skus: dict[int, Sku]
    products: dict[int, Product]


async def load_snapshot(
    sources: Sources,
    cart: Cart,
    *,
    customer_id: int | None,
    currency: str,
    now: datetime,
    known: KnownCatalog | None = None,
) -> CartSnapshot:
    """A read is skipped only where its answer cannot matter: bundle parts of a cart with
    no bundle, purchases of a cart without a purchase limit, service areas without a
    service, the region without an address, categories when no promotion targets one."""
    sku_ids = [line.sku_id for line in cart.lines]
    catalog, orders, pricing, inventory = (
        sources.catalog,
        sources.orders,
        sources.pricing,
        sources.inventory,
    )

    skus = {i: known.skus[i] for i in sku_ids if i in known.skus} if known else {}
    if missing := [i for i in sku_ids if i not in skus]:
        skus.update(await catalog.skus_by_ids(missing))
    product_ids = sorted({s.product_id for s in skus.values()})
    products = {i: known.products[i] for i in product_ids if i in known.products} if known else {}
    if missing := [i for i in product_ids if i not in products]:
        products.update(await catalog.products_by_ids(missing))
    bundle_ids = [p.id for p in products.values() if p.kind is ProductKind.BUNDLE]
    bundles = await catalog.bundle_items_by_product_ids(bundle_ids) if bundle_ids else {}
    # Bundle parts count as cart contents for stock, service areas and prices.
    part_skus = {item.sku.id: item.sku for items in bundles.values() for item in items}
    part_products = {item.product.id: item.product for items in bundles.values() for item in items}
    all_sku_ids = sorted(set(sku_ids) | set(part_skus))
    all_products = {**part_products, **products}
    all_skus = {**part_skus, **skus}
    service_ids = [p.id for p in all_products.values() if p.kind is ProductKind.SERVICE]
    category_ids = sorted({p.category_id for p in all_products.values() if p.category_id})
    region_code = cart.shipping_address.region if cart.shipping_address else None
    owner = customer_id or cart.customer_id
    limited = [i for i in sku_ids if i in all_skus and all_skus[i].purchase_limit is not None]
    own_holds = hold_refs(cart)
    # The cart's holds are read BEFORE its stock, not beside it: a hold the sweeper releases
    # in between is then counted twice (the checkout's conversion decides, under its locks)
    # rather than not at all (a buyer refused units that are free).
    held = await inventory.reservations_by_order_refs(own_holds) if own_holds else {}

    # One round of independent reads, one call per source method.
    async with asyncio.TaskGroup() as reads:
        prices = reads.create_task(pricing.prices_by_sku_ids(all_sku_ids, currency))
        stock = reads.create_task(inventory.stock_by_sku_ids(all_sku_ids))
        service_areas = reads.create_task(
            catalog.service_areas_by_product_ids(service_ids) if service_ids else _empty()
        )
        regions = reads.create_task(
            orders.regions_by_codes([region_code]) if region_code else _empty()
        )
        customers = reads.create_task(orders.customers_by_ids([owner]) if owner else _empty())
        purchased = reads.create_task(
            orders.purchased_quantities(owner, limited) if owner and limited else _empty()
        )
        promotions = reads.create_task(pricing.promotions_for_checkout(cart.coupon_codes, now))
    coupon_ids = [p.id for p in promotions.result() if p.coupon_code is not None]
    by_category = any(p.scope is PromotionScope.CATEGORIES for p in promotions.result())
    async with asyncio.TaskGroup() as reads:
        usage = reads.create_task(
            pricing.coupon_usage(coupon_ids, owner) if coupon_ids else _empty()
        )
        categories = reads.create_task(
            catalog.categories_by_ids(category_ids) if by_category and category_ids else _empty()
        )
    return CartSnapshot(
        cart=cart,
        customer=customers.result().get(owner) if owner else None,
        now=now,
        currency=currency,
        skus=all_skus,
        products=all_products,
        categories=categories.result(),
        prices=prices.result(),
        stock=credit_own_holds(stock.result(), held),
        bundles=bundles,
        service_areas=service_areas.result(),
        region=regions.result().get(region_code) if region_code else None,
        promotions=promotions.result(),
        coupon_usage=usage.result(),
        purchased=purchased.result(),
        holds=held,
    )


async def _empty() -> dict[Any, Any]:
    return {}
