"""Storefront search: ranked, faceted results and suggestions while typing."""

from typing import Annotated

import strawberry

from sources.catalog.records import ProductFilter as FilterRecord
from sources.common.pagination import InvalidCursor

from ..resilience.listing import listable_edges, listable_products
from ..schema.catalog import Category, Product, ProductEdge, ProductFilter
from ..schema.common import BadUserInput, Info, PageInfo, page_size
from ..schema.search import (
    PredictiveSearchResult,
    ProductSearchResult,
    SearchFacet,
    SearchSort,
)
from .catalog import filter_record

MAX_QUERY = 200  # characters; a search box holds less
MAX_SUGGESTIONS = 20


def _checked(query: str) -> str:
    if len(query) > MAX_QUERY or "\x00" in query:
        raise BadUserInput(f"query must be at most {MAX_QUERY} characters of text")
    return query.strip()


def _selected(flt: FilterRecord) -> dict[str, set[str]]:
    """The facet values the filter selects, by facet name."""
    chosen: dict[str, set[str]] = {
        "category": set(flt.category_slugs) | ({flt.category_slug} if flt.category_slug else set()),
        "brand": set(flt.brands),
        "price": {flt.price_band} if flt.price_band else set(),
        "kind": {flt.kind.value} if flt.kind else set(),
        "availability": (
            set() if flt.in_stock is None else {"IN_STOCK" if flt.in_stock else "OUT_OF_STOCK"}
        ),
    }
    for condition in flt.attributes:
        chosen.setdefault(f"spec:{condition.code}", set()).update(condition.values)
    return chosen


async def search(
    info: Info,
    query: Annotated[str, strawberry.argument(description="What the buyer typed.")],
    first: Annotated[int | None, strawberry.argument(description="Page size.")] = 20,
    after: Annotated[
        str | None, strawberry.argument(description="The last cursor of the previous page.")
    ] = None,
    filter: Annotated[
        ProductFilter | None,
        strawberry.argument(description="Narrows the results (the facets' values select)."),
    ] = None,
    sort: Annotated[
        SearchSort, strawberry.argument(description="The order; relevance by default.")
    ] = SearchSort.RELEVANCE,
) -> ProductSearchResult:
    size = page_size(info, first)
    text = _checked(query)
    flt = filter or ProductFilter()
    flt.validate()
    record_filter = filter_record(info, flt)
    try:
        page = await info.context.sources.catalog.search_products(
            text, first=size, after=after, filter=record_filter, sort=sort.record()
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    for record in page.products:
        info.context.loaders.catalog.product.prime(record.id, record)
    edges: list[ProductEdge] = await listable_edges(
        info,
        [
            ProductEdge(cursor=cursor, node=Product.from_record(record))
            for record, cursor in zip(page.products, page.cursors, strict=True)
        ],
    )
    selected = _selected(record_filter)
    return ProductSearchResult(
        total_count=page.total_count,
        edges=edges,
        page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
        facets=[SearchFacet.from_record(f, selected.get(f.name, set())) for f in page.facets],
        corrected_query=page.corrected_query,
    )


async def predictive_search(
    info: Info,
    query: Annotated[str, strawberry.argument(description="What the buyer has typed so far.")],
    limit: Annotated[
        int, strawberry.argument(description="At most this many of each kind (1 to 20).")
    ] = 8,
) -> PredictiveSearchResult:
    if not 0 < limit <= MAX_SUGGESTIONS:
        raise BadUserInput(f"limit must be between 1 and {MAX_SUGGESTIONS}")
    text = _checked(query)
    found = await info.context.sources.catalog.predictive_search(text, limit=limit)
    for record in found.products:
        info.context.loaders.catalog.product.prime(record.id, record)
    categories = await info.context.loaders.catalog.category.load_many(found.category_ids)
    products = await listable_products(info, [Product.from_record(p) for p in found.products])
    return PredictiveSearchResult(
        products=products,
        categories=[Category.from_record(c) for c in categories if c is not None],
        queries=found.queries,
    )
