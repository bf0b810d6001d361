"""Keeps the catalog's listing projection (price range, in stock) in step with pricing
and inventory after a write through the gateway. A write made behind the gateway's back
is caught up by the next write or a reseed; listings are for browsing, and checkout reads
the sources of truth."""

from __future__ import annotations

from collections.abc import Collection

from sources.catalog.records import ListingUpdate

from ..sources import Sources


async def refresh_product_listing(sources: Sources, product_id: int, currency: str) -> None:
    skus = (await sources.catalog.skus_by_product_ids([product_id]))[product_id]
    active = [s.id for s in skus if s.is_active]
    prices = await sources.pricing.prices_by_sku_ids(active, currency)
    stock = await sources.inventory.stock_by_sku_ids(active)
    amounts = [p.sale_amount for p in prices.values()]
    await sources.catalog.update_listing(
        product_id,
        price_range=(min(amounts), max(amounts)) if amounts else None,
        in_stock=any(level.in_stock for level in stock.values()),
    )


async def refresh_listings(
    sources: Sources,
    product_ids: Collection[int],
    currency: str,
    *,
    prices: bool = False,
    stock: bool = False,
) -> None:
    """The projection of many products after a bulk write or an import batch: what moved
    (prices, stock or both) is read once for all of them and written in one call."""
    if not product_ids or not (prices or stock):
        return
    ids = sorted(product_ids)
    skus = await sources.catalog.skus_by_product_ids(ids)
    active = {pid: [s.id for s in skus[pid] if s.is_active] for pid in ids}
    sku_ids = [sku_id for group in active.values() for sku_id in group]
    price_of = await sources.pricing.prices_by_sku_ids(sku_ids, currency) if prices else {}
    level_of = await sources.inventory.stock_by_sku_ids(sku_ids) if stock else {}
    updates = []
    for pid in ids:
        amounts = [price_of[s].sale_amount for s in active[pid] if s in price_of]
        updates.append(
            ListingUpdate(
                pid,
                price_range=(min(amounts), max(amounts)) if prices and amounts else None,
                in_stock=any(level_of[s].in_stock for s in active[pid]) if stock else None,
            )
        )
    await sources.catalog.update_listings(updates)
