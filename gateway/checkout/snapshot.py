"""Everything a cart's price and validation depend on, read from the sources of truth in
one batch per source method (never from the cache: these reads decide money and stock)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sources.catalog.records import BundleItem, Category, Product, ProductKind, Sku
from sources.inventory.records import StockLevel
from sources.orders.records import Cart, Customer, Region
from sources.pricing.engine import CouponUsage
from sources.pricing.records import Price, Promotion

from ..sources import Sources


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

    def product_of(self, sku_id: int) -> Product | None:
        sku = self.skus.get(sku_id)
        return self.products.get(sku.product_id) if sku else None

    def category_path(self, product: Product) -> tuple[int, ...]:
        category = self.categories.get(product.category_id) if product.category_id else None
        return category.path if category else ()


async def load_snapshot(
    sources: Sources, cart: Cart, *, customer_id: int | None, currency: str, now: datetime
) -> CartSnapshot:
    sku_ids = [line.sku_id for line in cart.lines]
    catalog, orders, pricing, inventory = (
        sources.catalog,
        sources.orders,
        sources.pricing,
        sources.inventory,
    )

    skus = await catalog.skus_by_ids(sku_ids)
    product_ids = sorted({s.product_id for s in skus.values()})
    products, bundles = await asyncio.gather(
        catalog.products_by_ids(product_ids), catalog.bundle_items_by_product_ids(product_ids)
    )
    # Bundle parts count as cart contents for stock, service areas and prices.
    part_skus = {item.sku.id: item.sku for items in bundles.values() for item in items}
    part_products = {item.product.id: item.product for items in bundles.values() for item in items}
    all_sku_ids = sorted(set(sku_ids) | set(part_skus))
    all_products = {**part_products, **products}
    service_ids = [p.id for p in all_products.values() if p.kind is ProductKind.SERVICE]
    category_ids = sorted({p.category_id for p in all_products.values() if p.category_id})
    region_code = cart.shipping_address.region if cart.shipping_address else None
    owner = customer_id or cart.customer_id

    # One round of independent reads, one call per source method.
    async with asyncio.TaskGroup() as reads:
        categories = reads.create_task(catalog.categories_by_ids(category_ids))
        prices = reads.create_task(pricing.prices_by_sku_ids(all_sku_ids, currency))
        stock = reads.create_task(inventory.stock_by_sku_ids(all_sku_ids))
        service_areas = reads.create_task(catalog.service_areas_by_product_ids(service_ids))
        regions = reads.create_task(orders.regions_by_codes([region_code] if region_code else []))
        customers = reads.create_task(orders.customers_by_ids([owner] if owner else []))
        purchased = reads.create_task(
            orders.purchased_quantities(owner, sku_ids) if owner else _no_purchases()
        )
        promotions = reads.create_task(pricing.promotions_for_checkout(cart.coupon_codes, now))
    coupon_ids = [p.id for p in promotions.result() if p.coupon_code is not None]
    usage = await pricing.coupon_usage(coupon_ids, owner) if coupon_ids else {}
    return CartSnapshot(
        cart=cart,
        customer=customers.result().get(owner) if owner else None,
        now=now,
        currency=currency,
        skus={**part_skus, **skus},
        products=all_products,
        categories=categories.result(),
        prices=prices.result(),
        stock=stock.result(),
        bundles=bundles,
        service_areas=service_areas.result(),
        region=regions.result().get(region_code) if region_code else None,
        promotions=promotions.result(),
        coupon_usage=usage,
        purchased=purchased.result(),
    )


async def _no_purchases() -> dict[int, int]:
    return {}
