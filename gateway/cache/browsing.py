"""The storefront's listings through the cache.

Resolvers read listings (``list_products``, ``all_categories``) from the sources handed to
the GraphQL context. For browsing, those two methods read through the cache; every other
method is the store's own, so checkout, which is given the same sources, still reads the
sources of truth. A staff listing (unpublished products included) is never cached.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Sequence

import orjson

from sources.catalog.records import Category, ProductFilter, ProductPage, ProductSort

from ..sources import Sources
from . import codec
from .entities import ReadThrough
from .keys import Kind


def listing_ident(
    first: int, after: str | None, flt: ProductFilter, sort: ProductSort, with_total: bool
) -> str:
    arguments = [first, after, dataclasses.astuple(flt), sort.value, with_total]
    return hashlib.sha256(orjson.dumps(arguments, default=str)).hexdigest()[:32]


def browsing_sources(sources: Sources, cache: ReadThrough | None) -> Sources:
    if cache is None:
        return sources
    store = sources.catalog
    catalog = copy.copy(store)  # shares the database and the counted methods

    async def list_products(
        *,
        first: int,
        after: str | None = None,
        filter: ProductFilter = ProductFilter(),
        sort: ProductSort = ProductSort.NEWEST,
        with_total: bool = True,
    ) -> ProductPage:
        async def read() -> ProductPage:
            return await store.list_products(
                first=first, after=after, filter=filter, sort=sort, with_total=with_total
            )

        async def fetch(_: Sequence[str]) -> dict[str, ProductPage]:
            return {ident: await read()}

        if filter.include_unpublished:
            return await read()
        ident = listing_ident(first, after, filter, sort, with_total)
        found = await cache.load(Kind.PRODUCT_LISTING, codec.PAGE, [ident], fetch)
        return found[ident]

    async def all_categories() -> list[Category]:
        async def fetch(_: Sequence[str]) -> dict[str, list[Category]]:
            return {"all": await store.all_categories()}

        found = await cache.load(Kind.CATEGORY_TREE, codec.CATEGORIES, ["all"], fetch)
        return found.get("all", [])

    setattr(catalog, "list_products", list_products)  # noqa: B010
    setattr(catalog, "all_categories", all_categories)  # noqa: B010
    return dataclasses.replace(sources, catalog=catalog)
