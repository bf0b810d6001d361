"""CatalogSource: the catalog's batch API as a typed interface.

``CatalogStore`` implements it in process; ``RemoteSource`` implements it over HTTP against
``gateway source serve catalog``. Gateway code is typed against this Protocol only, so the
two are interchangeable (see sources/common/wire.py for how a method travels)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sources.common.audit import AuditRecord
from sources.common.batches import BatchKey
from sources.common.import_jobs import ImportJobsSource
from sources.common.wire import read

from .import_records import ImportedProduct, PendingImage, ProductDraft
from .records import (
    AttributeDefinition,
    AttributeFields,
    BundleItem,
    CartCatalog,
    CatalogWrite,
    Category,
    CategoryFields,
    ListingUpdate,
    MediaFields,
    MediaWrite,
    Product,
    ProductFields,
    ProductFilter,
    ProductMedia,
    ProductPage,
    ProductSort,
    PublishBatch,
    PublishChange,
    SearchPage,
    SearchSort,
    SearchSuggestions,
    Sku,
    SkuFields,
    Specification,
    Supplier,
)

# What the catalog raises beyond the common errors (InvalidCursor, ValueError).
ERRORS: tuple[type[Exception], ...] = ()


class CatalogSource(ImportJobsSource, Protocol):
    source: str

    @read
    async def products_by_ids(self, ids: Sequence[int]) -> dict[int, Product]: ...

    @read
    async def products_by_slugs(self, slugs: Sequence[str]) -> dict[str, Product]: ...

    @read
    async def skus_by_ids(self, ids: Sequence[int]) -> dict[int, Sku]: ...

    @read
    async def skus_by_codes(self, codes: Sequence[str]) -> dict[str, Sku]:
        """SKUs by their code (what warehouse and price files name them by)."""

    @read
    async def skus_by_product_ids(self, product_ids: Sequence[int]) -> dict[int, list[Sku]]: ...

    @read
    async def categories_by_ids(self, ids: Sequence[int]) -> dict[int, Category]:
        """The categories asked for and all their ancestors (a page showing a category
        usually shows its parents; they come in the same round trip)."""

    @read
    async def all_categories(self) -> list[Category]:
        """Every category in tree order: each parent, then its children by position."""

    @read
    async def attributes_by_category_ids(
        self, category_ids: Sequence[int]
    ) -> dict[int, list[AttributeDefinition]]:
        """The attributes that apply to each category: its own and its ancestors'."""

    @read
    async def specifications_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[Specification]]:
        """Each product's attribute values (one query for all of them)."""

    @read
    async def media_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[ProductMedia]]:
        """Each product's images in order (one query for a whole listing)."""

    @read
    async def bundle_items_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[BundleItem]]: ...

    @read
    async def suppliers_by_ids(self, ids: Sequence[int]) -> dict[int, Supplier]: ...

    @read
    async def service_areas_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[str]]: ...

    @read
    async def cart_catalog(self, sku_ids: Sequence[int]) -> CartCatalog:
        """A cart's SKUs, their products, bundle parts, service areas and categories in
        one call (the checkout's snapshot; the single-purpose reads stay for others)."""

    async def set_published(
        self, *, product_id: int, published: bool, actor: str, now: datetime
    ) -> Product | None:
        """Publish or unpublish; None when the product does not exist. Audited."""

    async def update_listing(
        self,
        product_id: int,
        *,
        price_range: tuple[Decimal, Decimal] | None = None,
        in_stock: bool | None = None,
    ) -> None:
        """Refresh the listing projection after a price or stock change made elsewhere."""

    @read
    async def audit_by_product_ids(
        self, product_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]: ...

    @read
    async def list_products(
        self,
        *,
        first: int,
        after: str | None = None,
        filter: ProductFilter = ProductFilter(),
        sort: ProductSort = ProductSort.NEWEST,
        with_total: bool = True,
    ) -> ProductPage:
        """One page of a filtered, sorted listing, in SQL (keyset paging), with its total
        unless ``with_total`` is false: counting is most of a big catalog's page, and a
        storefront that pages by cursor does not show it."""

    @read
    async def search_products(
        self,
        query: str,
        *,
        first: int,
        after: str | None = None,
        filter: ProductFilter = ProductFilter(),
        sort: SearchSort = SearchSort.RELEVANCE,
        with_facets: bool = True,
    ) -> SearchPage:
        """Ranked products matching a buyer's typing (Chinese, pinyin, English with
        typos) and the filter, with facet value counts; three queries per page."""

    @read
    async def predictive_search(self, query: str, *, limit: int) -> SearchSuggestions:
        """Products, categories and completed words while the buyer types."""

    @read
    async def products_in_categories(
        self, category_ids: Sequence[int], *, first: int, after: str | None = None
    ) -> dict[int, ProductPage]:
        """The newest published products under each category (subcategories included),
        one page per category, for all categories in one query (a window per category)."""

    async def set_published_many(
        self,
        changes: Sequence[PublishChange],
        *,
        actor: str,
        now: datetime,
        atomic: bool = False,
        key: BatchKey | None = None,
    ) -> PublishBatch:
        """Publish or unpublish many products in one transaction, audited per item."""

    async def update_listings(self, updates: Sequence[ListingUpdate]) -> None:
        """Refresh many listing projections at once (see update_listing)."""

    async def compact_listing_counts(self) -> int:
        """Fold the listing counts' appended rows, one per key (the sweeper calls it);
        returns the rows folded away."""

    async def create_product(
        self,
        fields: ProductFields,
        *,
        currency: str,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite:
        """A new product (unpublished unless asked); once per idempotency key. Audited."""

    async def update_product(
        self, product_id: int, fields: ProductFields, *, actor: str, now: datetime
    ) -> CatalogWrite:
        """Change the fields given; refused for an archived product. Audited."""

    async def archive_product(self, product_id: int, *, actor: str, now: datetime) -> CatalogWrite:
        """Unpublished for good; never deleted (orders, carts and after-sales name it)."""

    async def create_sku(
        self,
        product_id: int,
        fields: SkuFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite:
        """A new SKU whose picks are one value of each of its product's options."""

    async def update_sku(
        self, sku_id: int, fields: SkuFields, *, actor: str, now: datetime
    ) -> CatalogWrite: ...

    async def create_category(
        self,
        fields: CategoryFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite: ...

    async def update_category(
        self, category_id: int, fields: CategoryFields, *, actor: str, now: datetime
    ) -> CatalogWrite:
        """Name, slug and position (moving is move_category)."""

    async def move_category(
        self,
        category_id: int,
        parent_id: int | None,
        position: int | None,
        *,
        actor: str,
        now: datetime,
    ) -> CatalogWrite:
        """Under another parent with its subtree; never under itself or a descendant."""

    async def define_attribute(
        self, fields: AttributeFields, *, actor: str, now: datetime, key: BatchKey | None = None
    ) -> CatalogWrite:
        """Create or change a category's attribute (by its code), once per key."""

    async def create_supplier(
        self, name: str, *, actor: str, now: datetime, key: BatchKey | None = None
    ) -> CatalogWrite: ...

    async def add_media(
        self,
        product_id: int,
        fields: MediaFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> MediaWrite:
        """Attach a stored image (last in order); once per idempotency key. Audited."""

    async def reorder_media(
        self, product_id: int, media_ids: Sequence[int], *, actor: str, now: datetime
    ) -> MediaWrite:
        """Put the product's images in this order (every one named once). Audited."""

    async def remove_media(
        self, product_id: int, media_id: int, *, actor: str, now: datetime
    ) -> MediaWrite:
        """Detach an image; ``storage_key`` says which bytes storage may drop. Audited."""

    async def import_products(
        self, drafts: Sequence[ProductDraft], *, currency: str, actor: str, now: datetime
    ) -> list[ImportedProduct]:
        """A batch of a product import in one transaction, matched by handle and SKU code
        (see product_import.py); each product applied or refused whole."""

    @read
    async def pending_images(
        self, after_id: int, limit: int, max_attempts: int
    ) -> list[PendingImage]:
        """Images imports named by URL and not fetched yet, by id after ``after_id``."""

    async def record_image_fetch(self, image_id: int, media_id: int | None, message: str) -> None:
        """A fetch of a pending image: done (the media it became) or failed (why)."""
