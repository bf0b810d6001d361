"""Catalog tables. ``products`` carries a listing projection (price range, in stock)
synchronised from pricing and inventory, so listing filters and sorts run in one SQL query
here, as a search index would, instead of joining across systems in Python."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sources.common.import_jobs import ImportJobColumns, ImportRowErrorColumns
from sources.common.models import NAMING_CONVENTION, AuditColumns, IdempotencyColumns
from sources.common.types import MoneyColumn, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # Materialised path of ids ("1/7/"), so "this category and everything under it" is a
    # prefix match and promotions scoped to a parent category reach its products.
    path: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The name in each shop language beyond ``name``: {"zh-CN": {"name": "耳机"}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )


class Brand(Base):
    __tablename__ = "brands"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The brand's name in each shop language beyond ``name``: {"zh-CN": {"name": "索尼克"}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


# What a search result page filters, counts facets of and sorts its matches by.
SEARCH_COLUMNS = (
    "id", "is_published", "category_id", "brand_id", "kind", "in_stock", "price_min",
    "price_max", "created_at",
)  # fmt: skip


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # PHYSICAL | SERVICE | BUNDLE
    fulfillment: Mapped[str] = mapped_column(String(16))  # WAREHOUSE | DROPSHIP
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    presale_deposit: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    presale_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    presale_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    presale_ships_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Listing projection (see module docstring).
    price_min: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    price_max: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    in_stock: Mapped[bool] = mapped_column(Boolean, default=False)
    # Options (name and ordered values) belong to the product and are read with it, so a
    # listing showing them costs nothing more: [{"name": "Colour", "values": [...]}].
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    seo_title: Mapped[str | None] = mapped_column(String(200))
    seo_description: Mapped[str | None] = mapped_column(String(500))
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    # Name and description in each shop language beyond the base ones:
    # {"zh-CN": {"name": "...", "description": "..."}}; search indexes them all.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # Archived products stay (orders, carts and after-sales name their SKUs); unpublished.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Flash-sale items: adding a SKU to a cart holds its stock at once (gateway/checkout/holds.py).
    reserve_on_add: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_products_listing_newest", "is_published", "created_at", "id"),
        Index("ix_products_listing_price", "is_published", "price_min", "id"),
        Index("ix_products_listing_name", "is_published", "name", "id"),
        Index("ix_products_category", "category_id", "id"),
        # Counts of a filtered listing read an index alone (totalCount on a big catalog).
        Index("ix_products_published_category", "is_published", "category_id"),
        Index("ix_products_published_in_stock", "is_published", "in_stock", "created_at", "id"),
        # The brands filter (a search facet's values) is counted on products: an index
        # search, not a scan of every published product.
        Index("ix_products_brand", "brand_id", "is_published"),
        # A search page reads its matches' filter, facet and sort columns from this alone
        # (sources/catalog/search/covering.py), never their wide rows.
        Index("ix_products_search", *SEARCH_COLUMNS),
    )


class CatalogChange(Base):
    """The catalog's change version, the sum of ``changes``: written only by the
    database's triggers on the tables a search page's facet table holds
    (sources/catalog/changes.py, which says why)."""

    __tablename__ = "catalog_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductCount(Base):
    """How many products have one listing key (category, kind, stock, published): what a
    listing's totalCount adds up instead of counting ``products``. Written only by the
    database's triggers on ``products`` (sources/catalog/counts.py, which says why)."""

    __tablename__ = "product_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer)  # 0: no category
    kind: Mapped[str] = mapped_column(String(16))
    in_stock: Mapped[bool] = mapped_column(Boolean)
    is_published: Mapped[bool] = mapped_column(Boolean)
    product_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_product_counts_key", "category_id", "kind", "in_stock", "is_published"),
    )


class Sku(Base):
    __tablename__ = "skus"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    purchase_limit: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The value this SKU takes for each of its product's options: [["Colour", "Black"]].
    options: Mapped[list[list[str]]] = mapped_column(JSON, default=list, server_default="[]")
    # Its picture: one of its product's media (the photo of its colour).
    image_id: Mapped[int | None] = mapped_column(ForeignKey("product_media.id"))


class ProductMedia(Base):
    """One image of a product. The bytes live in media storage under ``storage_key``;
    resized copies are made from them on first request (gateway/media)."""

    __tablename__ = "product_media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Alt text in each shop language: {"en": "...", "zh-CN": "..."}.
    alt: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")


class BundleItem(Base):
    __tablename__ = "bundle_items"
    bundle_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)


class ServiceArea(Base):
    """Regions where a SERVICE product (installation, warranty visit) can be delivered."""

    __tablename__ = "service_areas"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(16), primary_key=True)


class Attribute(Base):
    """A specification a category's products carry (and its subcategories' products):
    typed, so a storefront can show "6.1 in" and a facet can range over numbers."""

    __tablename__ = "attributes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # TEXT | NUMBER | BOOLEAN | CHOICE
    unit: Mapped[str | None] = mapped_column(String(32))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("category_id", "code"),)


class ProductAttributeValue(Base):
    """One product's value of one attribute, in the column its kind uses."""

    __tablename__ = "product_attribute_values"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    attribute_id: Mapped[int] = mapped_column(
        ForeignKey("attributes.id"), primary_key=True, index=True
    )
    text_value: Mapped[str | None] = mapped_column(String(500))
    number_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    bool_value: Mapped[bool | None] = mapped_column(Boolean)

    # Search's specification facets read a match's choice values from the index alone.
    __table_args__ = (
        Index("ix_product_attribute_values_search", "product_id", "attribute_id", "text_value"),
    )


class AuditEntry(AuditColumns, Base):
    __tablename__ = "catalog_audit"
    __table_args__ = (Index("ix_catalog_audit_entity", "entity_type", "entity_id", "id"),)


class IdempotencyKey(IdempotencyColumns, Base):
    """Bulk publishing applied once per key."""

    __tablename__ = "catalog_idempotency_keys"


class ImportJob(ImportJobColumns, Base):
    """A product file being applied (see sources/common/import_jobs.py)."""

    __tablename__ = "catalog_import_jobs"


class ImportRowError(ImportRowErrorColumns, Base):
    __tablename__ = "catalog_import_row_errors"


class PendingImage(Base):
    """An image an import named by URL, waiting to be fetched (``gateway import products``
    fetches them after the rows; a failed fetch stays for the next run). One per product
    and URL, so importing the file again adds no second copy."""

    __tablename__ = "pending_images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt: Mapped[str] = mapped_column(String(500), default="")
    # SKU codes this image becomes the picture of (Shopify's "Variant Image").
    sku_codes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), index=True)  # PENDING | FETCHED | FAILED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("product_id", "url"),)


def _create_search_tables(target: Any, connection: Any, **_: Any) -> None:
    """The search engine's tables are the engine's own DDL (an FTS5 virtual table, a
    tsvector with a GIN index), not models; ``create_all``/``drop_all`` (tests, the demo)
    make and drop them with the rest, as the migration does."""
    from .search.engine import engine_for

    for statement in engine_for(connection.dialect.name).create_statements():
        connection.exec_driver_sql(statement)


def _drop_search_tables(target: Any, connection: Any, **_: Any) -> None:
    from .search.engine import engine_for

    for statement in engine_for(connection.dialect.name).drop_statements():
        connection.exec_driver_sql(statement)


def _create_count_triggers(target: Any, connection: Any, **_: Any) -> None:
    from .counts import create_statements

    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _drop_count_triggers(target: Any, connection: Any, **_: Any) -> None:
    from .counts import drop_statements

    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _create_change_triggers(target: Any, connection: Any, **_: Any) -> None:
    from .changes import SEED, create_statements

    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql(SEED)


def _drop_change_triggers(target: Any, connection: Any, **_: Any) -> None:
    from .changes import drop_statements

    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


event.listen(Base.metadata, "after_create", _create_search_tables)
event.listen(Base.metadata, "before_drop", _drop_search_tables)
event.listen(Base.metadata, "after_create", _create_count_triggers)
event.listen(Base.metadata, "before_drop", _drop_count_triggers)
event.listen(Base.metadata, "after_create", _create_change_triggers)
event.listen(Base.metadata, "before_drop", _drop_change_triggers)


# The price sorts' keys (a product without a price sorts last either way), with their
# sentinels as SQL literals so that the store's ORDER BY matches these indexes.
PRICE_SORT_ASC = func.coalesce(Product.price_min, literal_column("1000000000000"))
PRICE_SORT_DESC = func.coalesce(Product.price_min, literal_column("-1"))
Index("ix_products_listing_price_asc", Product.is_published, PRICE_SORT_ASC, Product.id)
Index("ix_products_listing_price_desc", Product.is_published, PRICE_SORT_DESC, Product.id)
# A category page reads each category of its subtree in sort order from these (the
# store merges them), however far along the catalog's own sort its products fall.
Index(
    "ix_products_category_newest",
    Product.category_id,
    Product.is_published,
    Product.created_at,
    Product.id,
)
Index(
    "ix_products_category_name", Product.category_id, Product.is_published, Product.name, Product.id
)
Index(
    "ix_products_category_price_asc",
    Product.category_id,
    Product.is_published,
    PRICE_SORT_ASC,
    Product.id,
)
Index(
    "ix_products_category_price_desc",
    Product.category_id,
    Product.is_published,
    PRICE_SORT_DESC,
    Product.id,
)
