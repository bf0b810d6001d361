"""A cart as a cart mutation shows it: its catalog, prices, promotions and stock read from
the request's loaders, so through the shared read-through cache (the browsing pages' keys,
dropped by the same invalidation), not from the sources of truth.

Allowed because a cart mutation decides neither money nor stock (DESIGN, "Checkout reads the
source of truth"): ``checkoutComplete`` re-reads all of it from the sources, answers
``PRICE_CHANGED`` against the total the buyer saw, and stock is only ever taken by the
inventory source's conditional update. What the cache cannot answer still comes from the
sources: the service areas of a service product (catalog), the usage of the cart's coupons
(pricing: a cart with a coupon prices from the source), the cart's own stock holds
(inventory: a cart with a hold reads its stock from the source), the buyer (orders).

Only with a shared cache (with none, the combined source reads of ``snapshot.py`` are
fewer calls than the loaders' one per kind) and only when ``Cart.validation`` is not asked
for: the contract says that field is "computed now, against the sources of truth"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sources.catalog.records import BundleItem, CartCatalog, ProductKind
from sources.inventory.records import StockLevel
from sources.pricing.engine import CheckoutPricing
from sources.pricing.records import Promotion

from ..loaders import Loaders
from ..sources import Sources


async def shown_catalog(loaders: Loaders, sources: Sources, sku_ids: Sequence[int]) -> CartCatalog:
    """What ``catalog.cart_catalog`` answers, from the loaders (the same records: the cache
    holds what the single-purpose reads return); a SKU that does not exist is absent."""
    catalog = loaders.catalog
    ids = sorted(set(sku_ids))
    skus = {s.id: s for s in await catalog.sku.load_many(ids) if s is not None}
    product_ids = sorted({s.product_id for s in skus.values()})
    products = {p.id: p for p in await catalog.product.load_many(product_ids) if p is not None}
    bundle_ids = [p.id for p in products.values() if p.kind is ProductKind.BUNDLE]
    bundles: dict[int, list[BundleItem]] = (
        dict(zip(bundle_ids, await catalog.bundle_items.load_many(bundle_ids), strict=True))
        if bundle_ids
        else {}
    )
    every = {item.product.id: item.product for items in bundles.values() for item in items}
    every.update(products)
    service_ids = sorted(p.id for p in every.values() if p.kind is ProductKind.SERVICE)
    category_ids = sorted({p.category_id for p in every.values() if p.category_id})
    async with asyncio.TaskGroup() as reads:
        # No cache kind for service areas: a cart with a service asks the catalog for them.
        areas = reads.create_task(_service_areas(sources, service_ids))
        found = reads.create_task(catalog.category.load_many(category_ids))
    categories = {c.id: c for c in found.result() if c is not None}
    return CartCatalog(skus, products, bundles, areas.result(), categories)


async def _service_areas(sources: Sources, product_ids: list[int]) -> dict[int, list[str]]:
    if not product_ids:
        return {}
    return dict(await sources.catalog.service_areas_by_product_ids(product_ids))


async def shown_pricing(
    loaders: Loaders, sku_ids: Sequence[int], category_paths: dict[int, tuple[int, ...]]
) -> CheckoutPricing:
    """What ``pricing.pricing_for_checkout`` answers for a cart without a coupon: the SKUs'
    prices and the live automatic promotions that can apply to its products (one that
    targets none of them changes nothing), in the source's order (priority, then id)."""
    pricing = loaders.pricing
    keys = list(category_paths.items())
    prices, per_product = await asyncio.gather(
        pricing.price.load_many(list(sku_ids)), pricing.promotions.load_many(keys)
    )
    distinct: dict[int, Promotion] = {}
    for promotions in per_product:
        for promotion in promotions:
            if promotion.coupon_code is None:
                distinct.setdefault(promotion.id, promotion)
    ordered = sorted(distinct.values(), key=lambda p: (-p.priority, p.id))
    return CheckoutPricing(
        {i: p for i, p in zip(sku_ids, prices, strict=True) if p is not None}, ordered, {}
    )


async def shown_stock(loaders: Loaders, sku_ids: Sequence[int]) -> dict[int, StockLevel]:
    """Display stock (a few seconds old at most) for a cart without a hold."""
    levels = await loaders.inventory.stock.load_many(list(sku_ids))
    return {i: s for i, s in zip(sku_ids, levels, strict=True) if s is not None}
