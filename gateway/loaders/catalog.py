"""Loaders over the catalog store."""

from __future__ import annotations

from collections.abc import Sequence

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

from ..cache import codec
from ..cache.entities import ReadThrough
from ..cache.keys import Kind
from ..metrics import Metrics
from .audit import audit_loader
from .base import Loader, PageKey, pages_per_owner
from .cached import read_through

# (category id, first, after): pages of one size and cursor are fetched together.
CategoryPageKey = PageKey


class CatalogLoaders:
    """Products, SKUs, categories, bundle parts and category pages read through the shared
    cache when there is one; suppliers and audit trails (staff only) never do."""

    def __init__(
        self,
        store: CatalogSource,
        metrics: Metrics,
        batching: bool,
        cache: ReadThrough | None = None,
    ) -> None:
        def make(name: str, fetch, default=None):  # type: ignore[no-untyped-def]
            return Loader(
                f"catalog.{name}", fetch, metrics=metrics, batching=batching, default=default
            )

        products = read_through(cache, Kind.PRODUCT, codec.PRODUCT, store.products_by_ids)
        self.product: Loader[int, Product | None] = make("product", products)

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

        self.product_by_slug: Loader[str, Product | None] = make("product_by_slug", by_slugs)
        self.sku: Loader[int, Sku | None] = make(
            "sku", read_through(cache, Kind.SKU, codec.SKU, store.skus_by_ids)
        )
        self.skus_by_product: Loader[int, list[Sku]] = make(
            "skus_by_product",
            read_through(cache, Kind.PRODUCT_SKUS, codec.SKUS, store.skus_by_product_ids),
            list,
        )

        async def categories(ids: Sequence[int]) -> dict[int, Category]:
            found = await store.categories_by_ids(ids)
            for category_id, category in found.items():  # ancestors come along: keep them
                self.category.prime(category_id, category)
            return found

        self.category: Loader[int, Category | None] = make(
            "category", read_through(cache, Kind.CATEGORY, codec.CATEGORY, categories)
        )
        self.bundle_items: Loader[int, list[BundleItem]] = make(
            "bundle_items",
            read_through(
                cache, Kind.BUNDLE_ITEMS, codec.BUNDLE_ITEMS, store.bundle_items_by_product_ids
            ),
            list,
        )
        self.supplier: Loader[int, Supplier | None] = make("supplier", store.suppliers_by_ids)
        self.specifications: Loader[int, list[Specification]] = make(
            "specifications",
            read_through(
                cache,
                Kind.SPECIFICATIONS,
                codec.SPECIFICATIONS,
                store.specifications_by_product_ids,
            ),
            list,
        )
        self.media: Loader[int, list[ProductMedia]] = make(
            "media",
            read_through(cache, Kind.PRODUCT_MEDIA, codec.MEDIA, store.media_by_product_ids),
            list,
        )
        self.category_attributes: Loader[int, list[AttributeDefinition]] = make(
            "category_attributes",
            read_through(
                cache,
                Kind.CATEGORY_ATTRIBUTES,
                codec.ATTRIBUTES,
                store.attributes_by_category_ids,
            ),
            list,
        )

        self.audit = audit_loader("catalog.audit", store.audit_by_product_ids, metrics, batching)
        self.category_products: Loader[CategoryPageKey, ProductPage] = make(
            "category_products",
            read_through(
                cache,
                Kind.CATEGORY_PAGE,
                codec.PAGE,
                pages_per_owner(store.products_in_categories),
                ident=_page_ident,
            ),
        )


def _page_ident(key: CategoryPageKey) -> str:
    category_id, first, after = key
    return f"{category_id}:{first}:{after or ''}"
