"""Batch forms of the catalog fields every storefront screen asks for on every product
and SKU (the listing: category, SKUs, price range, stock, promotions; per SKU: price and
stock). Each gives exactly what the per-object resolver in gateway/schema/catalog.py
gives, object by object (the differential test holds them to it), but asks its loader
for every key of the level at once.

Where the price range and "in stock" read prices and stock of a product's active SKUs,
these ask for all of its SKUs: the SKUs' own ``price``/``stock`` one level down then find
every key memoised instead of making a second source call for the inactive ones (under
depth-first execution the two land in one DataLoader batch by timing). For a bundle whose
parts the same request reads (``bundleItems``), they ask for the parts' SKUs too, so a
bundle's page reads prices and stock once, not once for its SKUs and again for its parts.

Categories, price ranges, promotions, prices and stock levels are returned as the
records (or small tuples of them) that gateway/execution/catalog_records.py completes:
no strawberry object per SKU, price, stock level or promotion on a listing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from strawberry.types.arguments import convert_arguments

from sources.catalog.records import ProductKind

from ..resilience.degrade import current_degradation, stale_if
from ..resilience.listing import listable_records
from ..resolvers.catalog import product_page
from ..schema.catalog import Product, ProductConnection, Sku
from ..schema.common import Info, PageInfo
from .batch import batch_field
from .catalog_records import (
    PriceRangeValue,
    SkuValue,
    product_records,
    sku_records,
    stock,
)

T = TypeVar("T")
R = TypeVar("R")


def each(items: Sequence[T], fn: Callable[[T], R]) -> list[R | Exception]:
    """``fn`` per item; an item whose ``fn`` raises gets its exception (its field error).
    (The functions given here only read: after an error, the items are gone over again.)"""
    try:
        return [fn(item) for item in items]  # the common case: no call to append per item
    except Exception:
        pass
    out: list[R | Exception] = []
    for item in items:
        try:
            out.append(fn(item))
        except Exception as exc:
            out.append(exc)
    return out


@batch_field("Product", "category", records=True)
async def product_category(parents: Sequence[Any], info: Info, _: dict[str, Any]) -> list[Any]:
    records = product_records(parents)
    ids = [p.category_id for p in records if p.category_id is not None]
    found = await info.context.loaders.catalog.category.load_all(ids)
    by_id = dict(zip(ids, found, strict=True))

    # The record (catalog_records.py), or None.
    return [None if p.category_id is None else by_id[p.category_id] for p in records]


@batch_field("Product", "skus", records=True)
async def product_skus(parents: Sequence[Any], info: Info, _: dict[str, Any]) -> list[Any]:
    records = product_records(parents)
    found = await info.context.loaders.catalog.skus_by_product.load_all([p.id for p in records])
    # The records (catalog_records.py): a strawberry Sku only where a field needs one.
    return [[(s, p) for s in skus] for p, skus in zip(records, found, strict=True)]


async def _sku_ids_to_read(parents: Sequence[Any], info: Info) -> tuple[list[Any], list[int]]:
    """Each parent's SKUs, and the SKU ids whose price or stock to read: theirs, and the
    parts' of the bundles whose ``bundleItems`` this request has asked for (a sibling
    field started that read in this level; awaiting it costs no call)."""
    catalog = info.context.loaders.catalog
    records = product_records(parents)
    skus = await catalog.skus_by_product.load_all([p.id for p in records])
    sku_ids = [s.id for product_skus in skus for s in product_skus]
    bundles = [p.id for p in records if p.kind is ProductKind.BUNDLE]
    asked = catalog.bundle_items.requested(bundles) if bundles else []
    if asked:
        parts = await catalog.bundle_items.load_all(asked)
        sku_ids += [item.sku.id for items in parts for item in items]
    return skus, sku_ids


@batch_field("Product", "priceRange", records=True)
async def product_price_range(parents: Sequence[Any], info: Info, _: dict[str, Any]) -> list[Any]:
    loaders = info.context.loaders
    skus, sku_ids = await _sku_ids_to_read(parents, info)
    found, clean = await loaders.pricing.price.load_checked(sku_ids)
    prices = dict(zip(sku_ids, found, strict=True))
    currency = info.context.settings.currency
    fresh = _fresh()

    def price_range(product_skus: list[Any]) -> Any:
        # Active SKUs only, as the listing's price sort and filter see them.
        if clean:  # no key failed: no check per price
            chosen = [prices[s.id] for s in product_skus if s.is_active]
        else:
            chosen = [_value(prices[s.id]) for s in product_skus if s.is_active]
        amounts = [p.sale_amount for p in chosen if p] or [Decimal(0)]
        price_range: PriceRangeValue = ((min(amounts), currency), (max(amounts), currency))
        return price_range if fresh else stale_if(price_range, *chosen)

    return each(skus, price_range)


@batch_field("Product", "inStock", records=True)
async def product_in_stock(parents: Sequence[Any], info: Info, _: dict[str, Any]) -> list[Any]:
    loaders = info.context.loaders
    skus, sku_ids = await _sku_ids_to_read(parents, info)
    found, clean = await loaders.inventory.stock.load_checked(sku_ids)
    levels = dict(zip(sku_ids, found, strict=True))
    fresh = _fresh()

    def in_stock(product_skus: list[Any]) -> Any:
        if clean:  # no key failed: no check per level
            chosen = [levels[s.id] for s in product_skus if s.is_active]
        else:
            chosen = [_value(levels[s.id]) for s in product_skus if s.is_active]
        found = any(level.in_stock for level in chosen)
        return found if fresh else stale_if(found, *chosen)

    return each(skus, in_stock)


@batch_field("Product", "promotions", records=True)
async def product_promotions(parents: Sequence[Any], info: Info, _: dict[str, Any]) -> list[Any]:
    loaders = info.context.loaders
    records = product_records(parents)
    category_ids = [p.category_id for p in records if p.category_id is not None]
    categories = dict(
        zip(category_ids, await loaders.catalog.category.load_all(category_ids), strict=True)
    )
    keys: list[tuple[int, tuple[int, ...]]] = []
    for product in records:
        path: tuple[int, ...] = ()
        if product.category_id is not None:
            category = categories[product.category_id]
            path = category.path if category else ()
        keys.append((product.id, path))
    found, clean = await loaders.pricing.promotions.load_checked(keys)
    if _fresh():
        if clean:
            return [list(promotions) for promotions in found]
        return each(found, lambda promotions: list(_value(promotions)))
    return each(found, lambda promotions: stale_if(list(_value(promotions)), promotions))


@batch_field("Sku", "price", records=True)
async def sku_price(parents: Sequence[Sku | SkuValue], info: Info, _: dict[str, Any]) -> list[Any]:
    records = sku_records(parents)
    found, clean = await info.context.loaders.pricing.price.load_checked([s.id for s in records])
    currency = info.context.settings.currency
    fresh = _fresh()
    if clean and fresh and type(None) not in set(map(type, found)):
        return found  # every SKU priced: the records themselves (asOf read from them)

    def price(pair: tuple[Any, Any]) -> Any:
        sku, record = pair
        if _value(record) is None:
            raise RuntimeError(f"SKU {sku.id} has no price in {currency}")
        return record if fresh else stale_if(record, record)  # asOf: read from the record

    return each(list(zip(records, found, strict=True)), price)


@batch_field("Sku", "stock", records=True)
async def sku_stock(parents: Sequence[Sku | SkuValue], info: Info, _: dict[str, Any]) -> list[Any]:
    found, clean = await info.context.loaders.inventory.stock.load_checked(
        [s.id for s in sku_records(parents)]
    )
    # The viewer's figures are made from the (shared, exact) records as they are completed.
    if _fresh():
        if clean:
            try:  # no key failed: no call per level (any error: each's answer, per SKU)
                return [(level, level.available) for level in found]
            except Exception:
                pass
        return each(found, lambda level: stock(_value(level)))
    return each(found, lambda level: stale_if(stock(_value(level)), level))


@batch_field("Query", "products")
async def query_products(
    parents: Sequence[Any], info: Info, arguments: dict[str, Any]
) -> list[Any]:
    """The listing with its edges as records (catalog_records.py: ``EdgeValue``, the
    product's record): a strawberry ``Product`` and ``ProductEdge`` only where a field
    asked for needs one. What the ``products`` resolver answers, otherwise."""
    field = info._field
    schema = info.schema
    kwargs = convert_arguments(
        arguments,
        field.arguments,
        scalar_registry=schema.schema_converter.scalar_registry,
        config=schema.config,
        info=info,
    )
    after = kwargs.get("after")
    try:
        page = await product_page(
            info, kwargs.get("first"), after, kwargs.get("filter"), kwargs.get("sort")
        )
        edges = [
            (cursor, product) for product, cursor in zip(page.products, page.cursors, strict=True)
        ]
        kept = await listable_records(info, edges, page.products, Product.from_record)
    except Exception as exc:
        return [exc for _ in parents]
    connection = ProductConnection(
        edges=kept,  # EdgeValues: the executor completes them through their form
        page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
        total_count=page.total_count if page.total_count is not None else 0,
    )
    return [connection for _ in parents]


def _fresh() -> bool:
    """Nothing this request read is a last-known copy (gateway/resilience/degrade.py):
    no value needs ``stale_if``'s look-up per object. Asked after the loads."""
    degradation = current_degradation.get()
    return degradation is None or not degradation.as_of


def _value(found: T | Exception) -> T:
    """A loaded value, or its key's failure raised (``each`` makes it that object's)."""
    if isinstance(found, Exception):
        raise found
    return found
