"""Storefront catalog queries."""

from typing import Annotated

import strawberry

from sources.catalog.records import ProductFilter as FilterRecord
from sources.catalog.records import ProductPage
from sources.catalog.records import ProductSort as SortRecord
from sources.common.pagination import InvalidCursor

from ..auth import Permission
from ..resilience.listing import listable_edges
from ..schema.catalog import Category, Product, ProductConnection, ProductFilter, visible
from ..schema.common import BadUserInput, Info, page_size
from ..schema.node import decode_int_id
from ..schema.selection import selects


async def product(
    info: Info,
    id: Annotated[
        strawberry.ID | None, strawberry.argument(description="The product's id (Product.id).")
    ] = None,
    slug: Annotated[
        str | None, strawberry.argument(description="The product's slug (Product.slug).")
    ] = None,
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
    first: Annotated[
        int | None,
        strawberry.argument(
            description=(
                "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
            )
        ),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A cursor from a previous page's edges (or pageInfo.endCursor)."
        ),
    ] = None,
    filter: Annotated[
        ProductFilter | None,
        strawberry.argument(description="Conditions every product listed meets."),
    ] = None,
    sort: Annotated[
        SortRecord | None, strawberry.argument(description="The order; NEWEST when omitted.")
    ] = None,
) -> ProductConnection:
    page = await product_page(info, first, after, filter, sort)
    connection = ProductConnection.from_page(page, after=after)
    connection.edges = await listable_edges(info, connection.edges)
    return connection


async def product_page(
    info: Info,
    first: int | None,
    after: str | None,
    filter: ProductFilter | None,
    sort: SortRecord | None,
) -> ProductPage:
    """The page ``products`` shows (its records), as the field's arguments ask; its
    products primed in the request's loader. The breadth-first executor's batch form of
    the field (gateway/execution/catalog_batches.py) lays it out from the records."""
    size = page_size(info, first)
    flt = filter or ProductFilter()
    flt.validate()
    record_filter = filter_record(info, flt)
    catalog = info.context.sources.catalog
    try:
        if record_filter.search and sort is None:
            # Searching without a sort: the engine's ranking is the order.
            ranked = await catalog.search_products(
                record_filter.search, first=size, after=after, filter=record_filter,
                with_facets=False,
            )  # fmt: skip
            page = ProductPage(
                ranked.products, ranked.cursors, ranked.has_next_page, ranked.total_count
            )
        else:
            page = await catalog.list_products(
                first=size,
                after=after,
                filter=record_filter,
                sort=sort or SortRecord.NEWEST,
                with_total=selects(info, "totalCount"),
            )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    # Prime the per-request loader so nested fields reuse what the listing fetched.
    products = page.products
    info.context.loaders.catalog.product.prime_many([p.id for p in products], products)
    return page


def filter_record(info: Info, flt: ProductFilter) -> FilterRecord:
    """The source's filter for a validated input (staff see unpublished products too)."""
    return FilterRecord(
        category_slug=flt.category_slug,
        kind=flt.kind,
        in_stock=flt.in_stock,
        search=flt.search.strip() if flt.search and flt.search.strip() else None,
        min_price=flt.min_price,
        max_price=flt.max_price,
        include_unpublished=info.context.viewer.has(Permission.MANAGE_PRODUCTS),
        attributes=flt.attribute_conditions(),
        brands=tuple(flt.brands or ()),
        category_slugs=tuple(flt.category_slugs or ()),
        price_band=flt.price_band,
    )


async def categories(info: Info) -> list[Category]:
    return [Category.from_record(c) for c in await info.context.sources.catalog.all_categories()]
