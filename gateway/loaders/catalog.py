"""Loaders over the catalog store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sources.catalog.records import BundleItem, Category, Product, ProductPage, Sku, Supplier
from sources.catalog.store import CatalogStore

from ..metrics import Metrics
from .audit import audit_loader
from .base import Loader

# (category id, first, after): pages of one size and cursor are fetched together.
CategoryPageKey = tuple[int, int, str | None]


class CatalogLoaders:
    def __init__(self, store: CatalogStore, metrics: Metrics, batching: bool) -> None:
        def make(name: str, fetch, default=None):  # type: ignore[no-untyped-def]
            return Loader(
                f"catalog.{name}", fetch, metrics=metrics, batching=batching, default=default
            )

        self.product: Loader[int, Product | None] = make("product", store.products_by_ids)
        self.product_by_slug: Loader[str, Product | None] = make(
            "product_by_slug", store.products_by_slugs
        )
        self.sku: Loader[int, Sku | None] = make("sku", store.skus_by_ids)
        self.skus_by_product: Loader[int, list[Sku]] = make(
            "skus_by_product", store.skus_by_product_ids, list
        )

        async def categories(ids: Sequence[int]) -> dict[int, Category]:
            found = await store.categories_by_ids(ids)
            for category_id, category in found.items():  # ancestors come along: keep them
                self.category.prime(category_id, category)
            return found

        self.category: Loader[int, Category | None] = make("category", categories)
        self.bundle_items: Loader[int, list[BundleItem]] = make(
            "bundle_items", store.bundle_items_by_product_ids, list
        )
        self.supplier: Loader[int, Supplier | None] = make("supplier", store.suppliers_by_ids)

        async def category_pages(
            keys: Sequence[CategoryPageKey],
        ) -> dict[CategoryPageKey, ProductPage]:
            groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
            for category_id, first, after in keys:
                groups[(first, after)].append(category_id)
            pages: dict[CategoryPageKey, ProductPage] = {}
            for (first, after), ids in groups.items():
                found = await store.products_in_categories(ids, first=first, after=after)
                pages.update({(cid, first, after): page for cid, page in found.items()})
            return pages

        self.audit = audit_loader("catalog.audit", store.audit_by_product_ids, metrics, batching)
        self.category_products: Loader[CategoryPageKey, ProductPage] = make(
            "category_products", category_pages
        )
