"""What each write through the gateway makes stale, and the handle writers use to say so.

A back-office write knows the entities it touched; ``cache_for(sources)`` finds the cache
fronting those sources (none in the CLI or a unit test: then there is nothing to drop).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from ..sources import Sources
from .entities import ReadThrough
from .keys import LISTING_KINDS, Kind

_caches: dict[int, ReadThrough] = {}


def register(sources: Sources, cache: ReadThrough) -> None:
    _caches[id(sources)] = cache


def unregister(sources: Sources) -> None:
    _caches.pop(id(sources), None)


def cache_for(sources: Sources) -> ReadThrough | None:
    return _caches.get(id(sources))


async def invalidate(
    sources: Sources, entities: Iterable[tuple[Kind, object]] = (), kinds: Iterable[Kind] = ()
) -> None:
    cache = cache_for(sources)
    if cache is not None:
        await cache.cache.invalidate(entities, kinds)


async def price_changed(sources: Sources, *, sku_id: int, product_id: int, currency: str) -> None:
    """A price, and the product's price range and every listing that sorts or filters by it."""
    await invalidate(
        sources, [(Kind.PRICE, f"{currency}:{sku_id}"), (Kind.PRODUCT, product_id)], LISTING_KINDS
    )


async def stock_changed(
    sources: Sources, *, sku_ids: Iterable[int], product_id: int | None
) -> None:
    entities: list[tuple[Kind, object]] = [(Kind.STOCK, sku_id) for sku_id in sku_ids]
    if product_id is None:  # a reservation: only the displayed availability moves
        await invalidate(sources, entities)
        return
    entities.append((Kind.PRODUCT, product_id))  # its "in stock" flag may have flipped
    await invalidate(sources, entities, LISTING_KINDS)


async def product_changed(sources: Sources, *, product_id: int, slug: str | None = None) -> None:
    entities: list[tuple[Kind, object]] = [(Kind.PRODUCT, product_id)]
    if slug is not None:
        entities.append((Kind.PRODUCT_SLUG, slug))
    await invalidate(sources, entities, LISTING_KINDS)


def drop_stock_after_reservations(sources: Sources) -> None:
    """Checkout (which reads the sources, never the cache) reserves stock: the availability
    buyers browse must not lag behind it, so the reserved SKUs' display stock is dropped."""
    store = sources.inventory
    reserve = store.reserve

    @functools.wraps(reserve)
    async def reserve_and_drop(*args: Any, **kwargs: Any) -> Any:
        result = await reserve(*args, **kwargs)
        sku_ids = {item.sku_id for item in kwargs.get("items", ())}
        if sku_ids:
            await stock_changed(sources, sku_ids=sku_ids, product_id=None)
        return result

    setattr(store, "reserve", reserve_and_drop)  # noqa: B010  (an instance's method)

    release = store.release_reservation

    @functools.wraps(release)
    async def release_and_drop(order_ref: str, now: Any) -> bool:
        # Cancellations and undone checkouts give stock back: show it. (Holds the sweeper
        # releases in bulk show up within the stock TTL.)
        held = (await store.reservations_by_order_refs([order_ref])).get(order_ref)
        released = await release(order_ref, now)
        if released and held is not None:
            sku_ids = {a.sku_id for a in held.allocations}
            await stock_changed(sources, sku_ids=sku_ids, product_id=None)
        return released

    setattr(store, "release_reservation", release_and_drop)  # noqa: B010
