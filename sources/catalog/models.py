"""Catalog tables. ``products`` carries a listing projection (price range, in stock)
synchronised from pricing and inventory, so listing filters and sorts run in one SQL query
here, as a search index would, instead of joining across systems in Python."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class Brand(Base):
    __tablename__ = "brands"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


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

    __table_args__ = (
        Index("ix_products_listing_newest", "is_published", "created_at", "id"),
        Index("ix_products_listing_price", "is_published", "price_min", "id"),
        Index("ix_products_listing_name", "is_published", "name", "id"),
        Index("ix_products_category", "category_id", "id"),
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


class AuditEntry(AuditColumns, Base):
    __tablename__ = "catalog_audit"
    __table_args__ = (Index("ix_catalog_audit_entity", "entity_type", "entity_id", "id"),)


class IdempotencyKey(IdempotencyColumns, Base):
    """Bulk publishing applied once per key."""

    __tablename__ = "catalog_idempotency_keys"
