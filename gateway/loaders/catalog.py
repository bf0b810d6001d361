"""Loaders over the catalog store."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from sources.catalog.api import CatalogSource
from sources.catalog.records import (
    AttributeDefinition,
    BundleItem,
    Category,
    Product,
    ProductMedia,
    ProductPage,
    Sku,
    Specification,
    Supplier,
)
from sources.common.audit import AuditRecord

from ..cache import codec
from ..cache.entities import ReadThrough
from ..cache.keys import Kind
from ..metrics import Metrics
from .audit import AuditKey, audit_loader
from .base import Loader, PageKey, pages_per_owner
from .cached import read_through

# (category id, first, after): pages of one size and cursor are fetched together.
CategoryPageKey = PageKey


class CatalogLoaders:
    """Products, SKUs, categories, bundle parts and category pages read through the shared
    cache when there is one; suppliers and audit trails (staff only) never do. Each loader
    is made the first time the request asks for it."""

    def __init__(
        self,
        store: CatalogSource,
        metrics: Metrics,
        batching: bool,
        cache: ReadThrough | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._batching = batching
        self._cache = cache

    def _make(
        self,
        name: str,
        fetch: Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]],
        default: Callable[[], Any] | None = None,
    ) -> Loader[Any, Any]:
        return Loader(
            f"catalog.{name}",
            fetch,
            metrics=self._metrics,
            batching=self._batching,
            default=default,
        )

    @cached_property
    def product(self) -> Loader[int, Product | None]:
        return self._make(
            "product",
            read_through(self._cache, Kind.PRODUCT, codec.PRODUCT, self._store.products_by_ids),
        )

    @cached_property
    def product_by_slug(self) -> Loader[str, Product | None]:
        store, cache = self._store, self._cache

        async def slug_ids(slugs: Sequence[str]) -> dict[str, int]:
            found = await store.products_by_slugs(slugs)
            for product in found.values():  # the page reads it by id next: keep it
                self.product.prime(product.id, product)
            if cache is not None:
                await cache.store(Kind.PRODUCT, codec.PRODUCT, {p.id: p for p in found.values()})
            return {slug: product.id for slug, product in found.items()}

        async def by_slugs(slugs: Sequence[str]) -> dict[str, Product]:
            if cache is None:
                return await store.products_by_slugs(slugs)
            ids = await cache.load(Kind.PRODUCT_SLUG, codec.PRODUCT_ID, slugs, slug_ids)
            records = await self.product.load_many(list(ids.values()))
            by_id = {p.id: p for p in records if p is not None}
            return {slug: by_id[pid] for slug, pid in ids.items() if pid in by_id}

        return self._make("product_by_slug", by_slugs)

    @cached_property
    def sku(self) -> Loader[int, Sku | None]:
        return self._make(
            "sku", read_through(self._cache, Kind.SKU, codec.SKU, self._store.skus_by_ids)
        )

    @cached_property
    def skus_by_product(self) -> Loader[int, list[Sku]]:
        return self._make(
            "skus_by_product",
            read_through(
                self._cache, Kind.PRODUCT_SKUS, codec.SKUS, self._store.skus_by_product_ids
            ),
            list,
        )

    @cached_property
    def category(self) -> Loader[int, Category | None]:
        store = self._store
        # Weakly: the loader's own function holding these loaders would make a cycle, and
        # the request's records (every memo) would wait for the cyclic collector.
        me = weakref.ref(self)

        async def categories(ids: Sequence[int]) -> dict[int, Category]:
            found = await store.categories_by_ids(ids)
            loaders = me()
            if loaders is not None:  # ancestors come along: keep them
                loaders.category.prime_many(list(found), list(found.values()))
            return found

        return self._make(
            "category", read_through(self._cache, Kind.CATEGORY, codec.CATEGORY, categories)
        )

    @cached_property
    def bundle_items(self) -> Loader[int, list[BundleItem]]:
        return self._make(
            "bundle_items",
            read_through(
                self._cache,
                Kind.BUNDLE_ITEMS,
                codec.BUNDLE_ITEMS,
                self._store.bundle_items_by_product_ids,
            ),
            list,
        )

    @cached_property
    def supplier(self) -> Loader[int, Supplier | None]:
        return self._make("supplier", self._store.suppliers_by_ids)

    @cached_property
    def specifications(self) -> Loader[int, list[Specification]]:
        return self._make(
            "specifications",
            read_through(
                self._cache,
                Kind.SPECIFICATIONS,
                codec.SPECIFICATIONS,
                self._store.specifications_by_product_ids,
            ),
            list,
        )

    @cached_property
    def media(self) -> Loader[int, list[ProductMedia]]:
        return self._make(
            "media",
            read_through(
                self._cache, Kind.PRODUCT_MEDIA, codec.MEDIA, self._store.media_by_product_ids
            ),
            list,
        )

    @cached_property
    def category_attributes(self) -> Loader[int, list[AttributeDefinition]]:
        return self._make(
            "category_attributes",
            read_through(
                self._cache,
                Kind.CATEGORY_ATTRIBUTES,
                codec.ATTRIBUTES,
                self._store.attributes_by_category_ids,
            ),
            list,
        )

    @cached_property
    def audit(self) -> Loader[AuditKey, list[AuditRecord]]:
        return audit_loader(
            "catalog.audit", self._store.audit_by_product_ids, self._metrics, self._batching
        )

    @cached_property
    def category_products(self) -> Loader[CategoryPageKey, ProductPage]:
        return self._make(
            "category_products",
            read_through(
                self._cache,
                Kind.CATEGORY_PAGE,
                codec.PAGE,
                pages_per_owner(self._store.products_in_categories),
                ident=_page_ident,
            ),
        )


def _page_ident(key: CategoryPageKey) -> str:
    category_id, first, after = key
    return f"{category_id}:{first}:{after or ''}"
