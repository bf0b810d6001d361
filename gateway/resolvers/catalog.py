"""Storefront catalog queries."""

from __future__ import annotations

import strawberry

from sources.catalog.records import ProductFilter as FilterRecord
from sources.catalog.records import ProductSort as SortRecord
from sources.common.pagination import InvalidCursor

from ..auth import Permission
from ..resilience.listing import priced_edges
from ..schema.catalog import Category, Product, ProductConnection, ProductFilter, visible
from ..schema.common import BadUserInput, Info, page_size
from ..schema.node import decode_int_id


async def product(
    info: Info, id: strawberry.ID | None = None, slug: str | None = None
) -> Product | None:
    if (id is None) == (slug is None):
        raise BadUserInput("give exactly one of id or slug")
    loaders = info.context.loaders.catalog
    if id is not None:
        pk = decode_int_id(id, "Product")
        record = await loaders.product.load(pk) if pk is not None else None
    else:
        if not slug or len(slug) > 200 or "\x00" in slug:
            return None
        record = await loaders.product_by_slug.load(slug)
    record = visible(info, record)
    return Product.from_record(record) if record else None


async def products(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    filter: ProductFilter | None = None,
    sort: SortRecord | None = None,
) -> ProductConnection:
    size = page_size(info, first)
    flt = filter or ProductFilter()
    flt.validate()
    record_filter = FilterRecord(
        category_slug=flt.category_slug,
        kind=flt.kind,
        in_stock=flt.in_stock,
        search=flt.search.strip() if flt.search and flt.search.strip() else None,
        min_price=flt.min_price,
        max_price=flt.max_price,
        include_unpublished=info.context.viewer.has(Permission.MANAGE_PRODUCTS),
        attributes=flt.attribute_conditions(),
    )
    try:
        page = await info.context.sources.catalog.list_products(
            first=size, after=after, filter=record_filter, sort=sort or SortRecord.NEWEST
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    connection = ProductConnection.from_page(page, after=after)
    # Prime the per-request loader so nested fields reuse what the listing fetched.
    for product_record in page.products:
        info.context.loaders.catalog.product.prime(product_record.id, product_record)
    connection.edges = await priced_edges(info, connection.edges)
    return connection


async def categories(info: Info) -> list[Category]:
    return [Category.from_record(c) for c in await info.context.sources.catalog.all_categories()]
