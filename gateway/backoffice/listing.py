"""Keeps the catalog's listing projection (price range, in stock) in step with pricing
and inventory after a write through the gateway. A write made behind the gateway's back
is caught up by the next write or a reseed; listings are for browsing, and checkout reads
the sources of truth."""

from __future__ import annotations

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
